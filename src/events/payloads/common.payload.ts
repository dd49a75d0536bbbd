import { Field, Float, ID, InputType, Int, InterfaceType, ObjectType } from 'type-graphql';

/**
 * Every durable event's payload: `eventId` is its position in the shop-wide event sequence, opaque to
 * clients; pass it back as `after` (or `connectionParams.lastEventId`) to resume after it.
 */
@InterfaceType('DurableEvent', { description: 'An event kept in the event log: resume after its `eventId` with `after`.' })
export abstract class DurablePayload {
  @Field({ description: 'Position of this event in the shop-wide sequence (opaque): resume after it with `after`.' }) eventId!: string;
}

/** A variant as the events document addresses it. */
@ObjectType('Variant')
export class VariantRef {
  @Field() size!: string;
  @Field() color!: string;
}

@InputType()
export class VariantInput {
  @Field() size!: string;
  @Field() color!: string;
}

/** The public face of a user in events: never an email. */
@ObjectType()
export class EventUser {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() role!: string;
}

/** A customer as admins see it in `new_order`. */
@ObjectType()
export class Customer {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() email!: string;
}

@ObjectType()
class CartLine {
  @Field(() => ID) productId!: string;
  @Field() productName!: string;
  @Field(() => VariantRef) variant!: VariantRef;
  @Field() sku!: string;
  @Field(() => Int) quantity!: number;
  @Field(() => Float, { description: 'Effective unit price now (flash sale applied).' }) unitPrice!: number;
  @Field(() => Float) lineTotal!: number;
  @Field(() => Int, { description: 'Units in stock for this variant now.' }) available!: number;
}

/** The cart object carried by `cart_updated` and `cart_sync`. */
@ObjectType('Cart')
export class CartView {
  @Field(() => ID) id!: string;
  @Field(() => ID) userId!: string;
  @Field(() => [CartLine]) items!: CartLine[];
  @Field(() => Int) itemCount!: number;
  @Field(() => Float) subtotal!: number;
  @Field() updatedAt!: string;
}

@ObjectType()
class WishlistLine {
  @Field(() => ID) productId!: string;
  @Field() productName!: string;
  @Field(() => VariantRef, { nullable: true }) variant!: VariantRef | null;
  @Field(() => Float) price!: number;
  @Field(() => Boolean) inStock!: boolean;
  @Field() addedAt!: string;
}

/**
 * The wishlist object carried by `wishlist_updated`, and the `wishlist` query's result (GraphQL type
 * `Wishlist`): one class, so the two can never drift apart.
 */
@ObjectType('Wishlist')
export class WishlistView {
  @Field(() => ID) id!: string;
  @Field(() => ID) userId!: string;
  @Field(() => [WishlistLine]) items!: WishlistLine[];
  @Field(() => Int) itemCount!: number;
  @Field() updatedAt!: string;
}

@ObjectType()
export class StatusChange {
  @Field() status!: string;
  @Field(() => String, { nullable: true }) note!: string | null;
  @Field() timestamp!: string;
}

@ObjectType()
export class Tracking {
  @Field() carrier!: string;
  @Field() trackingNumber!: string;
}
