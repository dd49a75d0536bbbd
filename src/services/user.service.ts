import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { z } from 'zod';
import { dummyPasswordHash, hashPassword, verifyPassword } from '../auth/passwords';
import { extractBearer, signToken, verifyToken, type TokenSettings } from '../auth/tokens';
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

export interface AuthResult {
  token: string;
  user: User;
}

/** Accounts and identity: the one place a token becomes a Viewer, for every transport. */
export class UserService {
  private tokens: TokenSettings;

  constructor(private deps: ServiceDeps) {
    const c = deps.config;
    this.tokens = { secret: c.jwtSecret, issuer: c.jwtIssuer, audience: c.jwtAudience, ttlSeconds: c.jwtTtlSeconds };
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
    const claims = verifyToken(this.tokens, token);
    const user = await this.findById(claims.sub);
    if (!user) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Unknown user');
    return { id: user.id, email: user.email, name: user.name, role: user.role };
  }

  /** ADMIN_EMAIL/ADMIN_PASSWORD: create that admin, or promote the existing account. */
  async ensureAdmin(email: string, password: string, name = 'Administrator'): Promise<User> {
    const em = this.deps.orm.em.fork();
    const normalized = email.trim().toLowerCase();
    let user = await em.findOne(User, { email: normalized });
    if (user) {
      user.role = Role.ADMIN;
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
