import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { badInput, notFound } from '../errors';
import type { DraftOf } from '../events/catalogue';
import type { FactKind } from '../events/outbox';
import type { Product } from '../schema/types/product.type';
import type { FlashSale } from '../schema/types/flash-sale.type';
import type { CatalogService, PriceDrop } from './catalog.service';
import type { ServiceDeps } from './context';
import { id as idSchema, parseInput } from './validation';
import { every, type Loop } from '../lib/every';

const text = (max: number) => z.string().trim().min(1, 'is required').max(max);
const when = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time with a zone' }).transform((s) => new Date(s));
const percent = z.number().int('must be a whole number').min(1, 'must be at least 1').max(90, 'must be at most 90');
const productIds = z.array(idSchema).min(1, 'at least one product').max(500).transform((ids) => [...new Set(ids)]);

const createSchema = z.object({
  name: text(200),
  description: z.string().trim().max(2000).nullish(),
  discountPercentage: percent,
  startTime: when,
  endTime: when,
  productIds,
}).refine((d) => d.endTime > d.startTime, { path: ['endTime'], message: 'must be after startTime' })
  .refine((d) => d.endTime.getTime() > Date.now(), { path: ['endTime'], message: 'must be in the future' });

const updateSchema = z.object({
  name: text(200).nullish(),
  description: z.string().trim().max(2000).nullish(),
  discountPercentage: percent.nullish(),
  startTime: when.nullish(),
  endTime: when.nullish(),
  productIds: productIds.nullish(),
});

interface SaleRow {
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
  products: string[] | null;
}

const SALE_SELECT = `select fs.id, fs.name, fs.description, fs.discount_percentage, fs.start_time, fs.end_time, fs.state,
    fs.started_at, fs.ended_at, fs.created_at,
    coalesce(array_agg(fsp.product_id::text order by fsp.product_id) filter (where fsp.product_id is not null), '{}') as products
  from flash_sales fs left join flash_sale_products fsp on fsp.flash_sale_id = fs.id`;

const iso = (d: Date | string) => new Date(d).toISOString();
const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(',');

/**
 * Flash sales and their scheduler.
 *
 * Every state change (scheduled → active → ended) is one conditional UPDATE (`… where state =
 * 'scheduled' and start_time <= now()`), so each transition happens exactly once however many
 * instances tick at the same moment and across restarts; the instance whose UPDATE returned the
 * row is the one that records its events. The database clock is the only
 * clock. A sale whose start and end both passed while no instance ran is started and then ended
 * by the first tick after boot: `flash_sale_start` then `flash_sale_end` both fire (clients see
 * the whole lifecycle and admins get the `admin_notification`), but no `price_drop_alert` — that
 * price was never on offer.
 *
 * Each move records its events in its own transaction (the event log): a move that commits raises
 * them exactly once, even when the process dies right after the commit.
 */
export class FlashSaleService {
  private scheduler: Loop | null = null;

  /** Sales that started (with the price drops they brought), sales that ended, a sale an admin changed. */
  private readonly started: FactKind<{ ids: string[]; drops: PriceDrop[] }>;
  private readonly ended: FactKind<{ ids: string[] }>;
  private readonly updated: FactKind<{ id: string; drops: PriceDrop[] }>;

  constructor(private deps: ServiceDeps, private catalog: CatalogService) {
    this.started = deps.outbox.define('flash_sales_started', async (fact, emit, em, at) => {
      for (const s of await this.load(em, fact.ids)) emit('flash_sale_start', this.payload(s, 'start', at));
      for (const d of fact.drops) await this.catalog.raisePriceDrop(d, emit, em, at);
    });
    this.ended = deps.outbox.define('flash_sales_ended', async (fact, emit, em, timestamp) => {
      for (const s of await this.load(em, fact.ids)) {
        emit('flash_sale_end', this.payload(s, 'end', timestamp));
        const orders = await this.ordersDuring(em, s);
        emit('admin_notification', {
          type: 'flash_sale_ended',
          title: 'Flash sale ended',
          message: `Flash sale "${s.name}" ended: ${orders} ${orders === 1 ? 'order' : 'orders'} placed for its products during the sale`,
          severity: 'info',
          entityId: s.id,
          timestamp,
        });
      }
    });
    this.updated = deps.outbox.define('flash_sale_updated', async (fact, emit, em, at) => {
      for (const s of await this.load(em, [fact.id])) emit('flash_sale_update', this.payload(s, 'update', at));
      for (const d of fact.drops) await this.catalog.raisePriceDrop(d, emit, em, at);
    });
  }

