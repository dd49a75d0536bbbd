import { nowIso, toMoney, type ServiceDeps } from './context';
import type { PresenceService } from './presence/presence.service';
import { countOpenSupportChats } from '../db/queries/dashboard';
import { todayOrders } from '../db/queries/orders';
import { countPendingReviews } from '../db/queries/reviews';

type MetricName = 'ordersToday' | 'revenueToday' | 'activeConnections' | 'pendingReviews' | 'openSupportChats';

const metricNames: MetricName[] = ['ordersToday', 'revenueToday', 'activeConnections', 'pendingReviews', 'openSupportChats'];

/** The admin dashboard: every metric's current value. */
interface DashboardView {
  ordersToday: number;
  /** Money, two decimals. */
  revenueToday: number;
  activeConnections: number;
  pendingReviews: number;
  openSupportChats: number;
  timestamp: string;
}

/** Changes within this window are published as one update per metric. */
const METRIC_COALESCE_MS = 250;

/** Admin dashboard metrics, computed from the database and the cluster-wide presence counts. */
export class DashboardService {
  private pending = new Set<MetricName>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private deps: ServiceDeps, private presence: PresenceService) {}

  /** The current value of every metric (the `dashboard` query). */
  async dashboard(): Promise<DashboardView> {
    const values = await this.compute(metricNames);
    return { ...(values as Record<MetricName, number>), timestamp: nowIso() };
  }

  private async compute(names: MetricName[]): Promise<Partial<Record<MetricName, number>>> {
    const want = new Set(names);
    const em = this.deps.orm.em.fork();
    const out: Partial<Record<MetricName, number>> = {};
    const jobs: Array<Promise<void>> = [];
    if (want.has('ordersToday') || want.has('revenueToday')) {
      jobs.push(todayOrders(em).then((r) => {
        if (want.has('ordersToday')) out.ordersToday = r.count;
        if (want.has('revenueToday')) out.revenueToday = toMoney(r.cents);
      }));
    }
    if (want.has('pendingReviews')) {
      jobs.push(countPendingReviews(em).then((n) => {
        out.pendingReviews = n;
      }));
    }
    if (want.has('openSupportChats')) {
      jobs.push(countOpenSupportChats(em).then((n) => {
        out.openSupportChats = n;
      }));
    }
    if (want.has('activeConnections')) {
      jobs.push(this.presence.stats().then((s) => {
        out.activeConnections = s.totalConnections;
      }));
    }
    await Promise.all(jobs);
    return out;
  }

  /**
   * Marks metrics as changed: within METRIC_COALESCE_MS they are recomputed once and published as
   * one `dashboard_metric_update` per metric (admins), so a burst of checkouts costs one query, not
   * one per order. Call it after the transaction that changed them committed.
   */
  async publishMetrics(names: MetricName[]): Promise<void> {
    for (const n of names) if (metricNames.includes(n)) this.pending.add(n);
    if (this.timer || !this.pending.size) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushing = this.flush();
    }, METRIC_COALESCE_MS);
    this.timer.unref();
  }

  async start(): Promise<void> {}

  /** Drops what is pending (the process is stopping) and waits for a flush under way. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
    await this.flushing;
  }

  /** Never throws: a metric that cannot be computed is logged and skipped. */
  private async flush(): Promise<void> {
    const unique = [...this.pending];
    this.pending.clear();
    try {
      const values = await this.compute(unique);
      const timestamp = nowIso();
      for (const metric of unique) {
        const value = values[metric];
        if (value !== undefined) await this.deps.hub.publish('dashboard_metric_update', { metric, value, timestamp }, {});
      }
    } catch (err) {
      this.deps.logger.error({ err, names: unique }, 'dashboard metrics could not be published');
    }
  }
}
