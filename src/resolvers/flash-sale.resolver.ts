import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Role } from '../entities/user.entity';
import type { GqlContext } from '../schema/context';
import { CreateFlashSaleInput, FlashSale, UpdateFlashSaleInput } from '../schema/types/flash-sale.type';
import { Product } from '../schema/types/product.type';

@Resolver(() => FlashSale)
export class FlashSaleResolver {
  @Query(() => [FlashSale], { description: 'Flash sales, newest start first. active: true only running ones, false only scheduled and ended ones.' })
  flashSales(@Arg('active', () => Boolean, { nullable: true }) active: boolean | null, @Ctx() ctx: GqlContext): Promise<FlashSale[]> {
    return ctx.services.flashSales.list(active);
  }

  @Query(() => FlashSale, { nullable: true })
  async flashSale(@Arg('id', () => ID) id: string, @Ctx() ctx: GqlContext): Promise<FlashSale | null> {
    return ctx.services.flashSales.get(id).catch((err) => {
      if (err?.code === 'NOT_FOUND') return null;
      throw err;
    });
  }

  @FieldResolver(() => [Product], { description: 'The products on sale, with their effective prices now.' })
  productDetails(@Root() sale: FlashSale, @Ctx() ctx: GqlContext): Promise<Product[]> {
    return ctx.services.flashSales.productDetails(sale.products);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => FlashSale, { description: 'Schedules a sale; a start time not in the future starts it at once (flash_sale_start).' })
  createFlashSale(@Arg('input', () => CreateFlashSaleInput) input: CreateFlashSaleInput, @Ctx() ctx: GqlContext): Promise<FlashSale> {
    return ctx.services.flashSales.create(input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => FlashSale, { description: 'Changes a scheduled or running sale (flash_sale_update); an ended sale is BAD_USER_INPUT.' })
  updateFlashSale(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateFlashSaleInput) input: UpdateFlashSaleInput,
    @Ctx() ctx: GqlContext,
  ): Promise<FlashSale> {
    return ctx.services.flashSales.update(id, input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => FlashSale, { description: 'Ends a scheduled or running sale now (flash_sale_end).' })
  endFlashSale(@Arg('id', () => ID) id: string, @Ctx() ctx: GqlContext): Promise<FlashSale> {
    return ctx.services.flashSales.end(id);
  }
}
