import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { GqlContext } from '../schema/context';
import { CartView, VariantInput } from '../events/payloads/common.payload';
import { CartBatchItemInput } from '../schema/types/cart.type';

const variantOf = (v: VariantInput) => ({ size: v.size, color: v.color });

/** The signed-in user's cart. Every change raises `cart_updated` (or `cart_sync`) to the owner's devices. */
@Resolver()
export class CartResolver {
  @Authorized()
  @Query(() => CartView, { description: "The viewer's cart (empty when nothing was added yet)." })
  cart(@Ctx() ctx: GqlContext): Promise<CartView> {
    return ctx.services.cart.getCart(ctx.viewer!.id);
  }

  @Authorized()
  @Mutation(() => CartView, { description: 'Adds units of a variant; the line may not exceed the stock (INSUFFICIENT_STOCK).' })
  addToCart(
    @Arg('productId', () => ID) productId: string,
    @Arg('variant', () => VariantInput) variant: VariantInput,
    @Arg('quantity', () => Int, { nullable: true, defaultValue: 1 }) quantity: number,
    @Ctx() ctx: GqlContext,
  ): Promise<CartView> {
    return ctx.services.cart.addItem(ctx.viewer!.id, { productId, variant: variantOf(variant), quantity });
  }

  @Authorized()
  @Mutation(() => CartView, { description: "Sets a line's quantity; 0 removes the line." })
  updateCartItem(
    @Arg('productId', () => ID) productId: string,
    @Arg('variant', () => VariantInput) variant: VariantInput,
    @Arg('quantity', () => Int) quantity: number,
    @Ctx() ctx: GqlContext,
  ): Promise<CartView> {
    return ctx.services.cart.updateItem(ctx.viewer!.id, { productId, variant: variantOf(variant), quantity });
  }

  @Authorized()
  @Mutation(() => CartView)
  removeFromCart(
    @Arg('productId', () => ID) productId: string,
    @Arg('variant', () => VariantInput) variant: VariantInput,
    @Ctx() ctx: GqlContext,
  ): Promise<CartView> {
    return ctx.services.cart.removeItem(ctx.viewer!.id, { productId, variant: variantOf(variant) });
  }

  @Authorized()
  @Mutation(() => CartView)
  clearCart(@Ctx() ctx: GqlContext): Promise<CartView> {
    return ctx.services.cart.clear(ctx.viewer!.id);
  }

  @Authorized()
  @Mutation(() => CartView, {
    description: 'Applies up to 100 add/set/remove items all or nothing (as the cart_batch_update command); raises cart_sync.',
  })
  updateCart(@Arg('items', () => [CartBatchItemInput]) items: CartBatchItemInput[], @Ctx() ctx: GqlContext): Promise<CartView> {
    return ctx.services.cart.applyBatch(ctx.viewer!.id, items.map((i) => ({
      action: i.action, productId: i.productId, variant: variantOf(i.variant), quantity: i.quantity,
    })));
  }
}
