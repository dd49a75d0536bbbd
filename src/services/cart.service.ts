import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import type { CartView } from '../events/payloads/common.payload';
import { AppError, badInput, ErrorCode, notFound } from '../errors';
import { discounted, nowIso, toMoney, type ServiceDeps } from './context';
import { id as idSchema, parseInput, variantSchema } from './validation';

interface CartRow {
  cart_id: string | null;
  updated_at: Date | null;
  product_id: string | null;
  product_name: string | null;
  size: string | null;
  color: string | null;
  sku: string | null;
  quantity: number | null;
  price_cents: number | null;
  discount: number | null;
  stock: number | null;
}

/** The most units of one variant a cart line may hold. */
export const MAX_LINE_QUANTITY = 99;
/** The most items one `cart_batch_update` / `updateCart` may carry (CONTRACT §5). */
export const MAX_BATCH_ITEMS = 100;

const lineQuantity = (min: number) =>
  z.number().int('must be a whole number').min(min, `must be at least ${min}`).max(MAX_LINE_QUANTITY, `must be at most ${MAX_LINE_QUANTITY}`);

/** `addToCart` / `cart_add_item`: quantity defaults to 1. */
export const addItemSchema = z.object({
  productId: idSchema,
  variant: variantSchema,
  quantity: lineQuantity(1).nullish().transform((q) => q ?? 1),
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
type CartOp = z.output<typeof batchItemSchema>;

type CartAction = 'item_added' | 'item_removed' | 'updated';

interface VariantInfo {
  id: string;
  productName: string;
  size: string;
  color: string;
}

/** A cart row locked by the caller's transaction. */
export interface LockedCart {
  id: string;
  updatedAt: string;
}

/** Carts: one per user, lines per variant. Every change locks the cart row, so a user's changes apply one at a time. */
export class CartService {
  constructor(private deps: ServiceDeps) {}

  /** The whole cart as clients see it (an empty one when the user has none yet). */
  async getCart(userId: string, em: EntityManager = this.deps.orm.em.fork(), exists = false): Promise<CartView> {
    if (!exists) await this.ensureCart(em, userId);
    const rows = await em.execute<CartRow[]>(
      `select c.id as cart_id, c.updated_at, p.id as product_id, p.name as product_name, v.size, v.color, v.sku,
              i.quantity, p.price_cents, v.stock,
              coalesce((select max(fs.discount_percentage) from flash_sale_products fsp join flash_sales fs on fs.id = fsp.flash_sale_id
                         where fsp.product_id = p.id and fs.state = 'active'), 0) as discount
         from users u
         left join carts c on c.user_id = u.id
         left join cart_items i on i.cart_id = c.id
         left join product_variants v on v.id = i.variant_id
         left join products p on p.id = v.product_id
        where u.id = ?
        order by i.added_at, i.id`,
      [userId],
    );
    const first = rows[0];
    const items = rows.filter((r) => r.product_id).map((r) => {
      const unit = discounted(Number(r.price_cents), Number(r.discount));
      return {
        productId: String(r.product_id), productName: String(r.product_name),
        variant: { size: String(r.size), color: String(r.color) }, sku: String(r.sku),
        quantity: Number(r.quantity), unitPrice: toMoney(unit), lineTotal: toMoney(unit * Number(r.quantity)),
        available: Number(r.stock),
      };
    });
    const subtotalCents = items.reduce((s, i) => s + Math.round(i.lineTotal * 100), 0);
    return {
      id: String(first?.cart_id),
      userId,
      items,
      itemCount: items.reduce((s, i) => s + i.quantity, 0),
      subtotal: toMoney(subtotalCents),
      updatedAt: new Date(first?.updated_at ?? Date.now()).toISOString(),
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

  /**
   * Locks the user's cart row for the rest of the caller's transaction (creating the cart when
   * missing) and marks it changed. Concurrent changes and checkouts of one cart queue here.
   */
  async lockCart(em: EntityManager, userId: string): Promise<LockedCart> {
    for (;;) {
      const rows = await em.execute<Array<{ id: string; updated_at: Date }>>(
        'update carts set updated_at = now() where user_id = ? returning id, updated_at', [userId]);
      if (rows.length) return { id: String(rows[0].id), updatedAt: new Date(rows[0].updated_at).toISOString() };
      await this.ensureCart(em, userId);
    }
  }

  /** The cart right after it was emptied in the caller's transaction (checkout), without reading it back. */
  emptyView(userId: string, cart: LockedCart): CartView {
    return { id: cart.id, userId, items: [], itemCount: 0, subtotal: 0, updatedAt: cart.updatedAt };
  }

  /** Adds units of a variant (`addToCart`, `cart_add_item`); the line may not exceed the stock. */
  async addItem(userId: string, input: AddItemInput): Promise<CartView> {
    const data = parseInput(addItemSchema, input);
    return this.change(userId, 'item_added', (tx, cartId) => this.applyOp(tx, cartId, { action: 'add', ...data }));
  }

  /** Sets a line's quantity (`updateCartItem`); 0 removes the line. */
  async updateItem(userId: string, input: SetItemInput): Promise<CartView> {
    const data = parseInput(setItemSchema, input);
    return this.change(userId, data.quantity === 0 ? 'item_removed' : 'updated',
      (tx, cartId) => this.applyOp(tx, cartId, { action: 'set', ...data }));
  }

  /** Removes a line (`removeFromCart`, `cart_remove_item`); removing a line that is not there changes nothing. */
  async removeItem(userId: string, input: RemoveItemInput): Promise<CartView> {
    const data = parseInput(removeItemSchema, input);
    return this.change(userId, 'item_removed', (tx, cartId) => this.applyOp(tx, cartId, { action: 'remove', ...data }));
  }

  /** Empties the cart (`clearCart`). */
  async clear(userId: string): Promise<CartView> {
    return this.change(userId, 'updated', async (tx, cartId) => {
      const rows = await tx.execute<Array<{ id: string }>>('delete from cart_items where cart_id = ? returning id', [cartId]);
      return rows.length > 0;
    });
  }

  /**
   * Applies add/set/remove items in order, all or nothing, in one transaction (`updateCart`,
   * `cart_batch_update`). The cart is then replaced as a whole on the owner's devices: `cart_sync`.
   */
  async applyBatch(userId: string, input: unknown): Promise<CartView> {
    const items = parseInput(batchSchema, input, 'items');
    const em = this.deps.orm.em.fork();
    const cart = await em.transactional(async (tx) => {
      const { id: cartId } = await this.lockCart(tx, userId);
      const touched: string[] = [];
      for (const [index, item] of items.entries()) {
        try {
          await this.applyOp(tx, cartId, item, touched);
        } catch (err) {
          if (err instanceof AppError) throw new AppError(err.code, `items.${index}: ${err.message}`, { ...err.details, index });
          throw err;
        }
      }
      await this.assertWithinStock(tx, cartId, touched);
      return this.getCart(userId, tx, true);
    });
    await this.deps.hub.publish('cart_sync', { cart, timestamp: nowIso() }, { userId });
    return cart;
  }

  /** Runs one change in a transaction on the locked cart; publishes `cart_updated` after commit when something changed. */
  private async change(
    userId: string,
    action: CartAction,
    work: (tx: EntityManager, cartId: string) => Promise<boolean>,
  ): Promise<CartView> {
    const em = this.deps.orm.em.fork();
    const { cart, changed } = await em.transactional(async (tx) => {
      const { id: cartId } = await this.lockCart(tx, userId);
      const changed = await work(tx, cartId);
      return { cart: await this.getCart(userId, tx, true), changed };
    });
    if (changed) await this.publishUpdated(userId, action, cart);
    return cart;
  }

  /** `cart_updated` to every device of the owner; for changes made by other services (checkout). */
  async publishUpdated(userId: string, action: CartAction, cart: CartView): Promise<void> {
    await this.deps.hub.publish('cart_updated', { action, cart, timestamp: nowIso() }, { userId });
  }

  /** One add/set/remove on a locked cart. Returns whether a line changed. */
  private async applyOp(tx: EntityManager, cartId: string, op: CartOp, touched?: string[]): Promise<boolean> {
    const variant = await this.variant(tx, op.productId, op.variant);
    let changed: boolean;
    if (op.action === 'remove' || (op.action === 'set' && op.quantity === 0)) {
      const rows = await tx.execute<Array<{ id: string }>>(
        'delete from cart_items where cart_id = ? and variant_id = ? returning id', [cartId, variant.id]);
      changed = rows.length > 0;
    } else {
      const onConflict = op.action === 'add' ? 'cart_items.quantity + excluded.quantity' : 'excluded.quantity';
      const rows = await tx.execute<Array<{ id: string }>>(
        `insert into cart_items (id, cart_id, variant_id, quantity, added_at) values (gen_random_uuid(), ?, ?, ?, clock_timestamp())
         on conflict (cart_id, variant_id) do update set quantity = ${onConflict} returning id`,
        [cartId, variant.id, op.quantity],
      );
      changed = rows.length > 0;
      if (touched) touched.push(variant.id);
      else await this.assertWithinStock(tx, cartId, [variant.id]);
    }
    return changed;
  }

  /** Every touched line fits the per-line maximum and the variant's current stock. */
  private async assertWithinStock(tx: EntityManager, cartId: string, variantIds: string[]): Promise<void> {
    if (!variantIds.length) return;
    const ids = [...new Set(variantIds)];
    const rows = await tx.execute<Array<Record<string, unknown>>>(
      `select i.variant_id, i.quantity, v.stock, v.size, v.color, v.product_id, p.name
         from cart_items i join product_variants v on v.id = i.variant_id join products p on p.id = v.product_id
        where i.cart_id = ? and i.variant_id in (${ids.map(() => '?').join(',')})
          and (i.quantity > v.stock or i.quantity > ?)`,
      [cartId, ...ids, MAX_LINE_QUANTITY],
    );
    if (!rows.length) return;
    const tooMany = rows.find((r) => Number(r.quantity) > MAX_LINE_QUANTITY);
    if (tooMany) {
      throw badInput(`At most ${MAX_LINE_QUANTITY} units of ${tooMany.name} ${tooMany.size}/${tooMany.color} per cart`,
        [{ path: 'quantity', message: `the line would hold ${tooMany.quantity}, at most ${MAX_LINE_QUANTITY} allowed` }]);
    }
    const variants = rows.map((r) => ({
      variantId: String(r.variant_id), productId: String(r.product_id), productName: String(r.name),
      size: String(r.size), color: String(r.color), requested: Number(r.quantity), available: Number(r.stock),
    }));
    const names = variants.map((v) => `${v.productName} ${v.size}/${v.color} (requested ${v.requested}, available ${v.available})`).join(', ');
    throw new AppError(ErrorCode.INSUFFICIENT_STOCK, `Not enough stock for: ${names}`, { variants });
  }

  /** The variant of a product's size/colour, or NOT_FOUND naming what is missing. */
  private async variant(em: EntityManager, productId: string, v: { size: string; color: string }): Promise<VariantInfo> {
    const rows = await em.execute<Array<Record<string, unknown>>>(
      `select v.id, v.size, v.color, p.name from product_variants v join products p on p.id = v.product_id
        where v.product_id = ? and v.size = ? and v.color = ?`,
      [productId, v.size, v.color],
    );
    if (rows.length) {
      const r = rows[0];
      return { id: String(r.id), productName: String(r.name), size: String(r.size), color: String(r.color) };
    }
    const product = await em.execute<Array<{ name: string }>>('select name from products where id = ?', [productId]);
    if (!product.length) throw notFound('Product', productId);
    throw notFound(`Variant ${v.size}/${v.color} of ${product[0].name}`, productId);
  }
}
