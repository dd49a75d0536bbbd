import type { ConnectionStatsPayload } from '../../events/payloads/admin.payload';
import type { EventHub } from '../../events/hub';
import type { PresenceStore } from './store';

export interface LeadershipOptions {
  /** How long a lease lasts: the leader renews it on each tick, another instance takes it once it lapses. */
  ttlMs: number;
  /** `connection_stats` (and `activeConnections` when it changed) is published on each tick. */
  publishStats: boolean;
  /** Connections across all live instances, as `connection_stats` carries them. */
  stats(): Promise<ConnectionStatsPayload>;
  /** Announces users that went offline (`user_offline`). */
  wentOffline(userIds: string[]): Promise<void>;
}

/**
 * The cluster-wide duties of one instance at a time, the leader: forgetting the connections of
 * instances that stopped reporting (their users go offline), and publishing the connection counts.
 * Every instance calls `tick()` on its stats tick; the store's lease decides which one performs them.
 */
export class PresenceLeadership {
  private lastActiveConnections: number | null = null;

  constructor(private store: PresenceStore, private hub: EventHub, private opts: LeadershipOptions) {}

  /** Takes or keeps the lease; as leader, reaps dead instances and publishes the counts. */
  async tick(): Promise<void> {
    if (!(await this.store.lead(this.opts.ttlMs))) return;
    await this.opts.wentOffline(await this.store.reapDeadInstances());
    if (!this.opts.publishStats) return;
    const stats = await this.opts.stats();
    await this.hub.publish('connection_stats', stats, {});
    if (stats.totalConnections !== this.lastActiveConnections) {
      this.lastActiveConnections = stats.totalConnections;
      await this.hub.publish('dashboard_metric_update', { metric: 'activeConnections', value: stats.totalConnections, timestamp: stats.timestamp }, {});
    }
  }
}
