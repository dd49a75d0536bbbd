import type { ServiceDeps } from './context';

export type MetricName = 'ordersToday' | 'revenueToday' | 'activeConnections' | 'pendingReviews' | 'openSupportChats';

/** Admin dashboard metrics. (Being implemented: issue 4.) */
export class DashboardService {
  constructor(private deps: ServiceDeps) {}

  /** Recomputes the named metrics and publishes `dashboard_metric_update` for each (after commit). */
  async publishMetrics(_names: MetricName[]): Promise<void> {}
}
