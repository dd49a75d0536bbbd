import { randomUUID } from 'node:crypto';
import type { Viewer } from '../../auth/viewer';
import { isAdmin } from '../../auth/viewer';
import type { ConnectionStatsPayload } from '../../events/payloads/admin.payload';
import { every, type Loop } from '../../lib/every';
import { withinMs } from '../../lib/within-ms';
import { nowIso, type ServiceDeps } from '../context';
import { PresenceLeadership } from './leadership';
import { MemoryPresenceStore } from './memory-store';
import { RedisPresenceStore } from './redis-store';
import type { InstanceCounts, PresenceStore } from './store';

type ConnectionKind = 'socket' | 'graphql-ws';

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
  private leadership: PresenceLeadership;
  private local = new Map<string, LocalConnection>();
  private loops: Loop[] = [];
  private running = false;
  private stopped = false;

  constructor(private deps: ServiceDeps) {
    this.store = deps.redis
      ? new RedisPresenceStore(deps.redis, deps.config.redisNamespace, this.instanceId)
      : new MemoryPresenceStore();
    this.leadership = new PresenceLeadership(this.store, deps.hub, {
      ttlMs: this.reportTtlMs,
      publishStats: deps.config.connectionStatsIntervalMs > 0,
      stats: () => this.stats(),
      wentOffline: (userIds) => this.publishOffline(userIds),
    });
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

  /** Every instance reports its counts (its liveness too); the leader then does the cluster's chores. */
  private async tick(): Promise<void> {
    await this.report();
    await this.leadership.tick();
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    await this.report().catch(() => undefined);
    const { logger, config: { presenceTimeoutMs } } = this.deps;
    this.loops.push(every(this.tickMs, () => this.tick(), { what: 'presence: stats tick', logger, level: 'warn' }));
    // PRESENCE_TIMEOUT_MS=0: heartbeats never lapse, only closing the last connection makes a user offline.
    if (presenceTimeoutMs > 0) {
      const sweep = async () => this.publishOffline(await this.store.sweep(presenceTimeoutMs));
      this.loops.push(every(this.sweepMs, sweep, { what: 'presence: sweep', logger, level: 'warn' }));
    }
  }

  /**
   * Graceful stop: this instance's connections leave the cluster-wide records now (user_offline for
   * users whose last connection was here), and it gives up its report and leadership.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    const loops = this.loops;
    this.loops = [];
    // Bounded: with Redis down its client would wait for it forever. What is not cleaned up here
    // expires with this instance's report TTL, and the leader then sweeps it.
    await withinMs(STOP_BUDGET_MS, (async () => {
      // A tick still under way would otherwise report this instance again after it retired.
      await Promise.all(loops.map((l) => l.stop()));
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