  /** Starts this instance's scheduler: one catch-up tick now, then one every `flashSaleTickMs`. */
  async start(): Promise<void> {
    if (this.scheduler) return;
    this.scheduler = every(Math.max(10, this.deps.config.flashSaleTickMs), () => this.advance(), {
      what: 'flash sale tick', logger: this.deps.logger, immediately: true,
    });
    await this.scheduler.first;
  }

  /** Stops the scheduler and waits for a tick in progress. */
  async stop(): Promise<void> {
    const scheduler = this.scheduler;
    this.scheduler = null;
    await scheduler?.stop();
  }


  /** Starts every due scheduled sale, then ends every due active one; each move raises its events when it commits. */
  async advance(): Promise<void> {
    await this.startDue();
    await this.deps.orm.em.fork().transactional(async (tx) => {
      const ended = await tx.execute<Array<{ id: string }>>(
        `update flash_sales set state = 'ended', ended_at = now() where state = 'active' and end_time <= now() returning id`);
      if (ended.length) await this.ended.record(tx, { ids: ended.map((r) => String(r.id)) });
    });
  }

  private async startDue(): Promise<void> {
    const em = this.deps.orm.em.fork();
    await em.transactional(async (tx) => {
      const started = await tx.execute<Array<{ id: string; expired: boolean }>>(
        `update flash_sales set state = 'active', started_at = now()
          where state = 'scheduled' and start_time <= now()
        returning id, (end_time <= now()) as expired`);
      if (!started.length) return null;
      const ids = started.map((r) => String(r.id));
      const expired = started.filter((r) => r.expired).map((r) => String(r.id));
      const products = await tx.execute<Array<{ product_id: string }>>(
        `select distinct product_id::text as product_id from flash_sale_products where flash_sale_id in (${placeholders(ids.length)})`, ids);
      const productIds = products.map((p) => String(p.product_id));
      // Before: the sales active without this batch. After: with it, less those already over.
      const before = await this.prices(tx, productIds, ids);
      const after = await this.prices(tx, productIds, expired);
      await this.started.record(tx, { ids, drops: this.priceChanges(before, after) });
    });
  }

  /** Orders that bought any of the sale's products while it was active. */
  private async ordersDuring(em: EntityManager, s: FlashSale): Promise<number> {
    if (!s.startedAt || !s.endedAt) return 0;
    const [row] = await em.execute<Array<{ n: number }>>(
      `select count(distinct o.id)::int as n from orders o
         join order_items i on i.order_id = o.id
         join flash_sale_products fsp on fsp.product_id = i.product_id and fsp.flash_sale_id = ?
        where o.created_at >= ?::timestamptz and o.created_at <= ?::timestamptz`,
      [s.id, s.startedAt, s.endedAt]);
    return Number(row?.n ?? 0);
  }

  /** Each product's effective price in cents (src/db/functions/shop_price.sql) with the active sales, leaving out `exclude`. */
  private async prices(em: EntityManager, productIds: string[], exclude: string[]): Promise<Map<string, { name: string; cents: number }>> {
    if (!productIds.length) return new Map();
    const rows = await em.execute<Array<{ id: string; name: string; cents: number }>>(
      `select id::text as id, name, shop_price(id, price_cents, ?::uuid[]) as cents from products where id in (${placeholders(productIds.length)})`,
      [`{${exclude.join(',')}}`, ...productIds]);
    return new Map(rows.map((r) => [String(r.id), { name: String(r.name), cents: Number(r.cents) }]));
  }

