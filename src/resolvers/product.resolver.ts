import { VariantInput } from '../events/payloads/common.payload';
import { Arg, Args, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { Role } from '../entities/user.entity';
import type { GqlContext } from '../schema/context';
import {
  CreateProductInput, Product, ProductConnection, ProductsArgs, UpdateProductInput,
} from '../schema/types/product.type';

@Resolver()
export class ProductResolver {
  @Query(() => ProductConnection, { description: 'The catalogue as a Relay connection in a stable order.' })
  products(@Args(() => ProductsArgs) args: ProductsArgs, @Ctx() ctx: GqlContext): Promise<ProductConnection> {
    return ctx.services.catalog.products(args);
  }

  @Query(() => Product, { nullable: true })
  async product(@Arg('id', () => ID) id: string, @Ctx() ctx: GqlContext): Promise<Product | null> {
    return ctx.services.catalog.product(id).catch((err) => {
      if (err?.code === 'NOT_FOUND') return null;
      throw err;
    });
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Product)
  createProduct(@Arg('input', () => CreateProductInput) input: CreateProductInput, @Ctx() ctx: GqlContext): Promise<Product> {
    return ctx.services.catalog.createProduct(input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Product, { description: 'A lower price is a price drop: wishlisters get price_drop_alert.' })
  updateProduct(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateProductInput) input: UpdateProductInput,
    @Ctx() ctx: GqlContext,
  ): Promise<Product> {
    return ctx.services.catalog.updateProduct(id, input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Product, { description: 'Adds (positive) or removes (negative) units; never below zero (INSUFFICIENT_STOCK).' })
  adjustStock(
    @Arg('productId', () => ID) productId: string,
    @Arg('variant', () => VariantInput) variant: VariantInput,
    @Arg('delta', () => Int) delta: number,
    @Ctx() ctx: GqlContext,
  ): Promise<Product> {
    return ctx.services.catalog.adjustStock(productId, { size: variant.size, color: variant.color }, delta);
  }
}
