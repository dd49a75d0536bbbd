import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { createSecretKey } from 'node:crypto';
import { z } from 'zod';
import { dummyPasswordHash, hashPassword, verifyPassword } from '../auth/passwords';
import { extractBearer, signToken, verifyToken, type TokenSettings, type VerifiedToken } from '../auth/tokens';
import type { Viewer } from '../auth/viewer';
import { Role, User } from '../entities/user.entity';
import { AppError, badInput, conflict, ErrorCode, notFound, unauthenticated } from '../errors';
import type { ServiceDeps } from './context';
import type { SessionChange, SessionService } from './session.service';
import { currentViewer } from '../db/queries/users';
import { id as idSchema, parseInput } from './validation';

const registerSchema = z.object({
  email: z.string().trim().toLowerCase().pipe(z.email('must be a valid email')).refine((e) => e.length <= 254, 'too long'),
  password: z.string().min(8, 'must be at least 8 characters').max(200),
  name: z.string().trim().min(1, 'is required').max(100),
});

/**
 * How long an instance may use a remembered user without asking the database again. Changes are
 * pushed (see SessionService): this only bounds a change whose message was lost (Redis outage).
 */
const VIEWER_TTL_MS = 5000;
const CACHE_SIZE = 50_000;

interface AuthResult {
  token: string;
  user: User;
}

/** A signed-in caller: who they are now, and the token they presented. */
export interface Session {
  viewer: Viewer;
  tokenId: string;
  /** ms since the epoch; Infinity for a token without `exp`. */
  expiresAt: number;
  /** SessionService.version before the user was read (see SessionService.track). */
  version: number;
}

const deletedEmail = (id: string) => `deleted-${id}@deleted.invalid`;

/** Accounts and identity: the one place a token becomes a Viewer, for every transport. */
export class UserService {
  private tokens: TokenSettings;

  constructor(private deps: ServiceDeps, private sessions: SessionService) {
    const c = deps.config;
    this.tokens = { secret: createSecretKey(Buffer.from(c.jwtSecret, 'utf8')), issuer: c.jwtIssuer, audience: c.jwtAudience, ttlSeconds: c.jwtTtlSeconds };
    sessions.onChange((change) => this.forget(change));
  }

  /**
   * The user behind each token seen in the last VIEWER_TTL_MS, with its role as the database had
   * it. Every instance drops a user's entries as soon as a role change, deleted account or logout
   * reaches it (SessionService), so authorization always sees the current role.
   */
  private viewers = new Map<string, { viewer: Viewer; until: number }>();

