import type { ClusterCounts, InstanceCounts, PresenceStore } from './store';

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
