import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { isAdmin, type Viewer } from '../auth/viewer';
import { shopRefusal } from '../db/shop-sql';
import { OrderStatus } from '../entities/order.entity';
import { badInput, conflict, forbidden, notFound } from '../errors';
import type { Order, OrderConnection } from '../schema/types/order.type';
import { emptyCartView } from '../db/queries/carts';
import type { FactKind } from '../events/outbox';
import { toMoney, type ServiceDeps } from './context';
import type { DashboardService } from './dashboard.service';
import { stockChanges, type StockChangeRow } from '../db/queries/stock';
import { StockService } from './stock.service';
import { connection, keysetPage, pageSize } from './pagination';
import { id as idSchema, parseInput } from './validation';

const text = (max: number) => z.string().trim().min(1, 'is required').max(max, `at most ${max} characters`);

const checkoutSchema = z.object({
  shippingAddress: z.object({
    name: text(200),
    line1: text(200),
    line2: z.string().trim().max(200).nullish().transform((v) => v || null),
    city: text(100),
    postalCode: text(20),
    country: text(60),
  }),
  idempotencyKey: text(200).nullish(),
});

const updateStatusSchema = z.object({
  orderId: z.string(),
  status: z.enum(OrderStatus),
  note: z.string().trim().max(1000).nullish().transform((v) => v || null),
  tracking: z.object({ carrier: text(100), trackingNumber: text(100) }).nullish(),
  estimatedDelivery: z.string().max(64).refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 time').nullish(),
});

/**
 * The order status machine. Anything not listed is BAD_USER_INPUT. Cancelling returns
 * the stock; refunding a delivered order does not (the goods left the warehouse).
 */
export const ORDER_TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending: [OrderStatus.confirmed, OrderStatus.cancelled],
  confirmed: [OrderStatus.processing, OrderStatus.cancelled],
  processing: [OrderStatus.shipped, OrderStatus.cancelled],
  shipped: [OrderStatus.delivered],
  delivered: [OrderStatus.refunded],
  cancelled: [],
  refunded: [],
};

export const canMove = (from: OrderStatus, to: OrderStatus) => ORDER_TRANSITIONS[from].includes(to);

/** Statuses whose entry changes what the dashboard counts as today's orders and revenue. */
const REVENUE_CHANGING = new Set<OrderStatus>([OrderStatus.cancelled, OrderStatus.refunded]);

interface OrderRow {
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

/** What `shop_checkout` returns: the first order of a replayed key, or the order it placed. */
type CheckoutJson =
  | { replay: string }
  | {
      id: string;
      orderNumber: string;
      /** What a new order starts as (set by shop_checkout). */
      status: OrderStatus;
      note: string;
      totalCents: number;
      itemCount: number;
      /** The order's lines as stored (snake_case columns of order_items). */
      lines: Array<Record<string, unknown>>;
      changes: StockChangeRow[];
      cartId: string;
      cartUpdatedAt: string;
    };

/** What the relay gets of a placed order (recorded by the checkout statement itself, without the lines). */
interface PlacedFact {
  placed: Omit<Exclude<CheckoutJson, { replay: string }>, 'lines'>;
  customer: { id: string; name: string; email: string };
  createdAt: string;
}

const iso = (d: Date | string | null) => (d == null ? null : new Date(d).toISOString());

/** An order as its owner reads it (`customer` is for admins), for the owner's events. */
const ownerView = ({ userId: _owner, ...order }: Order & { userId?: string }): Order => ({ ...order, customer: null });


/** Checkout and orders: all writes in one transaction each, their events recorded in them. */
export class OrderService {
  /** A placed order: `new_order`, its stock changes and the emptied cart, raised when it commits. */
  private readonly placed: FactKind<PlacedFact>;

  constructor(
    private deps: ServiceDeps,
    private stock: StockService,
    private dashboard: DashboardService,
  ) {
    this.placed = deps.outbox.define<PlacedFact>('order_placed', async ({ placed, customer, createdAt }, emit, em, at) => {
      emit('new_order', {
        orderId: placed.id, orderNumber: placed.orderNumber, customer, totalAmount: toMoney(placed.totalCents),
        itemCount: placed.itemCount, status: placed.status, timestamp: createdAt,
      });
      await this.stock.raise(stockChanges(placed.changes), emit, em, at);
      const cart = emptyCartView(customer.id, { id: placed.cartId, updatedAt: new Date(placed.cartUpdatedAt).toISOString() });
      emit('cart_updated', { action: 'updated', cart, timestamp: at }, { userId: customer.id });
    });
  }

