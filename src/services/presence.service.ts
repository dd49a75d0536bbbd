import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { Viewer } from '../auth/viewer';
import { isAdmin } from '../auth/viewer';
import type { ConnectionStatsPayload } from '../events/payloads/admin.payload';
import { nowIso, type ServiceDeps } from './context';
import { every, type Loop } from '../lib/every';
import { withinMs } from '../lib/within';

export type ConnectionKind = 'socket' | 'graphql-ws';

/** Connections of one instance, as it reports them for the cluster-wide `connection_stats`. */
export interface InstanceCounts {
  total: number;
  admin: number;
}

export interface ClusterCounts {
  totalConnections: number;
  /** Distinct signed-in users with at least one open connection. */
  authenticatedUsers: number;
  adminConnections: number;
}

/**
 * Where presence lives: in memory for a single instance, in Redis for a cluster. Every method that
 * can make a user go offline returns the users that did, and does so atomically, so exactly one
 * caller (on one instance) sees each online→offline transition.
 */
export interface PresenceStore {
  /** An authenticated connection opened: counts as activity. */
  connect(userId: string, connectionId: string): Promise<void>;
  /** It closed; true when that was the user's last connection and the user was online. */
  disconnect(userId: string, connectionId: string): Promise<boolean>;
  /** A heartbeat: refreshes last-seen of a user with open connections (no effect otherwise). */
  heartbeat(userId: string): Promise<void>;
  /** Users whose heartbeat lapsed (last seen more than `timeoutMs` ago), now marked offline. */
  sweep(timeoutMs: number): Promise<string[]>;
  /**
   * Publishes this instance's counts for `ttlMs` (its liveness too). False once after the instance was
   * reaped as dead (a stall longer than the TTL): its connections must then be added again.
   */
  report(counts: InstanceCounts, ttlMs: number): Promise<boolean>;
  /** Sums the counts of every live instance. */
  totals(): Promise<ClusterCounts>;
  /** Takes or keeps the cluster-wide leadership for `ttlMs`; true when this instance leads. */
  lead(ttlMs: number): Promise<boolean>;
  /** Forgets the connections of instances that stopped reporting (crashed); returns users gone offline. */
  reapDeadInstances(): Promise<string[]>;
  /** Graceful stop: drops this instance's report and leadership. */
  retire(): Promise<void>;
}

/** One instance, no Redis: plain maps. */
export class MemoryPresenceStore implements PresenceStore {
  private conns = new Map<string, Set<string>>();
  private online = new Map<string, number>();
  private counts: InstanceCounts = { total: 0, admin: 0 };

  async connect(userId: string, connectionId: string): Promise<void> {
    let set = this.conns.get(userId);
    if (!set) this.conns.set(userId, (set = new Set()));
    set.add(connectionId);
    this.online.set(userId, Date.now());
  }

  async disconnect(userId: string, connectionId: string): Promise<boolean> {
    const set = this.conns.get(userId);
    if (!set?.delete(connectionId) || set.size > 0) return false;
    this.conns.delete(userId);
    return this.online.delete(userId);
  }

  async heartbeat(userId: string): Promise<void> {
    if (this.conns.has(userId)) this.online.set(userId, Date.now());
  }

  async sweep(timeoutMs: number): Promise<string[]> {
    const cutoff = Date.now() - timeoutMs;
    const gone: string[] = [];
    for (const [userId, seen] of this.online) {
      if (seen <= cutoff) {
        this.online.delete(userId);
        gone.push(userId);
      }
    }
    return gone;
  }

  async report(counts: InstanceCounts): Promise<boolean> {
    this.counts = { ...counts };
    return true;
  }

  async totals(): Promise<ClusterCounts> {
    return { totalConnections: this.counts.total, adminConnections: this.counts.admin, authenticatedUsers: this.conns.size };
  }

  async lead(): Promise<boolean> {
    return true;
  }

  async reapDeadInstances(): Promise<string[]> {
    return [];
  }

  async retire(): Promise<void> {}
}

