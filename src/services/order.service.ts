import type { ServiceDeps } from './context';
import type { CartService } from './cart.service';
import type { StockService } from './stock.service';
import type { CatalogService } from './catalog.service';
import type { DashboardService } from './dashboard.service';

/** Checkout and orders. (Being implemented: issue 4.) */
export class OrderService {
  constructor(
    private deps: ServiceDeps,
    private stock: StockService,
    private cart: CartService,
    private catalog: CatalogService,
    private dashboard: DashboardService,
  ) {}
}
