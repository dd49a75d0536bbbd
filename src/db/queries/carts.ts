import type { EntityManager } from '@mikro-orm/postgresql';
import type { CartView } from '../../events/payloads/common.payload';
import { toMoney } from '../../services/context';

/** Carts: the SQL of cart reads and changes (`shop_cart_view`, `shop_cart_apply`), their rows and the cart view. */

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

/** A cart's id and last change, as `shop_checkout` reports the cart it emptied. */
export interface CartStamp {
  id: string;
  updatedAt: string;
}

/** One change of `shop_cart_apply`, as the service validated it. */
export type CartOp =
  | { action: 'clear' }
  | { action: 'add' | 'set' | 'remove'; productId: string; variant: { size: string; color: string }; quantity?: number | null };

/** What `shop_cart_apply` returns: whether the ops changed the cart, and the cart they left. */
export interface CartApplied {
  changed: boolean;
  cart: CartJson;
}

/**
 * `shop_cart_apply(user, ops, max line quantity, fact)`: the ops on the locked cart and (when they changed
 * something, or always when asked) the change's fact, in one statement. Run through `FactKind.call` with `cartApplyParams`.
 */
export const CART_APPLY_SQL = `select x - 'fact' as r, x->'fact' as fact from shop_cart_apply(?, ?::jsonb, ?, ?::jsonb) x`;

/** The parameters of CART_APPLY_SQL but the last (the fact, which `FactKind.call` adds). */
export function cartApplyParams(userId: string, ops: CartOp[], maxLineQuantity: number): unknown[] {
  const rows = ops.map((op, index) => (op.action === 'clear'
    ? { index, action: op.action }
    // A remove takes no quantity: one a client sent anyway is ignored, whatever it is.
    : { index, action: op.action, product_id: op.productId, size: op.variant.size, color: op.variant.color, quantity: op.action === 'remove' ? null : op.quantity ?? null }));
  return [userId, JSON.stringify(rows), maxLineQuantity];
}

/** The user's cart as `shop_cart_view` returns it (the cart must exist: see `ensureCart`). */
async function cartJson(em: EntityManager, userId: string): Promise<CartJson> {
  const [{ cart }] = await em.execute<Array<{ cart: CartJson }>>('select shop_cart_view(?) as cart', [userId]);
  return cart;
}

/**
 * The user's cart id, creating the (empty) cart on first use. A read of an existing cart writes
 * nothing; two first uses at once both end with the one row the unique user_id lets in.
 */
async function ensureCart(em: EntityManager, userId: string): Promise<string> {
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

/** The whole cart as clients see it, created empty when the user has none yet. */
export async function cartView(em: EntityManager, userId: string): Promise<CartView> {
  await ensureCart(em, userId);
  return toCartView(userId, await cartJson(em, userId));
}

/** A cart as clients see it: unit prices with the active flash-sale discount, money in the shop's currency. */
export function toCartView(userId: string, cart: CartJson): CartView {
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

/** The cart right after it was emptied in the caller's transaction (checkout), without reading it back. */
export function emptyCartView(userId: string, cart: CartStamp): CartView {
  return { id: cart.id, userId, items: [], itemCount: 0, subtotal: 0, updatedAt: cart.updatedAt };
}