  /**
   * Turns the viewer's cart into a pending order, all or nothing: stock taken through StockService
   * (INSUFFICIENT_STOCK naming the short variants changes nothing), unit prices snapshotted with the
   * active flash-sale discount, the cart emptied. The same idempotency key from the same user
   * returns the first order, also when the retries run concurrently on several instances.
   */
  async checkout(viewer: Viewer, input: unknown): Promise<Order> {
    const data = parseInput(checkoutSchema, input);
    const key = data.idempotencyKey ?? null;
    const em = this.deps.orm.em.fork();
    const createdAt = new Date();
    const customer = { id: viewer.id, name: viewer.name, email: viewer.email };
    let placed: CheckoutJson;
    try {
      // The whole checkout is one statement (shop_checkout): one round trip, its own transaction, and
      // the placed order recorded for its events in the same statement.
      [{ placed }] = await this.placed.call<{ placed: CheckoutJson }>(em, 'select shop_checkout(?, ?, ?::jsonb, ?, ?::jsonb) as placed',
        [viewer.id, key, JSON.stringify(data.shippingAddress), createdAt], { with: { customer, createdAt: createdAt.toISOString() } });
    } catch (err) {
      if (key && err instanceof UniqueConstraintViolationException) {
        const existing = await this.findByKey(this.deps.orm.em.fork(), viewer, key);
        if (existing) return existing;
        throw conflict('A checkout with this idempotency key is still in progress', { field: 'idempotencyKey' });
      }
      if (shopRefusal(err)?.reason === 'EMPTY_CART') throw badInput('Your cart is empty', [{ path: 'cart', message: 'is empty' }]);
      throw StockService.refusal(err) ?? err;
    }
    if ('replay' in placed) return (await this.load(em, [placed.replay], viewer))[0];
    const order = this.view({
      id: placed.id, user_id: viewer.id, order_number: placed.orderNumber, status: placed.status, total_cents: placed.totalCents,
      item_count: placed.itemCount, shipping_address: data.shippingAddress, tracking_carrier: null, tracking_number: null,
      estimated_delivery: null, created_at: createdAt, updated_at: createdAt, customer_name: viewer.name, customer_email: viewer.email,
    }, placed.lines, [{ status: placed.status, note: placed.note, at: createdAt }], isAdmin(viewer));
    await this.afterCommit('checkout', [() => this.dashboard.publishMetrics(['ordersToday', 'revenueToday'])]);
    return order;
  }

  private async findByKey(em: EntityManager, viewer: Viewer, key: string): Promise<Order | null> {
    const rows = await em.execute<Array<{ id: string }>>('select id from orders where user_id = ? and idempotency_key = ?', [viewer.id, key]);
    if (!rows.length) return null;
    return (await this.load(em, [String(rows[0].id)], viewer))[0];
  }

  /** The viewer's own orders, newest first. */
  async myOrders(viewer: Viewer, args: { first?: number | null; after?: string | null }): Promise<OrderConnection> {
    return this.page(viewer, ['o.user_id = ?'], [viewer.id], args);
  }

  /** Admin: every order, newest first, optionally in one status. */
  async allOrders(viewer: Viewer, args: { first?: number | null; after?: string | null; status?: OrderStatus | null }): Promise<OrderConnection> {
    const status = args.status == null ? null : parseInput(z.enum(OrderStatus), args.status, 'status');
    return status ? this.page(viewer, ['o.status = ?'], [status], args) : this.page(viewer, [], [], args);
  }

  /**
   * One order: its owner's, or any for admins. Someone else's order is NOT_FOUND, exactly like a
   * missing one, so ids cannot be probed for existence.
   */
  async order(viewer: Viewer, orderId: string): Promise<Order> {
    if (!idSchema.safeParse(orderId).success) throw notFound('Order', String(orderId));
    const em = this.deps.orm.em.fork();
    const [order] = await this.load(em, [orderId], viewer);
    if (!order || !this.visible(viewer, order)) throw notFound('Order', orderId);
    return order;
  }

  /** The owner cancels their own order while it is pending; the stock returns. */
  async cancel(viewer: Viewer, orderId: string): Promise<Order> {
    return this.move(viewer, orderId, { status: OrderStatus.cancelled, note: 'Cancelled by the customer' }, (row) => {
      if (row.user_id !== viewer.id) {
        if (isAdmin(viewer)) throw forbidden('Admins cancel orders with updateOrderStatus');
        throw notFound('Order', orderId);
      }
      if (row.status !== OrderStatus.pending) {
        throw badInput(`Order ${row.order_number} is ${row.status}: only pending orders can be cancelled by the customer`,
          [{ path: 'orderId', message: `order is ${row.status}` }]);
      }
    });
  }

  /** Admin: moves an order along the status machine, with an optional note, tracking and estimated delivery. */
  async updateStatus(viewer: Viewer, input: unknown): Promise<Order> {
    const data = parseInput(updateStatusSchema, input);
    return this.move(viewer, data.orderId, {
      status: data.status,
      note: data.note,
      tracking: data.tracking ?? null,
      estimatedDelivery: data.estimatedDelivery ? new Date(data.estimatedDelivery) : null,
    }, () => undefined);
  }

