import { z } from 'zod';
import { addItemSchema, removeItemSchema } from '../../services/cart.service';
import { command, type Command } from './command';

/**
 * Cart commands from Socket.IO clients: the same service methods as `addToCart`, `removeFromCart`
 * and `updateCart`; each acknowledges `{ ok: true, data: cart }` with the whole cart.
 */
export const cartCommands = {
  cart_add_item: command({
    schema: addItemSchema,
    auth: true,
    run: (ctx, data) => ctx.services.cart.addItem(ctx.viewer.id, data),
  }),
  cart_remove_item: command({
    schema: removeItemSchema,
    auth: true,
    run: (ctx, data) => ctx.services.cart.removeItem(ctx.viewer.id, data),
  }),
  /**
   * An array of add/set/remove items (also accepted as `{ items: [...] }`), applied all or nothing.
   * The items themselves are checked by the service (the same messages as `updateCart`).
   */
  cart_batch_update: command({
    schema: z.union([z.array(z.unknown()), z.object({ items: z.array(z.unknown()) }).transform((o) => o.items)]),
    auth: true,
    run: (ctx, items) => ctx.services.cart.applyBatch(ctx.viewer.id, items),
  }),
} satisfies Record<string, Command>;
