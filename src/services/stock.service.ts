import type { EntityManager } from '@mikro-orm/postgresql';
import { shopRefusal } from '../db/shop-sql';
import { AppError, ErrorCode } from '../errors';
import type { Emit, FactKind } from '../events/outbox';
import {
  APPLY_STOCK_SQL, applyStockParams, stockChanges, variantSkus, wishlistersOf, type ShortVariant, type StockChange, type StockChangeRow, type StockDelta,
} from '../db/queries/stock';
import type { ServiceDeps } from './context';

/** SKUs remembered (see `skusOf`); the map starts over when it would pass this size. */
const KNOWN_SKUS_MAX = 100_000;

/**
 * Stock changes go through the database function `shop_apply_stock` (the only code that changes
 * stock; checkout calls it from inside `shop_checkout`): one conditional UPDATE per variant, safe
 * under READ COMMITTED on any number of instances, taken in variant-id order so concurrent
 * multi-variant checkouts cannot deadlock; `CHECK (stock >= 0)` is the backstop.
 */
export class StockService {
  private readonly skus = new Map<string, string>();
  /** Stock changes a transaction made: their events are raised when it commits. */
  private readonly changed: FactKind<{ changes: StockChangeRow[] }>;

  constructor(deps: ServiceDeps) {
    this.changed = deps.outbox.define('stock_changed', (fact, emit, em, at) => this.raise(stockChanges(fact.changes), emit, em, at));
  }

  /**
   * Applies all deltas in one round trip, their events' fact included, or throws INSUFFICIENT_STOCK
   * naming every short variant (nothing changes). In the caller's transaction when `em` is in one;
   * otherwise the statement commits by itself.
   */
  async apply(em: EntityManager, deltas: StockDelta[]): Promise<StockChange[]> {
    if (!deltas.length) return [];
    let rows: Array<{ changes: StockChangeRow[] }>;
    try {
      rows = await this.changed.call(em, APPLY_STOCK_SQL, applyStockParams(deltas), { with: {} });
    } catch (err) {
      throw StockService.refusal(err) ?? err;
    }
    return stockChanges(rows[0].changes);
  }

  /** The INSUFFICIENT_STOCK error for a refusal of `shop_apply_stock` (or null when `err` is something else). */
  static refusal(err: unknown): AppError | null {
    const refusal = shopRefusal(err);
    if (refusal?.reason !== 'INSUFFICIENT_STOCK') return null;
    const variants = refusal.detail.variants as ShortVariant[];
    const names = variants.map((v) => `${v.productName} ${v.size}/${v.color} (available ${v.available})`).join(', ');
    return new AppError(ErrorCode.INSUFFICIENT_STOCK, `Not enough stock for: ${names}`, { variants });
  }

  /**
   * The events of committed stock changes (the relay calls this): every change to everyone and to
   * the product's room, threshold crossings to admins, 0 → more to the variant's wishlisters.
   */
  async raise(changes: StockChange[], emit: Emit, em: EntityManager, timestamp: string): Promise<void> {
    const skus = await this.skusOf(em, changes.map((c) => c.variantId));
    for (const c of changes) {
      const variant = { size: c.size, color: c.color };
      // The variant as the catalogue queries return it, with the stock this change left.
      const productVariant = { id: c.variantId, size: c.size, color: c.color, sku: skus.get(c.variantId) ?? '', stock: c.after, inStock: c.after > 0 };
      emit('inventory_update', { productId: c.productId, variant, stockChange: c.delta, timestamp, productVariant }, { productId: c.productId });
      emit('product_stock_update', {
        productId: c.productId, variant, stock: c.after, stockChange: c.delta, inStock: c.after > 0, timestamp, productVariant,
      }, { productId: c.productId });
      const severity = c.after === 0 && c.before > 0
        ? 'critical'
        : c.after > 0 && c.after <= c.lowStockThreshold && c.before > c.lowStockThreshold ? 'warning' : null;
      if (severity) {
        emit('low_stock_alert', {
          productId: c.productId, productName: c.productName, variant, currentStock: c.after,
          lowStockThreshold: c.lowStockThreshold, severity, timestamp,
        });
      }
      if (severity === 'critical') {
        emit('admin_notification', {
          type: 'out_of_stock', title: 'Variant sold out', severity: 'critical', entityId: c.productId, timestamp,
          message: `${c.productName} ${c.size}/${c.color} is out of stock`,
        });
      }
      if (c.before === 0 && c.after > 0) await this.backInStock(c, timestamp, emit, em);
    }
  }

  /**
   * Variant SKUs for the events' `productVariant`. A SKU is set when its variant is created and
   * never changes, so each is read once per process (the relay of a busy shop reads none).
   */
  private async skusOf(em: EntityManager, variantIds: string[]): Promise<Map<string, string>> {
    const missing = [...new Set(variantIds.filter((id) => !this.skus.has(id)))];
    if (missing.length) {
      const rows = await variantSkus(em, missing);
      if (this.skus.size + rows.length > KNOWN_SKUS_MAX) this.skus.clear();
      for (const r of rows) this.skus.set(r.id, r.sku);
    }
    return this.skus;
  }

  private async backInStock(c: StockChange, timestamp: string, emit: Emit, em: EntityManager): Promise<void> {
    for (const userId of await wishlistersOf(em, c)) {
      emit('back_in_stock_alert', {
        productId: c.productId, productName: c.productName, variant: { size: c.size, color: c.color }, stock: c.after, timestamp,
      }, { userId });
    }
  }
}
