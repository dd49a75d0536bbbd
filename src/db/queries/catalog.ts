import type { EntityManager } from '@mikro-orm/postgresql';
import { keysetPage } from '../../services/pagination';

/**
 * The catalogue's SQL: products, their variants and effective prices (src/db/functions/shop_price.sql,
 * shop_discount.sql). The entities (src/entities/) serve the rest.
 */

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(',');

/** A product's effective price now, and the discount in it (src/db/functions/shop_price.sql). */
export interface Pricing {
  priceCents: number;
  discount: number;
}

/** Whether a product of this id exists. */
export async function productExists(em: EntityManager, productId: string): Promise<boolean> {
  const rows = await em.execute('select 1 from products where id = ?', [productId]);
  return rows.length > 0;
}

/** Which of `ids` are products. */
export async function existingProductIds(em: EntityManager, ids: string[]): Promise<Set<string>> {
  const rows = await em.execute<Array<{ id: string }>>(`select id::text as id from products where id in (${placeholders(ids.length)})`, ids);
  return new Set(rows.map((r) => String(r.id)));
}

/** The effective price and discount per product id, as the database defines them. */
export async function productPricing(em: EntityManager, productIds: string[]): Promise<Map<string, Pricing>> {
  if (!productIds.length) return new Map();
  const rows = await em.execute<Array<{ id: string; price: number; discount: number }>>(
    `select id::text as id, shop_price(id, price_cents) as price, shop_discount(id) as discount
         from products where id in (${productIds.map(() => '?').join(',')})`,
    productIds,
  );
  return new Map(rows.map((r) => [String(r.id), { priceCents: Number(r.price), discount: Number(r.discount) }]));
}

/** A product's effective price at its current base price (`oldCents`) and at `newCents`, and its discount. */
export async function repricing(em: EntityManager, productId: string, oldCents: number, newCents: number): Promise<{ oldCents: number; newCents: number; discount: number }> {
  const [price] = await em.execute<Array<{ old: number; new: number; discount: number }>>(
    'select shop_price(?, ?) as old, shop_price(?, ?) as new, shop_discount(?) as discount', [productId, oldCents, productId, newCents, productId]);
  return { oldCents: Number(price.old), newCents: Number(price.new), discount: Number(price.discount) };
}

/** The id of a product's variant of this size and colour, if it has one. */
export async function variantIdOf(em: EntityManager, productId: string, v: { size: string; color: string }): Promise<string | null> {
  const rows = await em.execute<Array<{ id: string }>>(
    'select id from product_variants where product_id = ? and size = ? and color = ?', [productId, v.size, v.color]);
  return rows.length ? String(rows[0].id) : null;
}

/** The catalogue's filter, already validated (prices in cents). */
export interface ProductSearch {
  search?: string | null;
  category?: string | null;
  brand?: string | null;
  size?: string | null;
  color?: string | null;
  minCents?: number | null;
  maxCents?: number | null;
  inStock?: boolean | null;
}

/** The conditions on `products p` (and their parameters) of a catalogue filter. */
function productWhere(f: ProductSearch): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.search) {
    where.push(`(p.name ilike ? or p.brand ilike ? or p.description ilike ?)`);
    const like = `%${f.search.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
    params.push(like, like, like);
  }
  if (f.category) { where.push('lower(p.category) = lower(?)'); params.push(f.category); }
  if (f.brand) { where.push('lower(p.brand) = lower(?)'); params.push(f.brand); }
  if (f.size || f.color || f.inStock != null) {
    const cond: string[] = ['v.product_id = p.id'];
    const condParams: unknown[] = [];
    if (f.size) { cond.push('v.size = ?'); condParams.push(f.size); }
    if (f.color) { cond.push('lower(v.color) = lower(?)'); condParams.push(f.color); }
    const matching = `select 1 from product_variants v where ${cond.join(' and ')}`;
    if (f.inStock === true) {
      where.push(`exists (${matching} and v.stock > 0)`); params.push(...condParams);
    } else if (f.inStock === false) {
      where.push(`exists (${matching}) and not exists (${matching} and v.stock > 0)`); params.push(...condParams, ...condParams);
    } else {
      where.push(`exists (${matching})`); params.push(...condParams);
    }
  }
  const eff = 'shop_price(p.id, p.price_cents)';
  if (f.minCents != null) { where.push(`${eff} >= ?`); params.push(f.minCents); }
  if (f.maxCents != null) { where.push(`${eff} <= ?`); params.push(f.maxCents); }
  return { where, params };
}

/** One keyset page (in (created_at, id) order) of the ids of the products matching `filter`, and how many match. */
export async function productIdPage(em: EntityManager, filter: ProductSearch, page: { first: number; after?: string | null }): Promise<{ ids: string[]; fetched: number; totalCount: number }> {
  const { where, params } = productWhere(filter);
  const { rows, totalCount } = await keysetPage<{ id: string }>(em, {
    select: 'select p.id from products p', countFrom: 'from products p', alias: 'p', where, params, order: 'asc', first: page.first, after: page.after,
  });
  return { ids: rows.slice(0, page.first).map((r) => String(r.id)), fetched: rows.length, totalCount };
}