  /** The products whose effective price falls from `before` to `after`. */
  private priceChanges(before: Map<string, { name: string; cents: number }>, after: Map<string, { name: string; cents: number }>): PriceDrop[] {
    const drops: PriceDrop[] = [];
    for (const [productId, now] of after) {
      const was = before.get(productId);
      if (was && now.cents < was.cents) drops.push({ productId, productName: now.name, oldCents: was.cents, newCents: now.cents });
    }
    return drops;
  }

  /** Sales, newest start first (at most 500); `active: true` only running ones, `false` only the others. */
  async list(active?: boolean | null): Promise<FlashSale[]> {
    const where = active === true ? `where fs.state = 'active'` : active === false ? `where fs.state <> 'active'` : '';
    const rows = await this.deps.orm.em.fork().execute<SaleRow[]>(
      `${SALE_SELECT} ${where} group by fs.id order by fs.start_time desc, fs.id limit 500`);
    return rows.map((r) => this.view(r));
  }

  async get(id: string): Promise<FlashSale> {
    if (!idSchema.safeParse(id).success) throw notFound('Flash sale', String(id));
    const [sale] = await this.load(this.deps.orm.em.fork(), [id]);
    if (!sale) throw notFound('Flash sale', id);
    return sale;
  }

  /** The products of a sale as catalogue entries (effective prices included); deleted ones are skipped. */
  async productDetails(productIds: string[]): Promise<Product[]> {
    const found = await Promise.all(productIds.map((id) => this.catalog.product(id).catch((err) => {
      if (err?.code === 'NOT_FOUND') return null;
      throw err;
    })));
    return found.filter((p): p is Product => p !== null);
  }

  /** Admin: schedules a sale; one whose start time is not in the future starts at once. */
  async create(input: unknown): Promise<FlashSale> {
    const data = parseInput(createSchema, input);
    const em = this.deps.orm.em.fork();
    const id = await em.transactional(async (tx) => {
      await this.assertProducts(tx, data.productIds);
      const [row] = await tx.execute<Array<{ id: string }>>(
        `insert into flash_sales (id, name, description, discount_percentage, start_time, end_time, state, created_at)
         values (gen_random_uuid(), ?, ?, ?, ?::timestamptz, ?::timestamptz, 'scheduled', now()) returning id`,
        [data.name, data.description ?? '', data.discountPercentage, data.startTime.toISOString(), data.endTime.toISOString()]);
      await this.setProducts(tx, String(row.id), data.productIds);
      return String(row.id);
    });
    if (data.startTime.getTime() <= Date.now()) await this.advance();
    return this.get(id);
  }

  /**
   * Admin: changes a scheduled sale freely, a running one except its start time; an ended sale is
   * BAD_USER_INPUT. Raises `flash_sale_update`, and `price_drop_alert` where a running sale now
   * lowers a product's effective price (a bigger discount, an added product).
   */
  async update(id: string, input: unknown): Promise<FlashSale> {
    const saleId = parseInput(idSchema, id, 'id');
    const data = parseInput(updateSchema, input);
    const em = this.deps.orm.em.fork();
    const result = await em.transactional(async (tx) => {
      const [row] = await tx.execute<SaleRow[]>(`select * from flash_sales where id = ? for update`, [saleId]);
      if (!row) throw notFound('Flash sale', saleId);
      if (row.state === 'ended') throw badInput('An ended flash sale cannot be changed', [{ path: 'id', message: 'the sale has ended' }]);
      const active = row.state === 'active';
      if (active && data.startTime && data.startTime.getTime() !== new Date(row.start_time).getTime()) {
        throw badInput('A running flash sale cannot change its start time', [{ path: 'startTime', message: 'the sale has started' }]);
      }
      const start = data.startTime ?? new Date(row.start_time);
      const end = data.endTime ?? new Date(row.end_time);
      if (end <= start) throw badInput('endTime must be after startTime', [{ path: 'endTime', message: 'must be after startTime' }]);
      if (data.endTime && end.getTime() <= Date.now()) throw badInput('endTime must be in the future', [{ path: 'endTime', message: 'must be in the future' }]);
      if (data.productIds) await this.assertProducts(tx, data.productIds);
      const oldProducts = (await tx.execute<Array<{ product_id: string }>>(
        'select product_id::text as product_id from flash_sale_products where flash_sale_id = ?', [saleId])).map((r) => String(r.product_id));
      const touched = [...new Set([...oldProducts, ...(data.productIds ?? [])])];
      const before = active ? await this.prices(tx, touched, []) : null;
      await tx.execute(
        `update flash_sales set name = ?, description = ?, discount_percentage = ?, start_time = ?::timestamptz, end_time = ?::timestamptz where id = ?`,
        [data.name ?? row.name, data.description ?? row.description, data.discountPercentage ?? row.discount_percentage,
          start.toISOString(), end.toISOString(), saleId]);
      if (data.productIds) {
        await tx.execute('delete from flash_sale_products where flash_sale_id = ?', [saleId]);
        await this.setProducts(tx, saleId, data.productIds);
      }
      const drops = before ? this.priceChanges(before, await this.prices(tx, touched, [])) : [];
      await this.updated.record(tx, { id: saleId, drops });
      return { startsNow: !active && start.getTime() <= Date.now() };
    });
    const sale = await this.get(saleId);
    if (result.startsNow) {
      await this.advance();
      return this.get(saleId);
    }
    return sale;
  }

