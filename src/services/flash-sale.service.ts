import type { ServiceDeps } from './context';
import type { CatalogService } from './catalog.service';

/** Flash sales and their scheduler. (Being implemented: issue 4.) */
export class FlashSaleService {
  constructor(private deps: ServiceDeps, private catalog: CatalogService) {}

  /** Starts this instance's scheduler. */
  async start(): Promise<void> {}

  async stop(): Promise<void> {}
}
