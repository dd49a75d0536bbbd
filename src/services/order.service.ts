import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { isAdmin, type Viewer } from '../auth/viewer';
import { shopRefusal } from '../db/shop-sql';
import { OrderStatus } from '../entities/order.entity';
import { badInput, conflict, forbidden, notFound } from '../errors';
import type { Order, OrderConnection } from '../schema/types/order.type';
import type { FactKind } from '../events/outbox';
import { toMoney, type ServiceDeps } from './context';
import type { DashboardService } from './dashboard.service';
import {
  CHECKOUT_SQL, checkoutParams, loadOrders, lockOrderStatus, moveOrderStatus, orderIdByKey, orderIdsPage, orderRestock, toOrderView,
  type CheckoutJson, type PlacedOrder,
} from '../db/queries/orders';
import { emptyCartView } from '../db/queries/carts';
import { stockChanges } from '../db/queries/stock';
import { StockService } from './stock.service';
import { connection, pageSize } from './pagination';
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
const ORDER_TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
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

/** What the relay gets of a placed order (recorded by the checkout statement itself, without the lines). */
interface PlacedFact {
  placed: Omit<PlacedOrder, 'lines'>;
  customer: { id: string; name: string; email: string };
  createdAt: string;
}

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
      [{ placed }] = await this.placed.call<{ placed: CheckoutJson }>(em, CHECKOUT_SQL,
        checkoutParams(viewer.id, key, data.shippingAddress, createdAt), { with: { customer, createdAt: createdAt.toISOString() } });
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
    const order = toOrderView({
      id: placed.id, user_id: viewer.id, order_number: placed.orderNumber, status: placed.status, total_cents: placed.totalCents,
      item_count: placed.itemCount, shipping_address: data.shippingAddress, tracking_carrier: null, tracking_number: null,
      estimated_delivery: null, created_at: createdAt, updated_at: createdAt, customer_name: viewer.name, customer_email: viewer.email,
    }, placed.lines, [{ status: placed.status, note: placed.note, at: createdAt }], isAdmin(viewer));
    await this.afterCommit('checkout', [() => this.dashboard.publishMetrics(['ordersToday', 'revenueToday'])]);
    return order;
  }

  private async findByKey(em: EntityManager, viewer: Viewer, key: string): Promise<Order | null> {
    const id = await orderIdByKey(em, viewer.id, key);
    return id ? (await this.load(em, [id], viewer))[0] : null;
  }

  /** The viewer's own orders, newest first. */
  async myOrders(viewer: Viewer, args: { first?: number | null; after?: string | null }): Promise<OrderConnection> {
    return this.page(viewer, { userId: viewer.id }, args);
  }

  /** Admin: every order, newest first, optionally in one status. */
  async allOrders(viewer: Viewer, args: { first?: number | null; after?: string | null; status?: OrderStatus | null }): Promise<OrderConnection> {
    const status = args.status == null ? null : parseInput(z.enum(OrderStatus), args.status, 'status');
    return this.page(viewer, { status }, args);
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
      const row = await lockOrderStatus(tx, orderId);
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
        await this.stock.apply(tx, await orderRestock(tx, orderId));
      }
      await moveOrderStatus(tx, orderId, { ...to, at: new Date() });
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
    filter: { userId?: string; status?: OrderStatus | null },
    args: { first?: number | null; after?: string | null },
  ): Promise<OrderConnection> {
    const first = pageSize(args.first);
    const em = this.deps.orm.em.fork();
    const { rows, totalCount } = await orderIdsPage(em, filter, first, args.after);
    const nodes = await this.load(em, rows.slice(0, first).map((r) => String(r.id)), viewer);
    return connection(nodes, (n) => n.createdAt, { first, fetched: rows.length, after: args.after, totalCount });
  }

  /** Orders by id, in the order given, with their lines and history; `customer` only for admins. */
  private load(em: EntityManager, ids: string[], viewer: Viewer): Promise<Array<Order & { userId: string }>> {
    return loadOrders(em, ids, isAdmin(viewer));
  }

  /** Post-commit work: the order stands whatever happens here, so failures are logged, not thrown. */
  private async afterCommit(what: string, jobs: Array<() => unknown>): Promise<void> {
    const results = await Promise.allSettled(jobs.map(async (job) => job()));
    for (const r of results) {
      if (r.status === 'rejected') this.deps.logger.error({ err: r.reason, what }, 'publishing after commit failed');
    }
  }
}