  /** Admin: ends a scheduled or running sale now (`flash_sale_end`); an ended one is BAD_USER_INPUT. */
  async end(id: string): Promise<FlashSale> {
    const saleId = parseInput(idSchema, id, 'id');
    await this.deps.orm.em.fork().transactional(async (tx) => {
      const rows = await tx.execute<Array<{ id: string }>>(
        `update flash_sales set state = 'ended', ended_at = now(),
                end_time = case when state = 'active' and end_time > now() then now() else end_time end
          where id = ? and state <> 'ended' returning id`, [saleId]);
      if (!rows.length) {
        const exists = await tx.execute('select 1 from flash_sales where id = ?', [saleId]);
        if (!exists.length) throw notFound('Flash sale', saleId);
        throw badInput('This flash sale has already ended', [{ path: 'id', message: 'the sale has ended' }]);
      }
      await this.ended.record(tx, { ids: [saleId] });
    });
    return this.get(saleId);
  }

  private async assertProducts(em: EntityManager, ids: string[]): Promise<void> {
    const rows = await em.execute<Array<{ id: string }>>(`select id::text as id from products where id in (${placeholders(ids.length)})`, ids);
    const found = new Set(rows.map((r) => String(r.id)));
    const missing = ids.filter((i) => !found.has(i));
    if (missing.length) throw notFound(missing.length === 1 ? 'Product' : `Products ${missing.join(', ')}`, missing[0]);
  }

  private async setProducts(em: EntityManager, saleId: string, ids: string[]): Promise<void> {
    await em.execute(
      `insert into flash_sale_products (flash_sale_id, product_id) values ${ids.map(() => '(?, ?)').join(',')}`,
      ids.flatMap((p) => [saleId, p]));
  }

  private async load(em: EntityManager, ids: string[]): Promise<FlashSale[]> {
    if (!ids.length) return [];
    const rows = await em.execute<SaleRow[]>(`${SALE_SELECT} where fs.id in (${placeholders(ids.length)}) group by fs.id`, ids);
    const byId = new Map(rows.map((r) => [String(r.id), this.view(r)]));
    return ids.map((i) => byId.get(i)).filter((s): s is FlashSale => !!s);
  }

  private view(r: SaleRow): FlashSale {
    return {
      id: String(r.id), name: r.name, description: r.description, discountPercentage: Number(r.discount_percentage),
      startTime: iso(r.start_time), endTime: iso(r.end_time), products: (r.products ?? []).map(String), state: r.state,
      startedAt: r.started_at ? iso(r.started_at) : null, endedAt: r.ended_at ? iso(r.ended_at) : null, createdAt: iso(r.created_at),
    };
  }

  private payload(s: FlashSale, event: 'start' | 'update' | 'end', timestamp: string): DraftOf<'flash_sale_start'> {
    return {
      saleId: s.id, name: s.name, description: s.description, discountPercentage: s.discountPercentage,
      startTime: s.startTime, endTime: s.endTime, products: s.products, event, timestamp,
    };
  }
}
