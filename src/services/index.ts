import { AnalyticsService } from './analytics.service';
import { CartService } from './cart.service';
import { CatalogService } from './catalog.service';
import type { ServiceDeps } from './context';
import { DashboardService } from './dashboard.service';
import { FlashSaleService } from './flash-sale.service';
import { OrderService } from './order.service';
import { PresenceService } from './presence/presence.service';
import { ReviewService } from './review.service';
import { SessionService } from './session.service';
import { StockService } from './stock.service';
import { SupportService } from './support.service';
import { UserService } from './user.service';
import { WishlistService } from './wishlist.service';

/** Every service of one app instance, wired once in createApp. */
export function createServices(deps: ServiceDeps) {
  const stock = new StockService(deps);
  const sessions = new SessionService(deps);
  const users = new UserService(deps, sessions);
  const catalog = new CatalogService(deps, stock);
  const presence = new PresenceService(deps);
  const dashboard = new DashboardService(deps, presence);
  const cart = new CartService(deps);
  const orders = new OrderService(deps, stock, dashboard);
  const flashSales = new FlashSaleService(deps, catalog);
  const reviews = new ReviewService(deps, dashboard);
  const wishlist = new WishlistService(deps);
  const support = new SupportService(deps, dashboard);
  const analytics = new AnalyticsService(deps, presence);
  /**
   * Per-instance timers and listeners: session changes and token expiry, the flash-sale scheduler,
   * presence sweeps and connection stats, metric updates.
   */
  const background = [sessions, flashSales, presence, dashboard];
  return {
    /** The durable event log, as subscriptions read it: listen, resume points, replay. */
    log: deps.log,
    stock, sessions, users, catalog, dashboard, cart, orders, flashSales, reviews, wishlist, support, analytics, presence,
    async startBackground() {
      for (const b of background) await b.start();
    },
    async stopBackground() {
      for (const b of [...background].reverse()) await b.stop();
    },
  };
}

export type Services = ReturnType<typeof createServices>;
