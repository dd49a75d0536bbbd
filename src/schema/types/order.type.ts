import { ArgsType, Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { OrderStatus } from '../../entities/order.entity';
import { Customer, StatusChange, Tracking, VariantRef } from '../../events/payloads/common.payload';
import { connectionType, type Connection } from './connection.type';

registerEnumType(OrderStatus, {
  name: 'OrderStatus',
  description: 'pending → confirmed → processing → shipped → delivered; pending/confirmed/processing → cancelled; delivered → refunded.',
});

@ObjectType()
export class ShippingAddress {
  @Field() name!: string;
  @Field() line1!: string;
  @Field(() => String, { nullable: true }) line2!: string | null;
  @Field() city!: string;
  @Field() postalCode!: string;
  @Field() country!: string;
}

@InputType()
class ShippingAddressInput {
  @Field() name!: string;
  @Field() line1!: string;
  @Field(() => String, { nullable: true }) line2?: string | null;
  @Field() city!: string;
  @Field() postalCode!: string;
  @Field() country!: string;
}

@InputType()
export class CheckoutInput {
  @Field(() => ShippingAddressInput) shippingAddress!: ShippingAddressInput;
  @Field(() => String, {
    nullable: true,
    description: 'Retrying with a key already used by the same user returns the first order instead of placing another.',
  })
  idempotencyKey?: string | null;
}

@InputType()
export class TrackingInput {
  @Field() carrier!: string;
  @Field() trackingNumber!: string;
}

/** A line as it was bought: name, variant, SKU and unit price are snapshots taken at checkout. */
@ObjectType()
class OrderLine {
  @Field(() => ID, { nullable: true, description: 'Null when the product has since been deleted.' }) productId!: string | null;
  @Field() productName!: string;
  @Field(() => VariantRef) variant!: VariantRef;
  @Field() sku!: string;
  @Field(() => Float, { description: 'The unit price paid (flash-sale discount applied).' }) unitPrice!: number;
  @Field(() => Int) quantity!: number;
  @Field(() => Float) lineTotal!: number;
}

@ObjectType()
export class Order {
  @Field(() => ID) id!: string;
  @Field({ description: 'ORD-<year>-<6 digits>, unique.' }) orderNumber!: string;
  @Field(() => OrderStatus) status!: OrderStatus;
  @Field(() => [OrderLine]) items!: OrderLine[];
  @Field(() => Float) totalAmount!: number;
  @Field(() => Int, { description: 'Units across all lines.' }) itemCount!: number;
  @Field(() => ShippingAddress) shippingAddress!: ShippingAddress;
  @Field(() => [StatusChange], { description: 'Every status the order has had, oldest first.' }) statusHistory!: StatusChange[];
  @Field(() => Tracking, { nullable: true }) tracking!: Tracking | null;
  @Field(() => String, { nullable: true }) estimatedDelivery!: string | null;
  @Field() createdAt!: string;
  @Field() updatedAt!: string;
  @Field(() => Customer, { nullable: true, description: 'Who placed the order: set for admins, null for customers.' })
  customer!: Customer | null;
}

export const OrderConnection = connectionType('Order', Order);
export type OrderConnection = Connection<Order>;

@ArgsType()
export class OrdersArgs {
  @Field(() => Int, { nullable: true, defaultValue: 20, description: 'Page size, 1–100. Newest first.' }) first!: number;
  @Field(() => String, { nullable: true }) after?: string | null;
}

@ArgsType()
export class AllOrdersArgs extends OrdersArgs {
  @Field(() => OrderStatus, { nullable: true, description: 'Only orders in this status.' }) status?: OrderStatus | null;
}

@ArgsType()
export class UpdateOrderStatusArgs {
  @Field(() => ID) orderId!: string;
  @Field(() => OrderStatus) status!: OrderStatus;
  @Field(() => String, { nullable: true, description: 'Kept in statusHistory.' }) note?: string | null;
  @Field(() => TrackingInput, { nullable: true }) tracking?: TrackingInput | null;
  @Field(() => String, { nullable: true, description: 'ISO-8601 time.' }) estimatedDelivery?: string | null;
}

