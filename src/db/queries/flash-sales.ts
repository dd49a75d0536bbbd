import type { EntityManager } from '@mikro-orm/postgresql';
import type { FlashSale } from '../../schema/types/flash-sale.type';

/**
 * The flash sales' SQL: the sales, their products, the conditional UPDATEs that move a sale from
 * scheduled to active to ended (each happens once, whichever instance runs it), and the effective
 * prices with a chosen set of sales left out (src/db/functions/shop_price.sql).
 */

/** A flash sale's row. */
interface SaleRecord {
  id: string;
  name: string;
  description: string;
  discount_percentage: number;
  start_time: Date;
  end_time: Date;
  state: 'scheduled' | 'active' | 'ended';
  started_at: Date | null;
  ended_at: Date | null;
  created_at: Date;
}

/** A flash sale's row with its product ids. */
interface SaleRow extends SaleRecord {
  products: string[] | null;
}

const SALE_SELECT = `select fs.id, fs.name, fs.description, fs.discount_percentage, fs.start_time, fs.end_time, fs.state,
    fs.started_at, fs.ended_at, fs.created_at,
    coalesce(array_agg(fsp.product_id::text order by fsp.product_id) filter (where fsp.product_id is not null), '{}') as products
  from flash_sales fs left join flash_sale_products fsp on fsp.flash_sale_id = fs.id`;

const iso = (d: Date | string) => new Date(d).toISOString();
const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(',');

function saleView(r: SaleRow): FlashSale {
  return {
    id: String(r.id), name: r.name, description: r.description, discountPercentage: Number(r.discount_percentage),
    startTime: iso(r.start_time), endTime: iso(r.end_time), products: (r.products ?? []).map(String), state: r.state,
    startedAt: r.started_at ? iso(r.started_at) : null, endedAt: r.ended_at ? iso(r.ended_at) : null, createdAt: iso(r.created_at),
  };
}

/** The sales of these ids, in the order of `ids`; unknown ids are skipped. */
export async function loadSales(em: EntityManager, ids: string[]): Promise<FlashSale[]> {
  if (!ids.length) return [];
  const rows = await em.execute<SaleRow[]>(`${SALE_SELECT} where fs.id in (${placeholders(ids.length)}) group by fs.id`, ids);
  const byId = new Map(rows.map((r) => [String(r.id), saleView(r)]));
  return ids.map((i) => byId.get(i)).filter((s): s is FlashSale => !!s);
}

/** Sales, newest start first (at most 500); `active: true` only running ones, `false` only the others. */
export async function listSales(em: EntityManager, active?: boolean | null): Promise<FlashSale[]> {
  const where = active === true ? `where fs.state = 'active'` : active === false ? `where fs.state <> 'active'` : '';
  const rows = await em.execute<SaleRow[]>(
    `${SALE_SELECT} ${where} group by fs.id order by fs.start_time desc, fs.id limit 500`);
  return rows.map(saleView);
}

/** Ends every active sale whose end time passed: their ids. */
export async function endDueSales(em: EntityManager): Promise<string[]> {
  const ended = await em.execute<Array<{ id: string }>>(
    `update flash_sales set state = 'ended', ended_at = now() where state = 'active' and end_time <= now() returning id`);
  return ended.map((r) => String(r.id));
}

/** Starts every scheduled sale whose start time passed: their ids, and whether each is already over. */
export async function startDueSales(em: EntityManager): Promise<Array<{ id: string; expired: boolean }>> {
  const started = await em.execute<Array<{ id: string; expired: boolean }>>(
    `update flash_sales set state = 'active', started_at = now()
          where state = 'scheduled' and start_time <= now()
        returning id, (end_time <= now()) as expired`);
  return started.map((r) => ({ id: String(r.id), expired: !!r.expired }));
}

/** Ends a scheduled or running sale now (a running one's end time becomes now); false when there is no such sale that has not ended. */
export async function endSale(em: EntityManager, id: string): Promise<boolean> {
  const rows = await em.execute<Array<{ id: string }>>(
    `update flash_sales set state = 'ended', ended_at = now(),
                end_time = case when state = 'active' and end_time > now() then now() else end_time end
          where id = ? and state <> 'ended' returning id`, [id]);
  return rows.length > 0;
}

