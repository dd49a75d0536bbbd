import { ID } from 'type-graphql';
import {
  adminAudience, cartAudience, everyone, productAudience, supportAudience, userAudience, type Audience,
} from './audience';
import {
  AdminNotificationPayload, ConnectionStatsPayload, DashboardMetricUpdatePayload, ProductViewTrackedPayload,
  UserActivityTrackedPayload, UserOfflinePayload,
} from './payloads/admin.payload';
import {
  BackInStockAlertPayload, CartSyncPayload, CartUpdatedPayload, FlashSaleEventPayload, InventoryUpdatePayload,
  LowStockAlertPayload, NewOrderPayload, NewReviewNotificationPayload, OrderStatusUpdatePayload, PriceDropAlertPayload,
  ProductReviewAddedPayload, ProductStockUpdatePayload, WishlistUpdatedPayload,
} from './payloads/shop.payload';
import { NewSupportRequestPayload, SupportMessageReceivedPayload, UserTypingPayload } from './payloads/support.payload';

interface EventArg {
  name: string;
  type: () => unknown;
  nullable: boolean;
  description: string;
}

export interface EventDefinition<P = unknown> {
  /** Socket.IO event name, as in the events document. */
  name: string;
  /** GraphQL subscription field: the camelCase of `name`. */
  field: string;
  payload: new () => P;
  audience: Audience;
  /** Arguments of the subscription field (`after` included for durable events). */
  args: EventArg[];
  description: string;
  /**
   * Durable: recorded in the transaction of the change that raises it, carries `eventId`, replayable
   * (`after`, Socket.IO recovery). Otherwise a live signal: delivered to whoever is connected, never replayed.
   */
  durable: boolean;
}

/** The live signals: delivered to whoever is connected and never replayed. Every other event is durable. */
const LIVE_SIGNALS = new Set([
  'user_typing', 'connection_stats', 'dashboard_metric_update', 'product_view_tracked', 'user_activity_tracked', 'user_offline',
]);

/** The argument every durable subscription field takes: resume after this event. */
const afterArg: EventArg = {
  name: 'after', type: () => String, nullable: true,
  description: 'An `eventId`: first replay, in order, every later event of this field you are entitled to, then live ones. '
    + 'Defaults to `connectionParams.lastEventId`. Past the retention or unknown: RESYNC_REQUIRED.',
};

const camel = (s: string) => s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

function event<P>(
  name: string,
  payload: new () => P,
  audience: Audience,
  description: string,
  args: EventArg[] = [],
): EventDefinition<P> {
  const durable = !LIVE_SIGNALS.has(name);
  return { name, field: camel(name), payload, audience, args: durable ? [...args, afterArg] : args, description, durable };
}

const productIdArg: EventArg = { name: 'productId', type: () => ID, nullable: false, description: 'The product to follow.' };
const chatIdArg: EventArg = { name: 'chatId', type: () => ID, nullable: false, description: 'The support chat to follow.' };

/**
 * The catalogue: every server→client event of the events document, defined once. The GraphQL
 * subscription fields, the bridge's room routing and the Socket.IO typings all come from here.
 */
