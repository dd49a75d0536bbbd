import type { ServiceDeps } from './context';

/** Wishlists. (Being implemented: issue 4.) */
export class WishlistService {
  constructor(private deps: ServiceDeps) {}
}
