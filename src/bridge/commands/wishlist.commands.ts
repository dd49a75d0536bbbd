import { z } from 'zod';
import { command, type Command } from './command';

const wishlistUpdated = z.object({
  action: z.enum(['item_added', 'item_removed']),
  productId: z.string().max(100),
  variant: z.object({ size: z.string().max(20), color: z.string().max(40) }).nullish(),
  wishlistId: z.string().max(100).nullish(),
});

/** `wishlist_updated` from a client: the same service calls as addToWishlist / removeFromWishlist. */
export const wishlistCommands = {
  wishlist_updated: command({
    schema: wishlistUpdated,
    auth: true,
    run: (ctx, d) => {
      const userId = ctx.viewer.id;
      const target = { productId: d.productId, variant: d.variant, wishlistId: d.wishlistId };
      return d.action === 'item_added' ? ctx.services.wishlist.add(userId, target) : ctx.services.wishlist.remove(userId, target);
    },
  }),
} satisfies Record<string, Command>;
