import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { createSecretKey } from 'node:crypto';
import { z } from 'zod';
import { dummyPasswordHash, hashPassword, verifyPassword } from '../auth/passwords';
import { extractBearer, signToken, verifyToken, type TokenSettings, type VerifiedToken } from '../auth/tokens';
import type { Viewer } from '../auth/viewer';
import { Role, User } from '../entities/user.entity';
import { AppError, conflict, ErrorCode, unauthenticated } from '../errors';
import type { ServiceDeps } from './context';
import { parseInput } from './validation';

const registerSchema = z.object({
  email: z.string().trim().toLowerCase().pipe(z.email('must be a valid email')).refine((e) => e.length <= 254, 'too long'),
  password: z.string().min(8, 'must be at least 8 characters').max(200),
  name: z.string().trim().min(1, 'is required').max(100),
});

const VIEWER_TTL_MS = 5000;
const VIEWER_CACHE_SIZE = 50_000;

export interface AuthResult {
  token: string;
  user: User;
}

/** Accounts and identity: the one place a token becomes a Viewer, for every transport. */
export class UserService {
  private tokens: TokenSettings;

  constructor(private deps: ServiceDeps) {
    const c = deps.config;
    this.tokens = { secret: createSecretKey(Buffer.from(c.jwtSecret, 'utf8')), issuer: c.jwtIssuer, audience: c.jwtAudience, ttlSeconds: c.jwtTtlSeconds };
  }

  /**
   * Users looked up by a token in the last VIEWER_TTL_MS: every request and connection needs one,
   * and the row rarely changes. A role change or deleted account is seen within that time.
   */
  private viewers = new Map<string, { viewer: Viewer; until: number }>();

  /**
   * Tokens whose signature, issuer and audience were checked, until they expire: the same string
   * verifies the same way every time, so only its expiry is checked again (HMAC per request was ~4%
   * of the server's CPU per order).
   */
  private verified = new Map<string, VerifiedToken>();

  private verify(token: string): VerifiedToken {
    const known = this.verified.get(token);
    if (known) {
      if (known.expiresAt > Date.now()) return known;
      this.verified.delete(token);
    }
    // Throws UNAUTHENTICATED (expired, bad signature, wrong issuer/audience) exactly as before.
    const claims = verifyToken(this.tokens, token);
    if (this.verified.size >= VIEWER_CACHE_SIZE) this.verified.clear();
    this.verified.set(token, claims);
    return claims;
  }

  /** Creates a customer account; a taken email (any case) is CONFLICT. */
  async register(input: { email: string; password: string; name: string }): Promise<AuthResult> {
    const data = parseInput(registerSchema, input);
    const em = this.deps.orm.em.fork();
    const user = em.create(User, { email: data.email, name: data.name, passwordHash: await hashPassword(data.password) });
    try {
      await em.persistAndFlush(user);
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) throw conflict('An account with this email already exists', { field: 'email' });
      throw err;
    }
    return { token: this.issue(user), user };
  }

  async login(email: string, password: string): Promise<AuthResult> {
    const em = this.deps.orm.em.fork();
    const user = await em.findOne(User, { email: String(email ?? '').trim().toLowerCase() }, { populate: ['passwordHash'] });
    if (!user) {
      await verifyPassword(await dummyPasswordHash(), String(password));
      throw unauthenticated('Invalid email or password');
    }
    if (!(await verifyPassword(user.passwordHash, String(password ?? '')))) throw unauthenticated('Invalid email or password');
    return { token: this.issue(user), user };
  }

  issue(user: Pick<User, 'id' | 'role'>): string {
    return signToken(this.tokens, { sub: user.id, role: user.role });
  }

  async findById(id: string): Promise<User | null> {
    return this.deps.orm.em.fork().findOne(User, { id });
  }

  /**
   * The identity function shared by HTTP, graphql-ws and Socket.IO. No token: anonymous (null).
   * A bad, expired or orphaned token: UNAUTHENTICATED — never silently anonymous.
   */
  async authenticate(rawToken: unknown): Promise<Viewer | null> {
    const token = extractBearer(rawToken);
    if (!token) return null;
    const claims = this.verify(token);
    const cached = this.viewers.get(claims.sub);
    if (cached && cached.until > Date.now()) return cached.viewer;
    const rows = await this.deps.orm.em.fork().execute<Array<{ id: string; email: string; name: string; role: Role }>>(
      'select id, email, name, role from users where id = ?', [claims.sub]);
    if (!rows.length) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Unknown user');
    const viewer: Viewer = { id: String(rows[0].id), email: rows[0].email, name: rows[0].name, role: rows[0].role };
    if (this.viewers.size >= VIEWER_CACHE_SIZE) this.viewers.clear();
    this.viewers.set(viewer.id, { viewer, until: Date.now() + VIEWER_TTL_MS });
    return viewer;
  }

  /** ADMIN_EMAIL/ADMIN_PASSWORD: create that admin, or promote the existing account. */
  async ensureAdmin(email: string, password: string, name = 'Administrator'): Promise<User> {
    const em = this.deps.orm.em.fork();
    const normalized = email.trim().toLowerCase();
    let user = await em.findOne(User, { email: normalized });
    if (user) {
      user.role = Role.ADMIN;
      this.viewers.delete(user.id);
    } else {
      user = em.create(User, { email: normalized, name, role: Role.ADMIN, passwordHash: await hashPassword(password) });
    }
    await em.flush();
    return user;
  }

  async createUser(email: string, password: string, name: string, role: Role): Promise<User> {
    const em = this.deps.orm.em.fork();
    const user = em.create(User, { email: email.toLowerCase(), name, role, passwordHash: await hashPassword(password) });
    await em.persistAndFlush(user);
    return user;
  }
}