/**
 * Redis keys, all under `{<namespace>}:presence:` (one hash slot, so the scripts touching several of
 * them stay valid on a Redis Cluster):
 * - `conn:<userId>`   HASH connectionId → instanceId (the user's open connections, cluster-wide)
 * - `connected`       SET  users with at least one open connection
 * - `online`          ZSET userId → last seen (ms, Redis clock); membership = online
 * - `iconns:<inst>`   SET  "<userId> <connectionId>" opened on that instance (to reap a crashed one)
 * - `inst:<inst>`     STRING "<total> <admin>" connections of that instance, expiring
 * - `alive`           ZSET instanceId → expiry of its report (ms)
 * - `leader`          STRING instanceId, expiring (who publishes connection_stats)
 * - `reaped:<inst>`   STRING set when an instance was taken for dead (it re-adds its connections if it was not)
 * Time is Redis' own (TIME), so instances with skewed clocks agree on lapses.
 */
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const SCRIPTS = {
  // ARGV: prefix, userId, connectionId, instanceId
  connect: `${NOW}
    local p, u, c, i = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
    redis.call('HSET', p .. 'conn:' .. u, c, i)
    redis.call('SADD', p .. 'iconns:' .. i, u .. ' ' .. c)
    redis.call('SADD', p .. 'connected', u)
    redis.call('ZADD', p .. 'online', now, u)
    return 1`,
  // ARGV: prefix, userId, connectionId, instanceId → 1 when the user just went offline
  disconnect: `
    local p, u, c, i = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
    redis.call('SREM', p .. 'iconns:' .. i, u .. ' ' .. c)
    if redis.call('HDEL', p .. 'conn:' .. u, c) == 0 then return 0 end
    if redis.call('HLEN', p .. 'conn:' .. u) > 0 then return 0 end
    redis.call('SREM', p .. 'connected', u)
    return redis.call('ZREM', p .. 'online', u)`,
  // ARGV: prefix, userId
  heartbeat: `${NOW}
    local p, u = ARGV[1], ARGV[2]
    if redis.call('EXISTS', p .. 'conn:' .. u) == 1 then redis.call('ZADD', p .. 'online', now, u) end
    return 1`,
  // ARGV: prefix, timeoutMs → users whose heartbeat lapsed, removed from `online` in the same step
  sweep: `${NOW}
    local p = ARGV[1]
    local gone = redis.call('ZRANGEBYSCORE', p .. 'online', '-inf', now - tonumber(ARGV[2]), 'LIMIT', 0, 500)
    if #gone > 0 then redis.call('ZREM', p .. 'online', unpack(gone)) end
    return gone`,
  // ARGV: prefix, instanceId, ttlMs, total, admin → 0 when the instance had been reaped
  report: `${NOW}
    local p, i, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
    redis.call('SET', p .. 'inst:' .. i, ARGV[4] .. ' ' .. ARGV[5], 'PX', ttl)
    redis.call('ZADD', p .. 'alive', now + ttl, i)
    if redis.call('DEL', p .. 'reaped:' .. i) == 1 then return 0 end
    return 1`,
  // ARGV: prefix → { total, admin, authenticatedUsers }
  totals: `${NOW}
    local p = ARGV[1]
    local total, admin = 0, 0
    for _, i in ipairs(redis.call('ZRANGEBYSCORE', p .. 'alive', now, '+inf')) do
      local v = redis.call('GET', p .. 'inst:' .. i)
      if v then
        local a, b = string.match(v, '^(%d+) (%d+)$')
        total = total + tonumber(a)
        admin = admin + tonumber(b)
      end
    end
    return { total, admin, redis.call('SCARD', p .. 'connected') }`,
  // ARGV: prefix, instanceId, ttlMs → 1 when this instance leads
  lead: `
    local p, i, ttl = ARGV[1], ARGV[2], ARGV[3]
    local cur = redis.call('GET', p .. 'leader')
    if cur == i then redis.call('PEXPIRE', p .. 'leader', ttl) return 1 end
    if not cur then redis.call('SET', p .. 'leader', i, 'PX', ttl) return 1 end
    return 0`,
  // ARGV: prefix → users that went offline because their last connection was on a dead instance
  reap: `${NOW}
    local p = ARGV[1]
    local gone = {}
    for _, i in ipairs(redis.call('ZRANGEBYSCORE', p .. 'alive', '-inf', now - 1, 'LIMIT', 0, 20)) do
      for _, m in ipairs(redis.call('SMEMBERS', p .. 'iconns:' .. i)) do
        local u, c = string.match(m, '^(%S+) (%S+)$')
        if u and redis.call('HDEL', p .. 'conn:' .. u, c) == 1 and redis.call('HLEN', p .. 'conn:' .. u) == 0 then
          redis.call('SREM', p .. 'connected', u)
          if redis.call('ZREM', p .. 'online', u) == 1 then table.insert(gone, u) end
        end
      end
      redis.call('DEL', p .. 'iconns:' .. i, p .. 'inst:' .. i)
      redis.call('ZREM', p .. 'alive', i)
      redis.call('SET', p .. 'reaped:' .. i, 1, 'PX', 86400000)
    end
    return gone`,
  // ARGV: prefix, instanceId
  retire: `
    local p, i = ARGV[1], ARGV[2]
    redis.call('DEL', p .. 'inst:' .. i)
    redis.call('ZREM', p .. 'alive', i)
    if redis.call('GET', p .. 'leader') == i then redis.call('DEL', p .. 'leader') end
    return 1`,
} as const;

