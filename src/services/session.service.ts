import { randomUUID } from 'node:crypto';
import { ExpiryWheel } from '../auth/expiry-wheel';
import type { Viewer } from '../auth/viewer';
import type { Role } from '../entities/user.entity';
import { every, type Loop } from '../lib/every';
import type { ServiceDeps } from './context';
import { currentViewer } from '../db/queries/users';

/** What changed about a user's sessions; sent to every instance. */
export type SessionChange =
  /** The user's role changed or the account was deleted: re-read the user. */
  | { kind: 'user'; userId: string }
  /** One token was revoked (`logout`). */
  | { kind: 'revoked'; userId: string; tokenId: string; expiresAt: number };

type EndReason = 'token expired' | 'token revoked' | 'account deleted';

/** One open, authenticated connection (graphql-ws or Socket.IO), as the transport tracks it. */
export interface LiveConnection {
  userId: string;
  /** The role the connection was authorized with. */
  role: Role;
  tokenId: string;
  /** When the token expires, ms since the epoch (Infinity: never). */
  expiresAt: number;
  /** Ends the connection: the token expired, was revoked, or the account is gone. */
  end(reason: EndReason): void;
  /** The user changed (their role): re-check everything the connection receives. */
  refresh(viewer: Viewer): void | Promise<void>;
}

const CHANNEL = 'sessions';
/**
 * How often open connections are compared with the database: the backstop for a change whose
 * message never arrived (Redis unreachable at that moment). Changes themselves are pushed.
 */
const SWEEP_MS = 5000;

interface SessionMessage {
  origin: string;
  change: SessionChange;
}

/**
 * The open connections of this instance by user and token, and the one channel through which a
 * role change, a deleted account and a logout reach every instance (Redis when configured, in
 * process otherwise). Each connection ends when its token expires, on one timer for all of them.
 */
export class SessionService {
  private readonly instance = randomUUID();
  private byUser = new Map<string, Set<LiveConnection>>();
  /** The role each user's connections here were last checked with. */
  private roles = new Map<string, Role>();
  private sweeper?: Loop;
  private wheel = new ExpiryWheel<LiveConnection>((c) => this.end(c, 'token expired'));
  private listeners = new Set<(change: SessionChange) => void>();
  private off?: () => void;
  /**
   * Counts the changes this instance has applied. An identity read before a change and used after
   * it (a connection that authenticated while the change arrived) is refreshed once more.
   */
  version = 0;

  constructor(private deps: ServiceDeps) {}

  async start(): Promise<void> {
    this.off ??= await this.deps.hub.onSignal(CHANNEL, (m) => {
      const message = m as SessionMessage;
      if (message?.origin === this.instance || !message?.change) return;
      void this.apply(message.change);
    });
    this.sweeper ??= every(SWEEP_MS, () => this.sweep(), { what: 'session sweep', logger: this.deps.logger });
  }

  async stop(): Promise<void> {
    await this.sweeper?.stop();
    this.sweeper = undefined;
    this.off?.();
    this.off = undefined;
    this.wheel.close();
  }

  /**
   * Compares this instance's open connections with the database in two queries: a user whose role
   * changed or whose account is gone is re-checked, a connection whose token was revoked ends.
   * (A revoked token of a connection that is still open means its message was lost.)
   */
  async sweep(): Promise<void> {
    if (!this.byUser.size) return;
    const userIds = [...this.byUser.keys()];
    const tokenIds = [...new Set([...this.byUser.values()].flatMap((set) => [...set].map((c) => c.tokenId)))];
    const em = this.deps.orm.em.fork();
    const [users, revoked] = await Promise.all([
      em.execute<Array<{ id: string; role: Role }>>(
        `select id, role from users where deleted_at is null and id in (select (jsonb_array_elements_text(?::jsonb))::uuid)`,
        [JSON.stringify(userIds)]),
      em.execute<Array<{ token_id: string }>>(
        'select token_id from revoked_tokens where token_id in (select jsonb_array_elements_text(?::jsonb))',
        [JSON.stringify(tokenIds)]),
    ]);
    const gone = new Set(revoked.map((r) => r.token_id));
    const roleNow = new Map(users.map((u) => [String(u.id), u.role]));
    // Found here, a change is applied as if its message had arrived: caches dropped, connections re-checked.
    for (const [userId, set] of [...this.byUser]) {
      for (const c of set) if (gone.has(c.tokenId)) void this.apply({ kind: 'revoked', userId, tokenId: c.tokenId, expiresAt: c.expiresAt });
      if (roleNow.get(userId) !== this.roles.get(userId)) void this.apply({ kind: 'user', userId });
    }
  }

