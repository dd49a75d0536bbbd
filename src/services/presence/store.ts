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
 * Where presence lives: in memory for a single instance (`memory-store.ts`), in Redis for a cluster
 * (`redis-store.ts`). Every method that can make a user go offline returns the users that did, and
 * does so atomically, so exactly one caller (on one instance) sees each online→offline transition.
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
