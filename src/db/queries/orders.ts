import type { EntityManager } from '@mikro-orm/postgresql';
import type { OrderStatus } from '../../entities/order.entity';
import type { Order } from '../../schema/types/order.type';
import { toMoney } from '../../services/context';
import { keysetPage } from '../../services/pagination';
import type { StockChangeRow, StockDelta } from './stock';

/** Orders: the SQL of checkout (`shop_checkout`), order reads (and today's totals for the dashboard) and status moves, their rows and the order view. */

/** An order as `loadOrders` reads it (orders.* with its customer's name and email). */
export interface OrderRow {
  id: string;
  order_number: string;
  user_id: string;
  status: OrderStatus;
  total_cents: number;
  item_count: number;
  shipping_address: Order['shippingAddress'];
  estimated_delivery: Date | null;
  tracking_carrier: string | null;
  tracking_number: string | null;
  created_at: Date;
  updated_at: Date;
  customer_name: string;
  customer_email: string;
}

/** An order line as stored (the snake_case columns of order_items). */
export type OrderItemRow = Record<string, unknown>;
/** A status change as stored (order_status_history), or as just written (`at` a Date). */
export type StatusHistoryRow = Record<string, unknown>;

/** The order `shop_checkout` placed. */
export interface PlacedOrder {
  id: string;
  orderNumber: string;
  /** What a new order starts as (set by shop_checkout). */
  status: OrderStatus;
  note: string;
  totalCents: number;
  itemCount: number;
  /** The order's lines as stored. */
  lines: OrderItemRow[];
  changes: StockChangeRow[];
  cartId: string;
  cartUpdatedAt: string;
}

/** What `shop_checkout` returns: the first order of a replayed key, or the order it placed. */
export type CheckoutJson = { replay: string } | PlacedOrder;

/**
 * `shop_checkout(user, idempotency key, shipping address, created at, fact)`: the whole checkout in one
 * statement, its own transaction, the placed order's fact included. Run through `FactKind.call` with `checkoutParams`.
 */
export const CHECKOUT_SQL = `select x - 'fact' as placed, x->'fact' as fact from shop_checkout(?, ?, ?::jsonb, ?, ?::jsonb) x`;

/** The parameters of CHECKOUT_SQL but the last (the fact, which `FactKind.call` adds). */
export function checkoutParams(userId: string, key: string | null, shippingAddress: unknown, createdAt: Date): unknown[] {
  return [userId, key, JSON.stringify(shippingAddress), createdAt];
}

/** The id of the user's order placed with this idempotency key, or null. */
export async function orderIdByKey(em: EntityManager, userId: string, key: string): Promise<string | null> {
  const rows = await em.execute<Array<{ id: string }>>('select id from orders where user_id = ? and idempotency_key = ?', [userId, key]);
  return rows.length ? String(rows[0].id) : null;
}

/** What a status move checks, read under the order's row lock (`for update`, in `em`'s transaction); undefined when there is no such order. */
export async function lockOrderStatus(
  em: EntityManager, orderId: string,
): Promise<{ user_id: string; status: OrderStatus; order_number: string } | undefined> {
  const [row] = await em.execute<Array<{ user_id: string; status: OrderStatus; order_number: string }>>(
    'select user_id, status, order_number from orders where id = ? for update', [orderId]);
  return row;
}

/** The stock an order's lines took (lines whose variant still exists), as deltas that return it. */
export async function orderRestock(em: EntityManager, orderId: string): Promise<StockDelta[]> {
  const items = await em.execute<Array<{ variant_id: string; quantity: number }>>(
    'select variant_id, quantity from order_items where order_id = ? and variant_id is not null', [orderId]);
  return items.map((i) => ({ variantId: String(i.variant_id), delta: Number(i.quantity) }));
}

/** Moves an order to `status` at `at`, keeping its history: tracking and estimated delivery change only when given. */
export async function moveOrderStatus(em: EntityManager, orderId: string, to: {
  status: OrderStatus; note: string | null; at: Date;
  tracking?: { carrier: string; trackingNumber: string } | null; estimatedDelivery?: Date | null;
}): Promise<void> {
  await em.execute(
    `update orders set status = ?, updated_at = ?,
                tracking_carrier = coalesce(?, tracking_carrier), tracking_number = coalesce(?, tracking_number),
                estimated_delivery = coalesce(?, estimated_delivery)
          where id = ?`,
    [to.status, to.at, to.tracking?.carrier ?? null, to.tracking?.trackingNumber ?? null, to.estimatedDelivery ?? null, orderId],
  );
  await em.execute('insert into order_status_history (order_id, status, note, at) values (?, ?, ?, ?)', [orderId, to.status, to.note, to.at]);
}