type ScriptName = keyof typeof SCRIPTS;

/** Cluster-wide presence on Redis; every state change is one Lua script, hence atomic. */
export class RedisPresenceStore implements PresenceStore {
  private prefix: string;

  constructor(private redis: Redis, namespace: string, private instanceId: string) {
    this.prefix = `{${namespace}}:presence:`;
  }

  private run<T>(name: ScriptName, ...args: Array<string | number>): Promise<T> {
    // EVAL caches the script server-side by its SHA; the bodies are small, so no EVALSHA dance.
    return this.redis.eval(SCRIPTS[name], 0, this.prefix, ...args) as Promise<T>;
  }

  async connect(userId: string, connectionId: string): Promise<void> {
    await this.run('connect', userId, connectionId, this.instanceId);
  }

  async disconnect(userId: string, connectionId: string): Promise<boolean> {
    return (await this.run<number>('disconnect', userId, connectionId, this.instanceId)) === 1;
  }

  async heartbeat(userId: string): Promise<void> {
    await this.run('heartbeat', userId);
  }

  sweep(timeoutMs: number): Promise<string[]> {
    return this.run<string[]>('sweep', timeoutMs);
  }

  async report(counts: InstanceCounts, ttlMs: number): Promise<boolean> {
    return (await this.run<number>('report', this.instanceId, ttlMs, counts.total, counts.admin)) === 1;
  }

  async totals(): Promise<ClusterCounts> {
    const [total, admin, users] = await this.run<number[]>('totals');
    return { totalConnections: total, adminConnections: admin, authenticatedUsers: users };
  }

  async lead(ttlMs: number): Promise<boolean> {
    return (await this.run<number>('lead', this.instanceId, ttlMs)) === 1;
  }

  reapDeadInstances(): Promise<string[]> {
    return this.run<string[]>('reap');
  }

  async retire(): Promise<void> {
    await this.run('retire', this.instanceId);
  }
}

interface LocalConnection {
  kind: ConnectionKind;
  userId: string | null;
  admin: boolean;
}

/**
 * Connections and presence across instances:
 * - a user is online while one of its connections (Socket.IO or graphql-ws, on any instance) is open
 *   and its heartbeat has not lapsed (`presenceTimeoutMs`); opening a connection counts as activity;
 * - `user_offline` fires once per online→offline transition (last connection closed, heartbeat
 *   lapsed, or its instance crashed); the store makes each transition visible to one caller only;
 * - `connection_stats` is published every `connectionStatsIntervalMs` by one instance, the leader,
 *   with the connections of every live instance.
 */
export class PresenceService {
  /** This instance, in the cluster-wide presence records. */
  readonly instanceId = randomUUID();
  private store: PresenceStore;
  private local = new Map<string, LocalConnection>();
  private loops: Loop[] = [];
  private running = false;
  private stopped = false;
  /** Bumped by start/stop so a run that was in flight at stop() never reschedules itself. */
  private lastActiveConnections: number | null = null;

  constructor(private deps: ServiceDeps) {
    this.store = deps.redis
      ? new RedisPresenceStore(deps.redis, deps.config.redisNamespace, this.instanceId)
      : new MemoryPresenceStore();
  }

  private get tickMs(): number {
    return this.deps.config.connectionStatsIntervalMs || 1000;
  }

  /** How long an instance's report lives: a crashed instance drops out of the counts after this. */
  private get reportTtlMs(): number {
    return Math.max(3 * this.tickMs, 3000);
  }

  private get sweepMs(): number {
    return Math.min(1000, Math.max(50, Math.floor(this.deps.config.presenceTimeoutMs / 5)));
  }

  /** Background work must never throw into a socket handler: failures are logged. */
  private guard(p: Promise<unknown>, what: string): void {
    p.catch((err) => this.deps.logger.warn({ err: err instanceof Error ? err.message : err }, `presence: ${what} failed`));
  }

  private counts(): InstanceCounts {
    let admin = 0;
    for (const c of this.local.values()) if (c.admin) admin++;
    return { total: this.local.size, admin };
  }

