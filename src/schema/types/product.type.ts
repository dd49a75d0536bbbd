import { ArgsType, Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';
import { VariantInput } from '../../events/payloads/common.payload';
import { connectionType, type Connection } from './connection.type';

@ObjectType()
export class ProductVariant {
  @Field(() => ID) id!: string;
  @Field() size!: string;
  @Field() color!: string;
  @Field() sku!: string;
  @Field(() => Int) stock!: number;
  @Field(() => Boolean) inStock!: boolean;
}

@ObjectType()
export class Product {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() description!: string;
  @Field() brand!: string;
  @Field() category!: string;
  @Field(() => Float, { description: 'Effective price now: the base price less any active flash-sale discount.' }) price!: number;
  @Field(() => Float) basePrice!: number;
  @Field(() => Int, { description: 'Active flash-sale discount in percent (0 when none).' }) discountPercentage!: number;
  @Field(() => Int) lowStockThreshold!: number;
  @Field(() => String, { nullable: true }) imageUrl!: string | null;
  @Field(() => [ProductVariant]) variants!: ProductVariant[];
  @Field(() => Int) totalStock!: number;
  @Field(() => Boolean) inStock!: boolean;
  @Field(() => Float, { nullable: true }) averageRating!: number | null;
  @Field(() => Int) reviewCount!: number;
  @Field() createdAt!: string;
  @Field() updatedAt!: string;
}

export const ProductConnection = connectionType('Product', Product);
export type ProductConnection = Connection<Product>;

@InputType()
export class ProductFilter {
  @Field(() => String, { nullable: true, description: 'Matches name, brand or description (case-insensitive).' }) search?: string | null;
  @Field(() => String, { nullable: true }) category?: string | null;
  @Field(() => String, { nullable: true }) brand?: string | null;
  @Field(() => String, { nullable: true, description: 'Has a variant of this size.' }) size?: string | null;
  @Field(() => String, { nullable: true, description: 'Has a variant of this colour.' }) color?: string | null;
  @Field(() => Float, { nullable: true, description: 'Effective price at least this.' }) minPrice?: number | null;
  @Field(() => Float, { nullable: true }) maxPrice?: number | null;
  @Field(() => Boolean, { nullable: true, description: 'With size/colour: that variant is in stock.' }) inStock?: boolean | null;
}

@ArgsType()
export class ProductsArgs {
  @Field(() => Int, { nullable: true, defaultValue: 20, description: 'Page size, 1–100.' }) first!: number;
  @Field(() => String, { nullable: true }) after?: string | null;
  @Field(() => ProductFilter, { nullable: true }) filter?: ProductFilter | null;
}

@InputType()
class VariantStockInput {
  @Field() size!: string;
  @Field() color!: string;
  @Field(() => Int) stock!: number;
  @Field(() => String, { nullable: true, description: 'Generated when omitted.' }) sku?: string | null;
}

@InputType()
export class CreateProductInput {
  @Field() name!: string;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field() brand!: string;
  @Field() category!: string;
  @Field(() => Float) price!: number;
  @Field(() => Int, { nullable: true }) lowStockThreshold?: number | null;
  @Field(() => String, { nullable: true }) imageUrl?: string | null;
  @Field(() => [VariantStockInput]) variants!: VariantStockInput[];
}

@InputType()
export class UpdateProductInput {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => String, { nullable: true }) brand?: string | null;
  @Field(() => String, { nullable: true }) category?: string | null;
  @Field(() => Float, { nullable: true, description: 'A lower price raises price_drop_alert to wishlisters.' }) price?: number | null;
  @Field(() => Int, { nullable: true }) lowStockThreshold?: number | null;
  @Field(() => String, { nullable: true }) imageUrl?: string | null;
  @Field(() => [VariantStockInput], { nullable: true, description: 'New variants to add (existing size/colour pairs are rejected).' })
  addVariants?: VariantStockInput[] | null;
}