export const catalogue = {
  cart_updated: event('cart_updated', CartUpdatedPayload, cartAudience(),
    "Fired when the owner's cart changes (add, update, remove, clear, checkout); delivered to every device of the owner."),
  cart_sync: event('cart_sync', CartSyncPayload, cartAudience(),
    "Fired when the cart is replaced as a whole (batch update, merge); delivered to the owner's devices. A socket also gets it on `join_cart`."),
  inventory_update: event('inventory_update', InventoryUpdatePayload, everyone({ arg: 'productIds', routeKey: 'productId' }),
    'Fired after every stock change (checkout, cancel, restock, admin adjustment); delivered to everyone.',
    [{ name: 'productIds', type: () => [ID], nullable: true, description: 'Only these products (all when omitted).' }]),
  product_stock_update: event('product_stock_update', ProductStockUpdatePayload, productAudience(),
    "Fired after every stock change of a product's variant; delivered to the product's room.", [productIdArg]),
  low_stock_alert: event('low_stock_alert', LowStockAlertPayload, adminAudience(),
    "Fired when a variant's stock crosses down to its threshold (warning) or to zero (critical), once per crossing; admins only."),
  order_status_update: event('order_status_update', OrderStatusUpdatePayload, userAudience(),
    "Fired when an order changes status; delivered to the order's owner."),
  new_order: event('new_order', NewOrderPayload, adminAudience(), 'Fired when a checkout commits; admins only.'),
  flash_sale_start: event('flash_sale_start', FlashSaleEventPayload, everyone(),
    'Fired once when a flash sale starts (at its start time, across all instances); delivered to everyone.'),
  flash_sale_update: event('flash_sale_update', FlashSaleEventPayload, everyone(),
    'Fired when an admin changes a scheduled or running flash sale; delivered to everyone.'),
  flash_sale_end: event('flash_sale_end', FlashSaleEventPayload, everyone(),
    'Fired once when a flash sale ends (its end time or ended by an admin); delivered to everyone.'),
  new_review_notification: event('new_review_notification', NewReviewNotificationPayload, adminAudience(),
    'Fired when a customer submits a review awaiting moderation; admins only.'),
  product_review_added: event('product_review_added', ProductReviewAddedPayload, productAudience(),
    "Fired when an admin approves a review; delivered to the product's room with the new average.", [productIdArg]),
  wishlist_updated: event('wishlist_updated', WishlistUpdatedPayload, userAudience(),
    "Fired when the owner's wishlist changes; delivered to the owner."),
  price_drop_alert: event('price_drop_alert', PriceDropAlertPayload, userAudience(),
    "Fired when a wishlisted product's effective price falls (price change or flash sale); delivered to each wishlister."),
  back_in_stock_alert: event('back_in_stock_alert', BackInStockAlertPayload, userAudience(),
    'Fired when a variant of a wishlisted product goes from 0 to more; delivered to each wishlister.'),
  user_offline: event('user_offline', UserOfflinePayload, adminAudience(),
    "Fired once when a user's last connection on any instance closes or its heartbeat lapses; admins only."),
  support_message_received: event('support_message_received', SupportMessageReceivedPayload, supportAudience(),
    "Fired when a message is posted in a support chat; delivered to the chat's owner and admins in its room.", [chatIdArg]),
  new_support_request: event('new_support_request', NewSupportRequestPayload, adminAudience(),
    'Fired when a customer opens a support chat; admins only.'),
  user_typing: event('user_typing', UserTypingPayload, supportAudience(),
    'Fired when someone starts or stops typing in a support chat; delivered to the others in the chat.', [chatIdArg]),
  connection_stats: event('connection_stats', ConnectionStatsPayload, adminAudience(),
    'Fired on an interval (CONNECTION_STATS_INTERVAL_MS) with connections across all instances; admins only.'),
  dashboard_metric_update: event('dashboard_metric_update', DashboardMetricUpdatePayload, adminAudience(),
    'Fired when a dashboard metric changes (orders and revenue today, pending reviews, open chats, connections); admins only.'),
  admin_notification: event('admin_notification', AdminNotificationPayload, adminAudience(),
    'Fired for notable things (a variant sold out, a flash sale ended with its order count); admins only.'),
  product_view_tracked: event('product_view_tracked', ProductViewTrackedPayload, adminAudience(),
    'Fired when a product view is recorded; admins only.'),
  user_activity_tracked: event('user_activity_tracked', UserActivityTrackedPayload, adminAudience(),
    'Fired when a signed-in user reports activity (heartbeat); admins only.'),
} as const;

export type Catalogue = typeof catalogue;
export type EventName = keyof Catalogue;
export type PayloadOf<K extends EventName> = InstanceType<Catalogue[K]['payload']>;
export const eventList: EventDefinition[] = Object.values(catalogue);

/** The durable events' names (those that carry `eventId`). */
export type DurableEventName = {
  [K in EventName]: InstanceType<Catalogue[K]['payload']> extends { eventId: string } ? K : never
}[EventName];
/** The live signals' names. */
export type LiveEventName = Exclude<EventName, DurableEventName>;
/** A durable event's payload before the log gives it its position. */
export type DraftOf<K extends DurableEventName> = Omit<PayloadOf<K>, 'eventId'>;
