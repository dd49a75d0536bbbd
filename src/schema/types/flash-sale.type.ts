import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';

/** A flash sale as clients and admins see it. */
@ObjectType({ description: 'A timed discount on some products; its state moves scheduled → active → ended once.' })
export class FlashSale {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() description!: string;
  @Field(() => Int, { description: 'Whole percent off the base price of every listed product, 1–90.' }) discountPercentage!: number;
  @Field({ description: 'When the sale starts (ISO-8601 UTC).' }) startTime!: string;
  @Field({ description: 'When the sale ends, or ended when an admin ended it early (ISO-8601 UTC).' }) endTime!: string;
  @Field(() => [ID], { description: 'The ids of the products on sale (in id order), as in the flash_sale_* events.' }) products!: string[];
  @Field({ description: "'scheduled' | 'active' | 'ended'" }) state!: string;
  @Field(() => String, { nullable: true, description: 'When the sale actually started.' }) startedAt!: string | null;
  @Field(() => String, { nullable: true, description: 'When the sale actually ended.' }) endedAt!: string | null;
  @Field() createdAt!: string;
}

@InputType()
export class CreateFlashSaleInput {
  @Field() name!: string;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => Int, { description: '1–90.' }) discountPercentage!: number;
  @Field({ description: 'ISO-8601 date-time with a zone; in the past or now starts the sale at once.' }) startTime!: string;
  @Field({ description: 'ISO-8601 date-time with a zone, after startTime and in the future.' }) endTime!: string;
  @Field(() => [ID]) productIds!: string[];
}

/** Every field is optional; a running sale cannot change its startTime, an ended sale nothing. */
@InputType()
export class UpdateFlashSaleInput {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => Int, { nullable: true }) discountPercentage?: number | null;
  @Field(() => String, { nullable: true, description: 'Only while the sale is scheduled.' }) startTime?: string | null;
  @Field(() => String, { nullable: true }) endTime?: string | null;
  @Field(() => [ID], { nullable: true, description: 'Replaces the whole product list.' }) productIds?: string[] | null;
}
