import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { VariantInput, WishlistView } from '../events/payloads/common.payload';
import type { GqlContext } from '../schema/context';

@Resolver()
export class WishlistResolver {
  @Authorized()
  @Query(() => WishlistView, { description: 'Your wishlist, created empty on first use.' })
  wishlist(@Ctx() ctx: GqlContext): Promise<WishlistView> {
    return ctx.services.wishlist.get(ctx.viewer!.id);
  }

  @Authorized()
  @Mutation(() => WishlistView, { description: 'Adds a product, optionally one variant; adding it again changes nothing.' })
  addToWishlist(
    @Arg('productId', () => ID) productId: string,
    @Arg('variant', () => VariantInput, { nullable: true }) variant: VariantInput | null,
    @Ctx() ctx: GqlContext,
  ): Promise<WishlistView> {
    return ctx.services.wishlist.add(ctx.viewer!.id, { productId, variant });
  }

  @Authorized()
  @Mutation(() => WishlistView, { description: 'Removes that variant, or every entry of the product when no variant is given.' })
  removeFromWishlist(
    @Arg('productId', () => ID) productId: string,
    @Arg('variant', () => VariantInput, { nullable: true }) variant: VariantInput | null,
    @Ctx() ctx: GqlContext,
  ): Promise<WishlistView> {
    return ctx.services.wishlist.remove(ctx.viewer!.id, { productId, variant });
  }
}
