import type { Redis } from 'ioredis';
import { Adapter, type PrivateSessionId, type Session } from 'socket.io-adapter';
import type { EventLog } from '../events/event-log';
import type { Logger } from '../logger';

/**
 * Socket.IO's connection state recovery, on the durable event log and a session store shared by
 * every instance.
 *
 * socket.io-client ≥ 4.6 keeps the session id (`pid`) the server gave it in the CONNECT answer and
 * the last string argument of the last event it received (`offset`), and sends both back when it
 * reconnects. Here the offset of a durable event is its `eventId`; the session (its rooms and user)
 * is written to the store when the socket connects or changes rooms, so it survives the instance
 * that held it. A reconnecting socket, on any instance, gets its session back; the connection
 * handler then re-authorizes every room for the token presented now and replays, in order, what
 * the socket missed in them (src/bridge/bridge.ts `recover`).
 */
export interface SocketSession {
  sid: string;
  userId: string | null;
  rooms: string[];
}

/** Where a reconnecting socket finds what it was in: Redis across instances, or this process. */
export interface SessionStore {
  save(pid: string, session: SocketSession, ttlSeconds: number): void;
  load(pid: string): Promise<SocketSession | null>;
  drop(pid: string): void;
}

export class RedisSessionStore implements SessionStore {
  constructor(private redis: Redis, private namespace: string, private logger: Logger) {}

  private key(pid: string) {
    return `${this.namespace}:socket-session:${pid}`;
  }

  save(pid: string, session: SocketSession, ttlSeconds: number): void {
    // Never waited on: a socket's commands do not wait for Redis; while it is away, recovery degrades.
    if (this.redis.status !== 'ready') return;
    this.redis.set(this.key(pid), JSON.stringify(session), 'EX', Math.max(1, Math.ceil(ttlSeconds)))
      .catch((err) => this.logger.warn({ err: err.message }, 'socket session not saved'));
  }

  async load(pid: string): Promise<SocketSession | null> {
    if (this.redis.status !== 'ready') return null;
    const raw = await this.redis.get(this.key(pid));
    return raw ? (JSON.parse(raw) as SocketSession) : null;
  }

  drop(pid: string): void {
    if (this.redis.status !== 'ready') return;
    this.redis.del(this.key(pid)).catch(() => undefined);
  }
}

export class MemorySessionStore implements SessionStore {
  private sessions = new Map<string, { session: SocketSession; expires: number }>();

  save(pid: string, session: SocketSession, ttlSeconds: number): void {
    this.sessions.set(pid, { session, expires: Date.now() + ttlSeconds * 1000 });
    if (this.sessions.size % 1000 === 0) this.sweep();
  }

  async load(pid: string): Promise<SocketSession | null> {
    const s = this.sessions.get(pid);
    if (!s || s.expires < Date.now()) return null;
    return s.session;
  }

  drop(pid: string): void {
    this.sessions.delete(pid);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [pid, s] of this.sessions) if (s.expires < now) this.sessions.delete(pid);
  }
}

/** What a recovered socket carries in `socket.data` until the connection handler has re-authorized it. */
export interface RecoveredState {
  rooms: string[];
  userId: string | null;
  /** The position of the client's offset: replay everything after it. */
  after: number;
}

/**
 * The adapter of the main namespace: Socket.IO's in-memory rooms, plus the session hooks of
 * connection state recovery. Nothing is buffered per socket: what a socket missed is read from the
 * event log when it comes back.
 */
export function recoveryAdapter(store: SessionStore, log: EventLog, recoverySeconds: number): typeof Adapter {
  return class RecoveryAdapter extends Adapter {
    /** A socket lost its transport (recoverable): its session is kept for the recovery window. */
    override persistSession(session: { sid: string; pid: PrivateSessionId; rooms: string[]; data: unknown }): void {
      const viewer = (session.data as { viewer?: { id: string } | null } | undefined)?.viewer ?? null;
      store.save(session.pid, { sid: session.sid, userId: viewer?.id ?? null, rooms: session.rooms.filter((r) => r !== session.sid) }, recoverySeconds);
    }

    /** A socket came back with its `pid` and offset: its session, or null (it starts afresh). */
    override async restoreSession(pid: PrivateSessionId, offset: string): Promise<Session> { 
      const saved = await store.load(pid);
      if (!saved) return null as unknown as Session;
      let after: number;
      try {
        after = await log.resumePoint(offset);
      } catch {
        return null as unknown as Session; // past the retention, or not an id of ours
      }
      const recovery: RecoveredState = { rooms: saved.rooms, userId: saved.userId, after };
      // Rooms are joined (and missed events sent) only after authentication and re-authorization.
      return { sid: saved.sid, pid, rooms: [], data: { recovery }, missedPackets: [] };
    }
  };
}
