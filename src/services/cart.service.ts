import type { EntityManager } from '@mikro-orm/postgresql';
import { shopRefusal } from '../db/shop-sql';
import { z } from 'zod';
import type { CartView } from '../events/payloads/common.payload';
import type { FactKind } from '../events/outbox';
import { AppError, badInput, ErrorCode, notFound } from '../errors';
import { toMoney, type ServiceDeps } from './context';
import type { ShortVariant } from '../db/queries/stock';
import { id as idSchema, parseInput, variantSchema } from './validation';

/** A cart as `shop_cart_view` returns it (unit prices: the effective price, in cents). */
interface CartJson {
  id: string;
  updatedAt: string;
  items: Array<{
    productId: string;
    productName: string;
    size: string;
    color: string;
    sku: string;
    quantity: number;
    unitPriceCents: number;
    stock: number;
  }>;
}

/** The most units of one variant a cart line may hold. */
export const MAX_LINE_QUANTITY = 99;
/** The most items one `cart_batch_update` / `updateCart` may carry. */
export const MAX_BATCH_ITEMS = 100;

const lineQuantity = (min: number) =>
  z.number().int('must be a whole number').min(min, `must be at least ${min}`).max(MAX_LINE_QUANTITY, `must be at most ${MAX_LINE_QUANTITY}`);

/** `addToCart` / `cart_add_item`: quantity defaults to 1 when omitted; an explicit null is refused. */
export const addItemSchema = z.object({
  productId: idSchema,
  variant: variantSchema,
  quantity: lineQuantity(1).optional().transform((q) => q ?? 1),
});
/** `updateCartItem`: the line's new quantity; 0 removes it. */
export const setItemSchema = z.object({ productId: idSchema, variant: variantSchema, quantity: lineQuantity(0) });
/** `removeFromCart` / `cart_remove_item`. */
export const removeItemSchema = z.object({ productId: idSchema, variant: variantSchema });

const batchItemSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('add'), productId: idSchema, variant: variantSchema, quantity: lineQuantity(1) }),
  z.object({ action: z.literal('set'), productId: idSchema, variant: variantSchema, quantity: lineQuantity(0) }),
  z.object({ action: z.literal('remove'), productId: idSchema, variant: variantSchema, quantity: z.number().nullish() }),
]);
/** `updateCart` / `cart_batch_update`: 1–100 add/set/remove items, applied all or nothing. */
export const batchSchema = z
  .array(batchItemSchema)
  .min(1, 'at least one item')
  .max(MAX_BATCH_ITEMS, `at most ${MAX_BATCH_ITEMS} items`);

export type AddItemInput = z.input<typeof addItemSchema>;
export type SetItemInput = z.input<typeof setItemSchema>;
export type RemoveItemInput = z.input<typeof removeItemSchema>;
type CartOp = z.output<typeof batchItemSchema> | { action: 'clear' };

type CartAction = 'item_added' | 'item_removed' | 'updated';

/** A cart's id and last change, as `shop_checkout` reports the cart it emptied. */
export interface CartStamp {
  id: string;
  updatedAt: string;
}

/** Carts: one per user, lines per variant. Every change (and checkout) locks the cart row, so a user's changes apply one at a time. */
/** What the relay gets of one cart change (recorded by the cart statement itself). */
interface CartChangedFact {
  r: { changed: boolean; cart: CartJson };
  userId: string;
  action: CartAction;
  batch: boolean;
}

export class CartService {
  private readonly changed: FactKind<CartChangedFact>;

  constructor(private deps: ServiceDeps) {
    this.changed = deps.outbox.define<CartChangedFact>('cart_changed', ({ r, userId, action, batch }, emit, _em, timestamp) => {
      const cart = this.view(userId, r.cart);
      // A batch replaces the cart as a whole (`cart_sync`); a single change is `cart_updated`.
      if (batch) emit('cart_sync', { cart, timestamp }, { userId });
      else emit('cart_updated', { action, cart, timestamp }, { userId });
    });
  }

  /** The whole cart as clients see it (an empty one when the user has none yet). */
  async getCart(userId: string, em: EntityManager = this.deps.orm.em.fork()): Promise<CartView> {
    await this.ensureCart(em, userId);
    const [{ cart }] = await em.execute<Array<{ cart: CartJson }>>('select shop_cart_view(?) as cart', [userId]);
    return this.view(userId, cart);
  }

  /** A cart as clients see it: unit prices with the active flash-sale discount, money in the shop's currency. */
  private view(userId: string, cart: CartJson): CartView {
    const items = cart.items.map((r) => {
      const unit = r.unitPriceCents;
      return {
        productId: r.productId, productName: r.productName, variant: { size: r.size, color: r.color }, sku: r.sku,
        quantity: r.quantity, unitPrice: toMoney(unit), lineTotal: toMoney(unit * r.quantity), available: r.stock,
      };
    });
    const subtotalCents = items.reduce((s, i) => s + Math.round(i.lineTotal * 100), 0);
    return {
      id: String(cart.id),
      userId,
      items,
      itemCount: items.reduce((s, i) => s + i.quantity, 0),
      subtotal: toMoney(subtotalCents),
      updatedAt: new Date(cart.updatedAt).toISOString(),
    };
  }

