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
import { existingProductIds } from '../db/queries/catalog';
import {
  addSaleProducts, clearSaleProducts, endDueSales, endSale, insertSale, listSales, loadSales, lockSale, ordersWithSaleProducts,
  pricesWithout, productsOfSale, productsOfSales, saleExists, startDueSales, updateSale,
} from '../db/queries/flash-sales';

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
      for (const s of await loadSales(em, fact.ids)) emit('flash_sale_start', this.payload(s, 'start', at));
      for (const d of fact.drops) await this.catalog.raisePriceDrop(d, emit, em, at);
    });
    this.ended = deps.outbox.define('flash_sales_ended', async (fact, emit, em, timestamp) => {
      for (const s of await loadSales(em, fact.ids)) {
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
      for (const s of await loadSales(em, [fact.id])) emit('flash_sale_update', this.payload(s, 'update', at));
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
      const ended = await endDueSales(tx);
      if (ended.length) await this.ended.record(tx, { ids: ended });
    });
  }

  private async startDue(): Promise<void> {
    const em = this.deps.orm.em.fork();
    await em.transactional(async (tx) => {
      const started = await startDueSales(tx);
      if (!started.length) return null;
      const ids = started.map((r) => r.id);
      const expired = started.filter((r) => r.expired).map((r) => r.id);
      const productIds = await productsOfSales(tx, ids);
      // Before: the sales active without this batch. After: with it, less those already over.
      const before = await pricesWithout(tx, productIds, ids);
      const after = await pricesWithout(tx, productIds, expired);
      await this.started.record(tx, { ids, drops: this.priceChanges(before, after) });
    });
  }

  /** Orders that bought any of the sale's products while it was active. */
  private async ordersDuring(em: EntityManager, s: FlashSale): Promise<number> {
    if (!s.startedAt || !s.endedAt) return 0;
    return ordersWithSaleProducts(em, s.id, s.startedAt, s.endedAt);
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
    return listSales(this.deps.orm.em.fork(), active);
  }

  async get(id: string): Promise<FlashSale> {
    if (!idSchema.safeParse(id).success) throw notFound('Flash sale', String(id));
    const [sale] = await loadSales(this.deps.orm.em.fork(), [id]);
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
      const saleId = await insertSale(tx, {
        name: data.name, description: data.description ?? '', discountPercentage: data.discountPercentage, startTime: data.startTime, endTime: data.endTime,
      });
      await addSaleProducts(tx, saleId, data.productIds);
      return saleId;
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
      const row = await lockSale(tx, saleId);
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
      const oldProducts = await productsOfSale(tx, saleId);
      const touched = [...new Set([...oldProducts, ...(data.productIds ?? [])])];
      const before = active ? await pricesWithout(tx, touched, []) : null;
      await updateSale(tx, saleId, {
        name: data.name ?? row.name, description: data.description ?? row.description,
        discountPercentage: data.discountPercentage ?? row.discount_percentage, startTime: start, endTime: end,
      });
      if (data.productIds) {
        await clearSaleProducts(tx, saleId);
        await addSaleProducts(tx, saleId, data.productIds);
      }
      const drops = before ? this.priceChanges(before, await pricesWithout(tx, touched, [])) : [];
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
      if (!(await endSale(tx, saleId))) {
        if (!(await saleExists(tx, saleId))) throw notFound('Flash sale', saleId);
        throw badInput('This flash sale has already ended', [{ path: 'id', message: 'the sale has ended' }]);
      }
      await this.ended.record(tx, { ids: [saleId] });
    });
    return this.get(saleId);
  }

  private async assertProducts(em: EntityManager, ids: string[]): Promise<void> {
    const found = await existingProductIds(em, ids);
    const missing = ids.filter((i) => !found.has(i));
    if (missing.length) throw notFound(missing.length === 1 ? 'Product' : `Products ${missing.join(', ')}`, missing[0]);
  }

  private payload(s: FlashSale, event: 'start' | 'update' | 'end', timestamp: string): DraftOf<'flash_sale_start'> {
    return {
      saleId: s.id, name: s.name, description: s.description, discountPercentage: s.discountPercentage,
      startTime: s.startTime, endTime: s.endTime, products: s.products, event, timestamp,
    };
  }
}
