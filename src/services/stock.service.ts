import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError, ErrorCode } from '../errors';
import { nowIso, type ServiceDeps } from './context';

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

export interface ShortVariant {
  variantId: string;
  productId: string;
  productName: string;
  size: string;
  color: string;
  requested: number;
  available: number;
}

/**
 * The only code that changes stock. Each change is one conditional UPDATE (safe under READ
 * COMMITTED on any number of instances), taken in variant-id order so concurrent multi-variant
 * checkouts cannot deadlock; `CHECK (stock >= 0)` is the backstop.
 */
export class StockService {
  constructor(private deps: ServiceDeps) {}

  /** Applies all deltas inside the caller's transaction, or throws INSUFFICIENT_STOCK naming every short variant. */
  async apply(em: EntityManager, deltas: StockDelta[]): Promise<StockChange[]> {
    const merged = new Map<string, number>();
    for (const d of deltas) merged.set(d.variantId, (merged.get(d.variantId) ?? 0) + d.delta);
    const ordered = [...merged.entries()].filter(([, d]) => d !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const changes: StockChange[] = [];
    const short: Array<{ variantId: string; delta: number }> = [];
    for (const [variantId, delta] of ordered) {
      const rows = await em.execute<Array<Record<string, unknown>>>(
        `update product_variants v set stock = v.stock + ?
           from products p
          where v.id = ? and p.id = v.product_id and v.stock + ? >= 0
        returning v.id, v.product_id, v.size, v.color, v.stock, p.name, p.low_stock_threshold`,
        [delta, variantId, delta],
      );
      const row = rows[0];
      if (!row) {
        short.push({ variantId, delta });
        continue;
      }
      const after = Number(row.stock);
      changes.push({
        variantId, delta, after, before: after - delta,
        productId: String(row.product_id), productName: String(row.name),
        size: String(row.size), color: String(row.color), lowStockThreshold: Number(row.low_stock_threshold),
      });
    }
    if (short.length) {
      const info = await em.execute<Array<Record<string, unknown>>>(
        `select v.id, v.product_id, v.size, v.color, v.stock, p.name from product_variants v
           join products p on p.id = v.product_id where v.id in (${short.map(() => '?').join(',')})`,
        short.map((s) => s.variantId),
      );
      const byId = new Map(info.map((r) => [String(r.id), r]));
      const variants: ShortVariant[] = short.map((s) => {
        const r = byId.get(s.variantId);
        return {
          variantId: s.variantId,
          productId: String(r?.product_id ?? ''),
          productName: String(r?.name ?? ''),
          size: String(r?.size ?? ''),
          color: String(r?.color ?? ''),
          requested: -s.delta,
          available: Number(r?.stock ?? 0),
        };
      });
      const names = variants.map((v) => `${v.productName} ${v.size}/${v.color} (available ${v.available})`).join(', ');
      throw new AppError(ErrorCode.INSUFFICIENT_STOCK, `Not enough stock for: ${names}`, { variants });
    }
    return changes;
  }

  /** Raises the events of committed stock changes: never call before the transaction commits. */
  async publish(changes: StockChange[]): Promise<void> {
    const { hub } = this.deps;
    const timestamp = nowIso();
    const jobs: Promise<unknown>[] = [];
    for (const c of changes) {
      const variant = { size: c.size, color: c.color };
      jobs.push(hub.publish('inventory_update', { productId: c.productId, variant, stockChange: c.delta, timestamp }, { productId: c.productId }));
      jobs.push(hub.publish('product_stock_update', {
        productId: c.productId, variant, stock: c.after, stockChange: c.delta, inStock: c.after > 0, timestamp,
      }, { productId: c.productId }));
      const severity = c.after === 0 && c.before > 0
        ? 'critical'
        : c.after > 0 && c.after <= c.lowStockThreshold && c.before > c.lowStockThreshold ? 'warning' : null;
      if (severity) {
        jobs.push(hub.publish('low_stock_alert', {
          productId: c.productId, productName: c.productName, variant, currentStock: c.after,
          lowStockThreshold: c.lowStockThreshold, severity, timestamp,
        }));
      }
      if (severity === 'critical') {
        jobs.push(hub.publish('admin_notification', {
          type: 'out_of_stock', title: 'Variant sold out', severity: 'critical', entityId: c.productId, timestamp,
          message: `${c.productName} ${c.size}/${c.color} is out of stock`,
        }));
      }
      if (c.before === 0 && c.after > 0) jobs.push(this.backInStock(c, timestamp));
    }
    await Promise.all(jobs);
  }

  private async backInStock(c: StockChange, timestamp: string): Promise<void> {
    const em = this.deps.orm.em.fork();
    const users = await em.execute<Array<{ user_id: string }>>(
      `select distinct w.user_id from wishlist_items i join wishlists w on w.id = i.wishlist_id
        where i.product_id = ? and (i.size = '' or i.size = ?) and (i.color = '' or i.color = ?)`,
      [c.productId, c.size, c.color],
    );
    await Promise.all(users.map((u) => this.deps.hub.publish('back_in_stock_alert', {
      productId: c.productId, productName: c.productName, variant: { size: c.size, color: c.color }, stock: c.after, timestamp,
    }, { userId: u.user_id })));
  }
}
