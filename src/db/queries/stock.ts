import type { EntityManager } from '@mikro-orm/postgresql';

/** Stock: the SQL of stock changes (`shop_apply_stock`), its rows and their mapping to changes. */

export interface StockDelta {
  variantId: string;
  delta: number;
}

export interface StockChange {
  variantId: string;
  productId: string;
  productName: string;
  size: string;
  color: string;
  before: number;
  after: number;
  delta: number;
  lowStockThreshold: number;
}

/** A change as `shop_apply_stock` returns it. */
export type StockChangeRow = Omit<StockChange, 'before'>;

/** A variant a stock change or a cart line was refused for (the detail of an INSUFFICIENT_STOCK refusal). */
export interface ShortVariant {
  variantId: string;
  productId: string;
  productName: string;
  size: string;
  color: string;
  requested: number;
  available: number;
}

/** Stock changes as `shop_apply_stock` returns them. */
export function stockChanges(rows: StockChangeRow[]): StockChange[] {
  return rows.map((r) => ({ ...r, before: r.after - r.delta }));
}

/**
 * Applies all deltas in one statement (`shop_apply_stock`) and, when it changed anything, records
 * the changes as the fact `{changes}` in the same statement (`shop_record_fact`; `FactKind.call`
 * adds its parameter p_fact, the last one). Returns the changes; a refusal (SQLSTATE class `SH`)
 * is thrown as the database raised it, and nothing is recorded.
 */
export const APPLY_STOCK_SQL = `select c.changes,
    case when jsonb_array_length(c.changes) > 0 then shop_record_fact(f.p, jsonb_build_object('changes', c.changes)) end as fact
  from (select shop_apply_stock(?::jsonb) as changes offset 0) c, (select ?::jsonb as p) f`;

/** The parameters of APPLY_STOCK_SQL but the last (the fact). */
export const applyStockParams = (deltas: StockDelta[]) => [JSON.stringify(deltas.map((d) => ({ variant_id: d.variantId, delta: d.delta })))];

/** The SKUs of the given variants (those that exist). */
export async function variantSkus(em: EntityManager, variantIds: string[]): Promise<Array<{ id: string; sku: string }>> {
  return em.execute<Array<{ id: string; sku: string }>>(
    'select id::text as id, sku from product_variants where id in (select (jsonb_array_elements_text(?::jsonb))::uuid)', [JSON.stringify(variantIds)]);
}

/** The users whose wishlist holds the variant (a wishlist line with no size or colour matches any). */
export async function wishlistersOf(em: EntityManager, variant: { productId: string; size: string; color: string }): Promise<string[]> {
  const users = await em.execute<Array<{ user_id: string }>>(
    `select distinct w.user_id from wishlist_items i join wishlists w on w.id = i.wishlist_id
        where i.product_id = ? and (i.size = '' or i.size = ?) and (i.color = '' or i.color = ?)`,
    [variant.productId, variant.size, variant.color],
  );
  return users.map((u) => String(u.user_id));
}
