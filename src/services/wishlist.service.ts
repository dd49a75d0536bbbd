import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { AppError, ErrorCode, forbidden, notFound } from '../errors';
import type { WishlistView } from '../events/payloads/common.payload';
import { nowIso, type ServiceDeps } from './context';
import { id as idSchema, parseInput, variantSchema } from './validation';
import { productExists, variantIdOf } from '../db/queries/catalog';
import { addItem, createWishlist, loadWishlist, removeItems, touchWishlist, wishlistIdOf } from '../db/queries/wishlists';

export interface WishlistTarget {
  productId: string;
  /** Narrows the wish to one size/colour; omitted means the product in any variant. */
  variant?: { size: string; color: string } | null;
  /** When a client names the wishlist (the `wishlist_updated` command), it must be the caller's. */
  wishlistId?: string | null;
}

const targetSchema = z.object({
  productId: idSchema,
  variant: variantSchema.nullish(),
  wishlistId: z.string().max(100).nullish(),
});

type Action = 'item_added' | 'item_removed' | 'wishlist_created';

/**
 * Wishlists: one per user, created on first use. Every change raises `wishlist_updated` to the
 * owner with the whole wishlist; the operation that creates the wishlist (the `wishlist` query or
 * the first add) raises it once with action `wishlist_created` — for an add, the new item is
 * already in that wishlist, and no separate `item_added` follows. Changes that change nothing (a
 * duplicate add, removing what is not there) raise nothing.
 */
export class WishlistService {
  constructor(private deps: ServiceDeps) {}

  /** The user's wishlist, created (empty) on first use. */
  async get(userId: string): Promise<WishlistView> {
    return this.deps.orm.em.fork().transactional(async (tx) => {
      const { id, created } = await this.ensure(tx, userId);
      return this.finish(tx, id, created ? 'wishlist_created' : null);
    });
  }

  /** Adds a product (optionally one variant); adding it again is a no-op. Unknown product or variant: NOT_FOUND. */
  async add(userId: string, target: WishlistTarget): Promise<WishlistView> {
    const t = parseInput(targetSchema, target);
    const size = t.variant?.size ?? '';
    const color = t.variant?.color ?? '';
    return this.deps.orm.em.fork().transactional(async (tx) => {
      await this.assertTarget(tx, t.productId, t.variant);
      const w = await this.ensure(tx, userId);
      this.assertOwn(w.id, t.wishlistId);
      const added = await addItem(tx, w.id, t.productId, size, color);
      if (added) await touchWishlist(tx, w.id);
      return this.finish(tx, w.id, w.created ? 'wishlist_created' : added ? 'item_added' : null);
    });
  }

  /**
   * Removes a product: with a variant, that entry only; without, every entry of the product.
   * Removing what is not there is a no-op; an unknown product is NOT_FOUND.
   */
  async remove(userId: string, target: WishlistTarget): Promise<WishlistView> {
    const t = parseInput(targetSchema, target);
    return this.deps.orm.em.fork().transactional(async (tx) => {
      await this.assertTarget(tx, t.productId, null);
      const w = await this.ensure(tx, userId);
      this.assertOwn(w.id, t.wishlistId);
      const removed = await removeItems(tx, w.id, t.productId, t.variant);
      if (removed) await touchWishlist(tx, w.id);
      return this.finish(tx, w.id, w.created ? 'wishlist_created' : removed ? 'item_removed' : null);
    });
  }

  /** The wishlist as it stands in the transaction, and its `wishlist_updated` recorded there when something changed. */
  private async finish(tx: EntityManager, id: string, action: Action | null): Promise<WishlistView> {
    const wishlist = await loadWishlist(tx, id);
    if (action) {
      await this.deps.outbox.emit(tx, [{
        name: 'wishlist_updated', payload: { action, wishlist, timestamp: nowIso() }, route: { userId: wishlist.userId },
      }]);
    }
    return wishlist;
  }

  /** The user's wishlist id, and whether this call created it. */
  private async ensure(em: EntityManager, userId: string): Promise<{ id: string; created: boolean }> {
    const created = await createWishlist(em, userId);
    if (created !== null) return { id: created, created: true };
    return { id: await wishlistIdOf(em, userId), created: false };
  }

  private assertOwn(ownId: string, named: string | null | undefined): void {
    if (named == null || named === ownId) return;
    if (!idSchema.safeParse(named).success) throw notFound('Wishlist', named);
    throw forbidden('This wishlist is not yours');
  }

  private async assertTarget(em: EntityManager, productId: string, variant: { size: string; color: string } | null | undefined) {
    if (!(await productExists(em, productId))) throw notFound('Product', productId);
    if (variant) {
      if ((await variantIdOf(em, productId, variant)) === null) throw new AppError(ErrorCode.NOT_FOUND, `Variant ${variant.size}/${variant.color} not found`, { id: productId });
    }
  }
}
