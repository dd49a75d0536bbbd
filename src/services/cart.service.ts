import type { EntityManager } from '@mikro-orm/postgresql';
import { shopRefusal } from '../db/shop-sql';
import { z } from 'zod';
import { CART_APPLY_SQL, cartApplyParams, cartView, toCartView, type CartApplied, type CartOp } from '../db/queries/carts';
import type { ShortVariant } from '../db/queries/stock';
import type { CartView } from '../events/payloads/common.payload';
import type { FactKind } from '../events/outbox';
import { AppError, badInput, ErrorCode, notFound } from '../errors';
import type { ServiceDeps } from './context';
import { id as idSchema, parseInput, variantSchema } from './validation';

/** The most units of one variant a cart line may hold. */
const MAX_LINE_QUANTITY = 99;
/** The most items one `cart_batch_update` / `updateCart` may carry. */
const MAX_BATCH_ITEMS = 100;

const lineQuantity = (min: number) =>
  z.number().int('must be a whole number').min(min, `must be at least ${min}`).max(MAX_LINE_QUANTITY, `must be at most ${MAX_LINE_QUANTITY}`);

/** `addToCart` / `cart_add_item`: quantity defaults to 1 when omitted; an explicit null is refused. */
export const addItemSchema = z.object({
  productId: idSchema,
  variant: variantSchema,
  quantity: lineQuantity(1).optional().transform((q) => q ?? 1),
});
/** `updateCartItem`: the line's new quantity; 0 removes it. */
const setItemSchema = z.object({ productId: idSchema, variant: variantSchema, quantity: lineQuantity(0) });
/** `removeFromCart` / `cart_remove_item`. */
export const removeItemSchema = z.object({ productId: idSchema, variant: variantSchema });

const batchItemSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('add'), productId: idSchema, variant: variantSchema, quantity: lineQuantity(1) }),
  z.object({ action: z.literal('set'), productId: idSchema, variant: variantSchema, quantity: lineQuantity(0) }),
  z.object({ action: z.literal('remove'), productId: idSchema, variant: variantSchema, quantity: z.number().nullish() }),
]);
/** `updateCart` / `cart_batch_update`: 1–100 add/set/remove items, applied all or nothing. */
const batchSchema = z
  .array(batchItemSchema)
  .min(1, 'at least one item')
  .max(MAX_BATCH_ITEMS, `at most ${MAX_BATCH_ITEMS} items`);

export type AddItemInput = z.input<typeof addItemSchema>;
export type SetItemInput = z.input<typeof setItemSchema>;
export type RemoveItemInput = z.input<typeof removeItemSchema>;

type CartAction = 'item_added' | 'item_removed' | 'updated';

/** Carts: one per user, lines per variant. Every change (and checkout) locks the cart row, so a user's changes apply one at a time. */
/** What the relay gets of one cart change (recorded by the cart statement itself). */
interface CartChangedFact {
  r: CartApplied;
  userId: string;
  action: CartAction;
  batch: boolean;
}

export class CartService {
  private readonly changed: FactKind<CartChangedFact>;

  constructor(private deps: ServiceDeps) {
    this.changed = deps.outbox.define<CartChangedFact>('cart_changed', ({ r, userId, action, batch }, emit, _em, timestamp) => {
      const cart = toCartView(userId, r.cart);
      // A batch replaces the cart as a whole (`cart_sync`); a single change is `cart_updated`.
      if (batch) emit('cart_sync', { cart, timestamp }, { userId });
      else emit('cart_updated', { action, cart, timestamp }, { userId });
    });
  }

  /** The whole cart as clients see it (an empty one when the user has none yet). */
  async getCart(userId: string, em: EntityManager = this.deps.orm.em.fork()): Promise<CartView> {
    return cartView(em, userId);
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
    try {
      // One statement: the change, and (when it changed something, or for a batch) its event fact.
      const [{ r }] = await this.changed.call<{ r: CartApplied }>(this.deps.orm.em.fork(),
        CART_APPLY_SQL, cartApplyParams(userId, ops, MAX_LINE_QUANTITY),
        { with: { userId, action, batch }, always: batch });
      return toCartView(userId, r.cart);
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