  /** Runs `listener` for every change, this instance's and the others' (the identity caches). */
  onChange(listener: (change: SessionChange) => void): void {
    this.listeners.add(listener);
  }

  /**
   * Starts watching a connection; returns what the transport calls when it closes. `seenVersion` is
   * `version` as it was before its identity was read.
   */
  track(conn: LiveConnection, seenVersion = this.version): () => void {
    let set = this.byUser.get(conn.userId);
    if (!set) {
      this.byUser.set(conn.userId, (set = new Set()));
      this.roles.set(conn.userId, conn.role);
    } else if (this.roles.get(conn.userId) !== conn.role) {
      // The newcomer was just read from the database: the connections already here are stale.
      void this.recheck([...set], conn.userId);
    }
    set.add(conn);
    const unwheel = this.wheel.add(conn.expiresAt, conn);
    if (seenVersion !== this.version) void this.recheck([conn], conn.userId, conn.tokenId);
    return () => {
      unwheel();
      const s = this.byUser.get(conn.userId);
      if (s?.delete(conn) && s.size === 0) {
        this.byUser.delete(conn.userId);
        this.roles.delete(conn.userId);
      }
    };
  }

  /**
   * Applies a committed change on this instance while sending it to every other one. This
   * instance's caches are dropped before the first await; when this returns, its own connections
   * have been re-checked too (a socket here may act on its new role at once).
   */
  async announce(change: SessionChange): Promise<void> {
    await Promise.all([
      this.apply(change),
      this.deps.hub.signal(CHANNEL, { origin: this.instance, change } satisfies SessionMessage),
    ]);
  }

  /** Open connections of a user on this instance (for tests and stats). */
  connectionsOf(userId: string): number {
    return this.byUser.get(userId)?.size ?? 0;
  }

  /** Drops what the caches know at once (synchronously), then ends or refreshes the connections. */
  private async apply(change: SessionChange): Promise<void> {
    this.version++;
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (err) {
        this.deps.logger.error({ err }, 'session change listener failed');
      }
    }
    const conns = [...(this.byUser.get(change.userId) ?? [])];
    if (!conns.length) return;
    if (change.kind === 'revoked') {
      for (const c of conns) if (c.tokenId === change.tokenId) this.end(c, 'token revoked');
      return;
    }
    await this.recheck(conns, change.userId);
  }

  /**
   * Re-reads the user once and refreshes (or, if the account is gone, ends) these connections;
   * with `tokenId`, ends them too if that token was revoked.
   */
  private async recheck(conns: LiveConnection[], userId: string, tokenId?: string): Promise<void> {
    let found: Awaited<ReturnType<typeof currentViewer>>;
    try {
      found = await currentViewer(this.deps.orm.em.fork(), userId, tokenId);
    } catch (err) {
      this.deps.logger.error({ err, userId }, 'session recheck failed');
      return;
    }
    const { viewer, revoked } = found;
    if (viewer && this.byUser.has(userId)) this.roles.set(userId, viewer.role);
    for (const c of conns) {
      if (revoked) {
        this.end(c, 'token revoked');
        continue;
      }
      if (!viewer) {
        this.end(c, 'account deleted');
        continue;
      }
      try {
        await c.refresh(viewer);
      } catch (err) {
        this.deps.logger.error({ err, userId }, 'connection refresh failed');
      }
    }
  }

  private end(conn: LiveConnection, reason: EndReason): void {
    try {
      conn.end(reason);
    } catch (err) {
      this.deps.logger.error({ err, reason }, 'ending a connection failed');
    }
  }
}