  /** Tokens known to be revoked, until they expire: refused without asking the database. */
  private revoked = new Map<string, number>();

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
    if (this.verified.size >= CACHE_SIZE) this.verified.clear();
    this.verified.set(token, claims);
    return claims;
  }

  private forget(change: SessionChange): void {
    if (change.kind === 'revoked') {
      this.viewers.delete(change.tokenId);
      this.rememberRevoked(change.tokenId, change.expiresAt);
      return;
    }
    for (const [tokenId, entry] of this.viewers) if (entry.viewer.id === change.userId) this.viewers.delete(tokenId);
  }

  private rememberRevoked(tokenId: string, expiresAt: number): void {
    if (this.revoked.size >= CACHE_SIZE) {
      const now = Date.now();
      for (const [id, until] of this.revoked) if (until <= now) this.revoked.delete(id);
      // Still full: forget them all; the database still knows each one.
      if (this.revoked.size >= CACHE_SIZE) this.revoked.clear();
    }
    this.revoked.set(tokenId, expiresAt);
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
    const user = await em.findOne(User, { email: String(email ?? '').trim().toLowerCase(), deletedAt: null }, { populate: ['passwordHash'] });
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
    return this.deps.orm.em.fork().findOne(User, { id, deletedAt: null });
  }

  /**
   * The identity function shared by HTTP, graphql-ws and Socket.IO. No token: anonymous (null).
   * A bad, expired, revoked or orphaned token: UNAUTHENTICATED — never silently anonymous.
   */
  async authenticate(rawToken: unknown): Promise<Viewer | null> {
    return (await this.authenticateSession(rawToken))?.viewer ?? null;
  }

  /** `authenticate`, with the token's id and expiry (what a connection needs to end in time). */
  async authenticateSession(rawToken: unknown): Promise<Session | null> {
    const token = extractBearer(rawToken);
    if (!token) return null;
    const claims = this.verify(token);
    const session = (viewer: Viewer): Session => ({ viewer, tokenId: claims.tokenId, expiresAt: claims.expiresAt, version });
    const version = this.sessions.version;
    if (this.revoked.has(claims.tokenId)) throw unauthenticated('Token revoked');
    const cached = this.viewers.get(claims.tokenId);
    if (cached && cached.until > Date.now()) return session(cached.viewer);
    const { viewer, revoked } = await currentViewer(this.deps.orm.em.fork(), claims.sub, claims.tokenId);
    if (revoked) {
      this.rememberRevoked(claims.tokenId, claims.expiresAt);
      throw unauthenticated('Token revoked');
    }
    if (!viewer) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Unknown user');
    // A change that arrived during the read may already be in the row or not: use it, don't keep it.
    if (version === this.sessions.version) {
      if (this.viewers.size >= CACHE_SIZE) this.viewers.clear();
      this.viewers.set(claims.tokenId, { viewer, until: Date.now() + VIEWER_TTL_MS });
    }
    return session(viewer);
  }

  /**
   * Admins: gives a user another role. Every open connection of that user, on every instance, is
   * re-authorized within a second (SessionService). Unknown or deleted user: NOT_FOUND.
   */
  async updateRole(userId: string, role: Role): Promise<User> {
    const id = parseInput(idSchema, userId, 'userId');
    if (!Object.values(Role).includes(role)) throw badInput('Unknown role', [{ path: 'role', message: 'must be CUSTOMER or ADMIN' }]);
    const em = this.deps.orm.em.fork();
    const user = await em.findOne(User, { id, deletedAt: null });
    if (!user) throw notFound('User', id);
    const changed = user.role !== role;
    user.role = role;
    await em.flush();
    if (changed) await this.sessions.announce({ kind: 'user', userId: id });
    return user;
  }

  /**
   * Deletes the viewer's own account. The row stays, anonymised (no email, name or password left),
   * so orders keep their customer for the shop's books; the cart and wishlist go, open support
   * chats are closed, reviews stay under the anonymous name. Every token of the account stops
   * working and its connections close on every instance.
   */
  async deleteAccount(viewer: Viewer): Promise<boolean> {
    const em = this.deps.orm.em.fork();
    const deleted = await em.transactional(async (tx) => {
      const rows = await tx.execute<Array<{ id: string }>>(
        `update users set deleted_at = now(), email = ?, name = 'Deleted user', password_hash = '!'
          where id = ? and deleted_at is null returning id`, [deletedEmail(viewer.id), viewer.id]);
      if (!rows.length) return false;
      await tx.execute('delete from carts where user_id = ?', [viewer.id]);
      await tx.execute('delete from wishlists where user_id = ?', [viewer.id]);
      await tx.execute(`update support_chats set status = 'closed' where user_id = ? and status = 'open'`, [viewer.id]);
      return true;
    });
    if (!deleted) throw unauthenticated('Unknown user');
    await this.sessions.announce({ kind: 'user', userId: viewer.id });
    return true;
  }

  /**
   * Revokes the token of this session: it is refused from now on, on every transport and instance,
   * and the connections that presented it close. The user's other tokens keep working.
   */
  async logout(session: Pick<Session, 'viewer' | 'tokenId' | 'expiresAt'>): Promise<boolean> {
    // A token without `exp` is kept for the longest lifetime we issue.
    const expiresAt = Number.isFinite(session.expiresAt) ? session.expiresAt : Date.now() + this.tokens.ttlSeconds * 1000;
    await this.deps.orm.em.fork().execute(
      `with expired as (delete from revoked_tokens where expires_at < now())
       insert into revoked_tokens (token_id, user_id, expires_at, revoked_at) values (?, ?, ?, now())
       on conflict (token_id) do nothing`,
      [session.tokenId, session.viewer.id, new Date(expiresAt)]);
    await this.sessions.announce({ kind: 'revoked', userId: session.viewer.id, tokenId: session.tokenId, expiresAt });
    return true;
  }

  /** ADMIN_EMAIL/ADMIN_PASSWORD: create that admin, or promote the existing account. */
  async ensureAdmin(email: string, password: string, name = 'Administrator'): Promise<User> {
    const em = this.deps.orm.em.fork();
    const normalized = email.trim().toLowerCase();
    let user = await em.findOne(User, { email: normalized, deletedAt: null });
    if (user) {
      user.role = Role.ADMIN;
    } else {
      user = em.create(User, { email: normalized, name, role: Role.ADMIN, passwordHash: await hashPassword(password) });
    }
    await em.flush();
    await this.sessions.announce({ kind: 'user', userId: user.id });
    return user;
  }

  async createUser(email: string, password: string, name: string, role: Role): Promise<User> {
    const em = this.deps.orm.em.fork();
    const user = em.create(User, { email: email.toLowerCase(), name, role, passwordHash: await hashPassword(password) });
    await em.persistAndFlush(user);
    return user;
  }
}