export async function saleExists(em: EntityManager, id: string): Promise<boolean> {
  const exists = await em.execute('select 1 from flash_sales where id = ?', [id]);
  return exists.length > 0;
}

/** The sale's row, locked for update in `em`'s transaction. */
export async function lockSale(em: EntityManager, id: string): Promise<SaleRecord | undefined> {
  const [row] = await em.execute<SaleRecord[]>(`select * from flash_sales where id = ? for update`, [id]);
  return row;
}

/** The products of these sales, each once. */
export async function productsOfSales(em: EntityManager, saleIds: string[]): Promise<string[]> {
  const products = await em.execute<Array<{ product_id: string }>>(
    `select distinct product_id::text as product_id from flash_sale_products where flash_sale_id in (${placeholders(saleIds.length)})`, saleIds);
  return products.map((p) => String(p.product_id));
}

/** The products of one sale. */
export async function productsOfSale(em: EntityManager, saleId: string): Promise<string[]> {
  return (await em.execute<Array<{ product_id: string }>>(
    'select product_id::text as product_id from flash_sale_products where flash_sale_id = ?', [saleId])).map((r) => String(r.product_id));
}

/** Inserts a scheduled sale: its id. */
export async function insertSale(em: EntityManager, s: { name: string; description: string; discountPercentage: number; startTime: Date; endTime: Date }): Promise<string> {
  const [row] = await em.execute<Array<{ id: string }>>(
    `insert into flash_sales (id, name, description, discount_percentage, start_time, end_time, state, created_at)
         values (gen_random_uuid(), ?, ?, ?, ?::timestamptz, ?::timestamptz, 'scheduled', now()) returning id`,
    [s.name, s.description, s.discountPercentage, s.startTime.toISOString(), s.endTime.toISOString()]);
  return String(row.id);
}

/** Sets a sale's name, description, discount and times. */
export async function updateSale(em: EntityManager, id: string, s: { name: string; description: string; discountPercentage: number; startTime: Date; endTime: Date }): Promise<void> {
  await em.execute(
    `update flash_sales set name = ?, description = ?, discount_percentage = ?, start_time = ?::timestamptz, end_time = ?::timestamptz where id = ?`,
    [s.name, s.description, s.discountPercentage, s.startTime.toISOString(), s.endTime.toISOString(), id]);
}

/** Adds products (not yet in it) to a sale. */
export async function addSaleProducts(em: EntityManager, saleId: string, ids: string[]): Promise<void> {
  await em.execute(
    `insert into flash_sale_products (flash_sale_id, product_id) values ${ids.map(() => '(?, ?)').join(',')}`,
    ids.flatMap((p) => [saleId, p]));
}

/** Removes every product from a sale. */
export async function clearSaleProducts(em: EntityManager, saleId: string): Promise<void> {
  await em.execute('delete from flash_sale_products where flash_sale_id = ?', [saleId]);
}

/** Orders that bought any of the sale's products between `from` and `to`. */
export async function ordersWithSaleProducts(em: EntityManager, saleId: string, from: string, to: string): Promise<number> {
  const [row] = await em.execute<Array<{ n: number }>>(
    `select count(distinct o.id)::int as n from orders o
         join order_items i on i.order_id = o.id
         join flash_sale_products fsp on fsp.product_id = i.product_id and fsp.flash_sale_id = ?
        where o.created_at >= ?::timestamptz and o.created_at <= ?::timestamptz`,
    [saleId, from, to]);
  return Number(row?.n ?? 0);
}

/** Each product's name and effective price in cents with the active sales, leaving out the sales `exclude`. */
export async function pricesWithout(em: EntityManager, productIds: string[], exclude: string[]): Promise<Map<string, { name: string; cents: number }>> {
  if (!productIds.length) return new Map();
  const rows = await em.execute<Array<{ id: string; name: string; cents: number }>>(
    `select id::text as id, name, shop_price(id, price_cents, ?::uuid[]) as cents from products where id in (${placeholders(productIds.length)})`,
    [`{${exclude.join(',')}}`, ...productIds]);
  return new Map(rows.map((r) => [String(r.id), { name: String(r.name), cents: Number(r.cents) }]));
}