  /**
   * The user's cart id, creating the (empty) cart on first use. A read of an existing cart writes
   * nothing; two first uses at once both end with the one row the unique user_id lets in.
   */
  async ensureCart(em: EntityManager, userId: string): Promise<string> {
    const existing = await em.execute<Array<{ id: string }>>('select id from carts where user_id = ?', [userId]);
    if (existing.length) return String(existing[0].id);
    const inserted = await em.execute<Array<{ id: string }>>(
      `insert into carts (id, user_id, updated_at) values (gen_random_uuid(), ?, now())
       on conflict (user_id) do nothing returning id`,
      [userId],
    );
    if (inserted.length) return String(inserted[0].id);
    const raced = await em.execute<Array<{ id: string }>>('select id from carts where user_id = ?', [userId]);
    return String(raced[0].id);
  }

  /** The cart right after it was emptied in the caller's transaction (checkout), without reading it back. */
  emptyView(userId: string, cart: CartStamp): CartView {
    return { id: cart.id, userId, items: [], itemCount: 0, subtotal: 0, updatedAt: cart.updatedAt };
  }

  /** Adds units of a variant (`addToCart`, `cart_add_item`); the line may not exceed the stock. */
  async addItem(userId: string, input: AddItemInput): Promise<CartView> {
    const data = parseInput(addItemSchema, input);
    return this.change(userId, 'item_added', { action: 'add', ...data });
  }

  /** Sets a line's quantity (`updateCartItem`); 0 removes the line. */
  async updateItem(userId: string, input: SetItemInput): Promise<CartView> {
    const data = parseInput(setItemSchema, input);
    return this.change(userId, data.quantity === 0 ? 'item_removed' : 'updated', { action: 'set', ...data });
  }

  /** Removes a line (`removeFromCart`, `cart_remove_item`); removing a line that is not there changes nothing. */
  async removeItem(userId: string, input: RemoveItemInput): Promise<CartView> {
    const data = parseInput(removeItemSchema, input);
    return this.change(userId, 'item_removed', { action: 'remove', ...data });
  }

  /** Empties the cart (`clearCart`). */
  async clear(userId: string): Promise<CartView> {
    return this.change(userId, 'updated', { action: 'clear' });
  }

  /**
   * Applies add/set/remove items in order, all or nothing (`updateCart`, `cart_batch_update`). The
   * cart is then replaced as a whole on the owner's devices: `cart_sync`.
   */
  async applyBatch(userId: string, input: unknown): Promise<CartView> {
    const items = parseInput(batchSchema, input, 'items');
    return this.apply(userId, items, 'updated', true);
  }

  /** One change on the locked cart; `cart_updated` when something changed. */
  private async change(userId: string, action: CartAction, op: CartOp): Promise<CartView> {
    return this.apply(userId, [op], action, false);
  }

  /**
   * Applies the ops in one transaction and one round trip (`shop_cart_apply`), its event included: the cart row locked,
   * so a user's changes and checkouts apply one at a time; every added/set line within
   * MAX_LINE_QUANTITY and the variant's stock. Errors of one batch item name its index.
   */
  private async apply(userId: string, ops: CartOp[], action: CartAction, batch: boolean): Promise<CartView> {
    const rows = ops.map((op, index) => (op.action === 'clear'
      ? { index, action: op.action }
      : { index, action: op.action, product_id: op.productId, size: op.variant.size, color: op.variant.color, quantity: op.quantity ?? null }));
    try {
      // One statement: the change, and (when it changed something, or for a batch) its event fact.
      const [{ r }] = await this.changed.call<{ r: { changed: boolean; cart: CartJson } }>(this.deps.orm.em.fork(),
        'select shop_cart_apply(?, ?::jsonb, ?, ?::jsonb) as r', [userId, JSON.stringify(rows), MAX_LINE_QUANTITY],
        { with: { userId, action, batch }, always: batch });
      return this.view(userId, r.cart);
    } catch (err) {
      throw this.refusal(err, batch) ?? err;
    }
  }

  /** The client error for a refusal of `shop_cart_apply`, or null when `err` is something else. */
  private refusal(err: unknown, batch: boolean): AppError | null {
    const refusal = shopRefusal(err);
    if (!refusal) return null;
    const d = refusal.detail as Record<string, any>;
    switch (refusal.reason) {
      case 'NOT_FOUND': {
        const e = d.productName == null
          ? notFound('Product', d.productId)
          : notFound(`Variant ${d.size}/${d.color} of ${d.productName}`, d.productId);
        return batch ? new AppError(e.code, `items.${d.index}: ${e.message}`, { ...e.details, index: d.index }) : e;
      }
      case 'OVER_LINE_MAXIMUM':
        return badInput(`At most ${d.max} units of ${d.productName} ${d.size}/${d.color} per cart`,
          [{ path: 'quantity', message: `the line would hold ${d.quantity}, at most ${d.max} allowed` }]);
      case 'INSUFFICIENT_STOCK': {
        const variants = d.variants as ShortVariant[];
        const names = variants.map((v) => `${v.productName} ${v.size}/${v.color} (requested ${v.requested}, available ${v.available})`).join(', ');
        return new AppError(ErrorCode.INSUFFICIENT_STOCK, `Not enough stock for: ${names}`, { variants });
      }
      default:
        return null;
    }
  }
}
