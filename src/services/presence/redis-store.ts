import type { Redis } from 'ioredis';
import type { ClusterCounts, InstanceCounts, PresenceStore } from './store';

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
