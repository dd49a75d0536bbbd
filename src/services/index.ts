import { CartService } from './cart.service';
import { CatalogService } from './catalog.service';
import type { ServiceDeps } from './context';
import { StockService } from './stock.service';
import { SupportService } from './support.service';
import { UserService } from './user.service';

/** Every service of one app instance, wired once in createApp. */
export function createServices(deps: ServiceDeps) {
  const stock = new StockService(deps);
  const users = new UserService(deps);
  const catalog = new CatalogService(deps, stock);
  const support = new SupportService(deps);
  const cart = new CartService(deps);
  /** Timers that run per instance (flash-sale scheduler, presence, connection stats). */
  const background: Array<{ start(): void | Promise<void>; stop(): void | Promise<void> }> = [];
  return {
    deps, stock, users, catalog, support, cart,
    async startBackground() {
      for (const b of background) await b.start();
    },
    async stopBackground() {
      for (const b of background) await b.stop();
    },
  };
}

export type Services = ReturnType<typeof createServices>;