/**
 * One keyset page of order ids, newest first, in (created_at, id) order (stable under inserts):
 * a user's orders, or every order (optionally in one status).
 */
export async function orderIdsPage(
  em: EntityManager, filter: { userId?: string; status?: OrderStatus | null }, first: number, after?: string | null,
): Promise<{ rows: Array<{ id: string }>; totalCount: number }> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.userId != null) { where.push('o.user_id = ?'); params.push(filter.userId); }
  if (filter.status != null) { where.push('o.status = ?'); params.push(filter.status); }
  return keysetPage<{ id: string }>(em, {
    select: 'select o.id from orders o', countFrom: 'from orders o', alias: 'o', where, params, order: 'desc', first, after,
  });
}

/** Orders by id, in the order given (missing ones left out), with their lines and history; `customer` only when `admin`. */
export async function loadOrders(em: EntityManager, ids: string[], admin: boolean): Promise<Array<Order & { userId: string }>> {
  if (!ids.length) return [];
  const marks = ids.map(() => '?').join(',');
  const orders = await em.execute<OrderRow[]>(
    `select o.*, u.name as customer_name, u.email as customer_email from orders o join users u on u.id = o.user_id where o.id in (${marks})`, ids);
  const items = await em.execute<OrderItemRow[]>(
    `select * from order_items where order_id in (${marks}) order by position`, ids);
  const history = await em.execute<StatusHistoryRow[]>(
    `select order_id, status, note, at from order_status_history where order_id in (${marks}) order by at, seq`, ids);
  const byId = new Map(orders.map((o) => [String(o.id), o]));
  return ids.filter((id) => byId.has(id)).map((id) =>
    toOrderView(byId.get(id)!, items.filter((i) => i.order_id === id), history.filter((h) => h.order_id === id), admin));
}

/** "Today" is the current UTC calendar day; cancelled and refunded orders do not count. */
const TODAY_ORDERS_SQL = `select count(*)::int as n, coalesce(sum(total_cents), 0)::bigint as cents from orders
  where created_at >= date_trunc('day', now() at time zone 'utc') at time zone 'utc'
    and status not in ('cancelled', 'refunded')`;

/** Today's orders (the current UTC day, cancelled and refunded ones left out): how many, and their total in cents. */
export async function todayOrders(em: EntityManager): Promise<{ count: number; cents: number }> {
  const [r] = await em.execute<Array<{ n: number; cents: string | number }>>(TODAY_ORDERS_SQL);
  return { count: Number(r.n), cents: Number(r.cents) };
}

const iso = (d: Date | string | null) => (d == null ? null : new Date(d).toISOString());

/** An order as clients see it, from its rows (read back, or just written). */
export function toOrderView(o: OrderRow, items: OrderItemRow[], history: StatusHistoryRow[], admin: boolean): Order & { userId: string } {
  return {
    id: String(o.id),
    userId: String(o.user_id),
    orderNumber: o.order_number,
    status: o.status,
    items: items.map((i) => ({
      productId: i.product_id == null ? null : String(i.product_id),
      productName: String(i.product_name),
      variant: { size: String(i.size), color: String(i.color) },
      sku: String(i.sku),
      unitPrice: toMoney(Number(i.unit_price_cents)),
      quantity: Number(i.quantity),
      lineTotal: toMoney(Number(i.unit_price_cents) * Number(i.quantity)),
    })),
    totalAmount: toMoney(Number(o.total_cents)),
    itemCount: Number(o.item_count),
    shippingAddress: { ...o.shipping_address, line2: o.shipping_address.line2 ?? null },
    statusHistory: history.map((h) => ({
      status: String(h.status), note: h.note == null ? null : String(h.note), timestamp: iso(h.at as Date)!,
    })),
    tracking: o.tracking_carrier && o.tracking_number ? { carrier: o.tracking_carrier, trackingNumber: o.tracking_number } : null,
    estimatedDelivery: iso(o.estimated_delivery),
    createdAt: iso(o.created_at)!,
    updatedAt: iso(o.updated_at)!,
    customer: admin ? { id: String(o.user_id), name: o.customer_name, email: o.customer_email } : null,
  };
}