  /**
   * One status move under the order's row lock (concurrent moves queue, so each is checked against
   * the status the previous one left), kept in the history, its events recorded in the same transaction.
   */
  private async move(
    viewer: Viewer,
    orderId: string,
    to: { status: OrderStatus; note: string | null; tracking?: { carrier: string; trackingNumber: string } | null; estimatedDelivery?: Date | null },
    authorize: (row: { user_id: string; status: OrderStatus; order_number: string }) => void,
  ): Promise<Order> {
    if (!idSchema.safeParse(orderId).success) throw notFound('Order', String(orderId));
    const em = this.deps.orm.em.fork();
    const order = await em.transactional(async (tx) => {
      const [row] = await tx.execute<Array<{ user_id: string; status: OrderStatus; order_number: string }>>(
        'select user_id, status, order_number from orders where id = ? for update', [orderId]);
      if (!row) throw notFound('Order', orderId);
      authorize(row);
      if (!canMove(row.status, to.status)) {
        const allowed = ORDER_TRANSITIONS[row.status];
        throw badInput(
          `Order ${row.order_number} cannot move from ${row.status} to ${to.status}` +
            (allowed.length ? ` (allowed: ${allowed.join(', ')})` : ` (${row.status} is final)`),
          [{ path: 'status', message: `cannot move from ${row.status} to ${to.status}` }],
        );
      }
      if (to.status === OrderStatus.cancelled) {
        const items = await tx.execute<Array<{ variant_id: string; quantity: number }>>(
          'select variant_id, quantity from order_items where order_id = ? and variant_id is not null', [orderId]);
        await this.stock.apply(tx, items.map((i) => ({ variantId: String(i.variant_id), delta: Number(i.quantity) })));
      }
      const at = new Date();
      await tx.execute(
        `update orders set status = ?, updated_at = ?,
                tracking_carrier = coalesce(?, tracking_carrier), tracking_number = coalesce(?, tracking_number),
                estimated_delivery = coalesce(?, estimated_delivery)
          where id = ?`,
        [to.status, at, to.tracking?.carrier ?? null, to.tracking?.trackingNumber ?? null, to.estimatedDelivery ?? null, orderId],
      );
      await tx.execute('insert into order_status_history (order_id, status, note, at) values (?, ?, ?, ?)', [orderId, to.status, to.note, at]);
      const [order] = await this.load(tx, [orderId], viewer);
      await this.deps.outbox.emit(tx, [{
        name: 'order_status_update',
        payload: {
          orderId: order.id, orderNumber: order.orderNumber, status: order.status, statusHistory: order.statusHistory,
          estimatedDelivery: order.estimatedDelivery, tracking: order.tracking, timestamp: order.updatedAt,
          order: ownerView(order),
        },
        route: { userId: String(row.user_id) },
      }]);
      return order;
    });
    await this.afterCommit('order status move', [
      () => (REVENUE_CHANGING.has(order.status) ? this.dashboard.publishMetrics(['ordersToday', 'revenueToday']) : undefined),
    ]);
    return order;
  }

  private visible(viewer: Viewer, order: Order & { userId?: string }): boolean {
    return isAdmin(viewer) || order.userId === viewer.id;
  }

  /** A Relay page of orders, newest first, in (created_at, id) order: stable under inserts. */
  private async page(
    viewer: Viewer,
    where: string[],
    params: unknown[],
    args: { first?: number | null; after?: string | null },
  ): Promise<OrderConnection> {
    const first = pageSize(args.first);
    const em = this.deps.orm.em.fork();
    const { rows, totalCount } = await keysetPage<{ id: string }>(em, {
      select: 'select o.id from orders o', countFrom: 'from orders o', alias: 'o', where, params, order: 'desc', first, after: args.after,
    });
    const nodes = await this.load(em, rows.slice(0, first).map((r) => String(r.id)), viewer);
    return connection(nodes, (n) => n.createdAt, { first, fetched: rows.length, after: args.after, totalCount });
  }

  /** Orders by id, in the order given, with their lines and history; `customer` only for admins. */
  private async load(em: EntityManager, ids: string[], viewer: Viewer): Promise<Array<Order & { userId: string }>> {
    if (!ids.length) return [];
    const marks = ids.map(() => '?').join(',');
    const orders = await em.execute<OrderRow[]>(
      `select o.*, u.name as customer_name, u.email as customer_email from orders o join users u on u.id = o.user_id where o.id in (${marks})`, ids);
    const items = await em.execute<Array<Record<string, unknown>>>(
      `select * from order_items where order_id in (${marks}) order by position`, ids);
    const history = await em.execute<Array<Record<string, unknown>>>(
      `select order_id, status, note, at from order_status_history where order_id in (${marks}) order by at, seq`, ids);
    const byId = new Map(orders.map((o) => [String(o.id), o]));
    return ids.filter((id) => byId.has(id)).map((id) =>
      this.view(byId.get(id)!, items.filter((i) => i.order_id === id), history.filter((h) => h.order_id === id), isAdmin(viewer)));
  }

  /** An order as clients see it, from its rows (read back, or just written). */
  private view(o: OrderRow, items: Array<Record<string, unknown>>, history: Array<Record<string, unknown>>, admin: boolean): Order & { userId: string } {
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

  /** Post-commit work: the order stands whatever happens here, so failures are logged, not thrown. */
  private async afterCommit(what: string, jobs: Array<() => unknown>): Promise<void> {
    const results = await Promise.allSettled(jobs.map(async (job) => job()));
    for (const r of results) {
      if (r.status === 'rejected') this.deps.logger.error({ err: r.reason, what }, 'publishing after commit failed');
    }
  }
}