  private async report(): Promise<void> {
    if (await this.store.report(this.counts(), this.reportTtlMs)) return;
    // Taken for dead after a stall: put this instance's open connections back (counts as activity).
    await Promise.all([...this.local].filter(([, c]) => c.userId).map(([id, c]) => this.store.connect(c.userId!, id)));
  }

  private async publishOffline(userIds: string[]): Promise<void> {
    for (const userId of userIds) await this.deps.hub.publish('user_offline', { userId, timestamp: nowIso() }, {});
  }

  /** A Socket.IO or graphql-ws connection opened on this instance. */
  connected(connectionId: string, kind: ConnectionKind, viewer: Viewer | null): void {
    this.local.set(connectionId, { kind, userId: viewer?.id ?? null, admin: isAdmin(viewer) });
    if (this.stopped) return;
    if (viewer) this.guard(this.store.connect(viewer.id, connectionId), 'connect');
    this.guard(this.report(), 'report');
  }

  /** That connection closed. */
  disconnected(connectionId: string, _kind: ConnectionKind, _viewer: Viewer | null): void {
    const c = this.local.get(connectionId);
    if (!c) return;
    this.local.delete(connectionId);
    if (this.stopped) return;
    if (c.userId) {
      const userId = c.userId;
      this.guard(this.store.disconnect(userId, connectionId).then((offline) => (offline ? this.publishOffline([userId]) : undefined)), 'disconnect');
    }
    this.guard(this.report(), 'report');
  }

  /** A heartbeat (`user_activity` / `recordActivity`): keeps a connected user online. */
  async activity(userId: string): Promise<void> {
    await this.store.heartbeat(userId);
  }

  /** Connections across all live instances, as `connection_stats` carries them. */
  async stats(): Promise<ConnectionStatsPayload> {
    const t = await this.store.totals();
    return { ...t, timestamp: nowIso() };
  }

  /** Runs `fn` every `ms`, never overlapping, until stop(); a failure is logged. */
  private loop(ms: number, fn: () => Promise<void>, what: string): void {
    this.loops.push(every(ms, fn, (err) => this.deps.logger.warn({ err: err instanceof Error ? err.message : err }, `presence: ${what} failed`)));
  }

  private async tick(): Promise<void> {
    await this.report();
    if (!(await this.store.lead(this.reportTtlMs))) return;
    await this.publishOffline(await this.store.reapDeadInstances());
    if (!this.deps.config.connectionStatsIntervalMs) return;
    const stats = await this.stats();
    await this.deps.hub.publish('connection_stats', stats, {});
    if (stats.totalConnections !== this.lastActiveConnections) {
      this.lastActiveConnections = stats.totalConnections;
      await this.deps.hub.publish('dashboard_metric_update', { metric: 'activeConnections', value: stats.totalConnections, timestamp: stats.timestamp }, {});
    }
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    await this.report().catch(() => undefined);
    this.loop(this.tickMs, () => this.tick(), 'stats tick');
    // PRESENCE_TIMEOUT_MS=0: heartbeats never lapse, only closing the last connection makes a user offline.
    if (this.deps.config.presenceTimeoutMs > 0) {
      this.loop(this.sweepMs, async () => this.publishOffline(await this.store.sweep(this.deps.config.presenceTimeoutMs)), 'sweep');
    }
  }

  /**
   * Graceful stop: this instance's connections leave the cluster-wide records now (user_offline for
   * users whose last connection was here), and it gives up its report and leadership.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    // No later runs; a run under way is not waited for (with Redis down it could wait forever).
    for (const l of this.loops.splice(0)) void l.stop();
    // Bounded: with Redis down its client would wait for it forever. What is not cleaned up here
    // expires with this instance's report TTL, and the leader then sweeps it.
    await withinMs(STOP_BUDGET_MS, (async () => {
      const results = await Promise.allSettled(
        [...this.local].filter(([, c]) => c.userId).map(async ([connectionId, c]) => ((await this.store.disconnect(c.userId!, connectionId)) ? c.userId! : null)),
      );
      const gone = results.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : []));
      if (results.some((r) => r.status === 'rejected')) this.deps.logger.warn('presence: some connections could not be removed at stop');
      await this.publishOffline(gone).catch(() => undefined);
      await this.store.retire().catch(() => undefined);
    })()).catch(() => this.deps.logger.warn('presence: cleanup at stop timed out (Redis unreachable?)'));
  }
}

const STOP_BUDGET_MS = 2000;
