import type { EntityManager } from '@mikro-orm/postgresql';
import type { WishlistView } from '../../events/payloads/common.payload';
import { toMoney } from '../../services/context';

/** The wishlists' SQL: one wishlist per user, its items, and the users who wish for a product. */

/** One row of a wishlist's view: the wishlist, and one of its items (all item columns null when it has none). */
interface WishlistLineRow {
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

/** A new, empty wishlist for the user, or null when the user has one. */
export async function createWishlist(em: EntityManager, userId: string): Promise<string | null> {
  const inserted = await em.execute<Array<{ id: string }>>(
    `insert into wishlists (id, user_id, created_at, updated_at) values (gen_random_uuid(), ?, now(), now())
       on conflict (user_id) do nothing returning id::text as id`, [userId]);
  return inserted.length ? String(inserted[0].id) : null;
}

/** The id of the user's wishlist (which must exist). */
export async function wishlistIdOf(em: EntityManager, userId: string): Promise<string> {
  const [row] = await em.execute<Array<{ id: string }>>('select id::text as id from wishlists where user_id = ?', [userId]);
  return String(row.id);
}

/** Adds an item (size and colour '' for any); false when the wishlist has it already. */
export async function addItem(em: EntityManager, wishlistId: string, productId: string, size: string, color: string): Promise<boolean> {
  const inserted = await em.execute(
    `insert into wishlist_items (id, wishlist_id, product_id, size, color, added_at)
         values (gen_random_uuid(), ?, ?, ?, ?, now()) on conflict do nothing returning id`,
    [wishlistId, productId, size, color]);
  return inserted.length > 0;
}

/** Removes a product's entry of one variant, or every entry of the product without one; false when there was none. */
export async function removeItems(em: EntityManager, wishlistId: string, productId: string, variant: { size: string; color: string } | null | undefined): Promise<boolean> {
  const deleted = variant
    ? await em.execute('delete from wishlist_items where wishlist_id = ? and product_id = ? and size = ? and color = ? returning id',
      [wishlistId, productId, variant.size, variant.color])
    : await em.execute('delete from wishlist_items where wishlist_id = ? and product_id = ? returning id', [wishlistId, productId]);
  return deleted.length > 0;
}

/** Marks the wishlist changed now. */
export async function touchWishlist(em: EntityManager, wishlistId: string): Promise<void> {
  await em.execute('update wishlists set updated_at = now() where id = ?', [wishlistId]);
}

/** The users whose wishlist holds the product (in any variant). */
export async function wishlistersOf(em: EntityManager, productId: string): Promise<string[]> {
  const users = await em.execute<Array<{ user_id: string }>>(
    `select distinct w.user_id from wishlist_items i join wishlists w on w.id = i.wishlist_id where i.product_id = ?`, [productId]);
  return users.map((u) => String(u.user_id));
}

/** The view of a wishlist's rows (at least one: the wishlist's). */
function wishlistView(rows: WishlistLineRow[]): WishlistView {
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

/** A wishlist with its items in the order they were added, each at its effective price and with whether it is in stock. */
export async function loadWishlist(em: EntityManager, wishlistId: string): Promise<WishlistView> {
  const rows = await em.execute<WishlistLineRow[]>(
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
  return wishlistView(rows);
}
