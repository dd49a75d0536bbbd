import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { AppError, ErrorCode, forbidden, notFound } from '../errors';
import type { WishlistView } from '../events/payloads/common.payload';
import { nowIso, toMoney, type ServiceDeps } from './context';
import { id as idSchema, parseInput, variantSchema } from './validation';

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

interface LineRow {
  id: string;
  user_id: string;
  updated_at: Date;
  product_id: string | null;
  product_name: string | null;
  size: string | null;
  color: string | null;
  added_at: Date | null;
  /** The effective price. */
  price_cents: number | null;
  in_stock: boolean | null;
}

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
      const inserted = await tx.execute(
        `insert into wishlist_items (id, wishlist_id, product_id, size, color, added_at)
         values (gen_random_uuid(), ?, ?, ?, ?, now()) on conflict do nothing returning id`,
        [w.id, t.productId, size, color]);
      if (inserted.length) await tx.execute('update wishlists set updated_at = now() where id = ?', [w.id]);
      return this.finish(tx, w.id, w.created ? 'wishlist_created' : inserted.length ? 'item_added' : null);
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
      const deleted = t.variant
        ? await tx.execute('delete from wishlist_items where wishlist_id = ? and product_id = ? and size = ? and color = ? returning id',
          [w.id, t.productId, t.variant.size, t.variant.color])
        : await tx.execute('delete from wishlist_items where wishlist_id = ? and product_id = ? returning id', [w.id, t.productId]);
      if (deleted.length) await tx.execute('update wishlists set updated_at = now() where id = ?', [w.id]);
      return this.finish(tx, w.id, w.created ? 'wishlist_created' : deleted.length ? 'item_removed' : null);
    });
  }

  /** The wishlist as it stands in the transaction, and its `wishlist_updated` recorded there when something changed. */
  private async finish(tx: EntityManager, id: string, action: Action | null): Promise<WishlistView> {
    const wishlist = await this.view(tx, id);
    if (action) {
      await this.deps.outbox.emit(tx, [{
        name: 'wishlist_updated', payload: { action, wishlist, timestamp: nowIso() }, route: { userId: wishlist.userId },
      }]);
    }
    return wishlist;
  }

  /** The user's wishlist id, and whether this call created it. */
  private async ensure(em: EntityManager, userId: string): Promise<{ id: string; created: boolean }> {
    const inserted = await em.execute<Array<{ id: string }>>(
      `insert into wishlists (id, user_id, created_at, updated_at) values (gen_random_uuid(), ?, now(), now())
       on conflict (user_id) do nothing returning id::text as id`, [userId]);
    if (inserted.length) return { id: String(inserted[0].id), created: true };
    const [row] = await em.execute<Array<{ id: string }>>('select id::text as id from wishlists where user_id = ?', [userId]);
    return { id: String(row.id), created: false };
  }

  private assertOwn(ownId: string, named: string | null | undefined): void {
    if (named == null || named === ownId) return;
    if (!idSchema.safeParse(named).success) throw notFound('Wishlist', named);
    throw forbidden('This wishlist is not yours');
  }

  private async assertTarget(em: EntityManager, productId: string, variant: { size: string; color: string } | null | undefined) {
    const product = await em.execute('select 1 from products where id = ?', [productId]);
    if (!product.length) throw notFound('Product', productId);
    if (variant) {
      const v = await em.execute('select 1 from product_variants where product_id = ? and size = ? and color = ?', [productId, variant.size, variant.color]);
      if (!v.length) throw new AppError(ErrorCode.NOT_FOUND, `Variant ${variant.size}/${variant.color} not found`, { id: productId });
    }
  }

  private async view(em: EntityManager, wishlistId: string): Promise<WishlistView> {
    const rows = await em.execute<LineRow[]>(
      `select w.id::text as id, w.user_id::text as user_id, w.updated_at, i.product_id::text as product_id, p.name as product_name,
              i.size, i.color, i.added_at, shop_price(p.id, p.price_cents) as price_cents,
              exists (select 1 from product_variants v where v.product_id = p.id and v.stock > 0
                        and (i.size = '' or v.size = i.size) and (i.color = '' or v.color = i.color)) as in_stock
         from wishlists w
         left join wishlist_items i on i.wishlist_id = w.id
         left join products p on p.id = i.product_id
        where w.id = ?
        order by i.added_at, i.id`,
      [wishlistId]);
    const first = rows[0];
    const items = rows.filter((r) => r.product_id).map((r) => ({
      productId: String(r.product_id),
      productName: String(r.product_name),
      variant: r.size || r.color ? { size: String(r.size), color: String(r.color) } : null,
      price: toMoney(Number(r.price_cents)),
      inStock: !!r.in_stock,
      addedAt: new Date(r.added_at!).toISOString(),
    }));
    return {
      id: String(first.id),
      userId: String(first.user_id),
      items,
      itemCount: items.length,
      updatedAt: new Date(first.updated_at).toISOString(),
    };
  }
}
