import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { Order } from '../../schema/types/order.type';
import { ProductVariant } from '../../schema/types/product.type';
import { CartView, Customer, EventUser, StatusChange, Tracking, VariantRef, WishlistView, DurablePayload } from './common.payload';

/** The stock events' `productVariant` field: null on events logged before it existed (replays). */
const VARIANT_AFTER_CHANGE = {
  nullable: true,
  description: 'The variant after the change: a normalized client cache (Apollo Client, urql Graphcache) updates its cached ProductVariant (stock, inStock) by the id. Null on events recorded before the field existed.',
};

@ObjectType({ implements: DurablePayload })
export class CartUpdatedPayload extends DurablePayload {
  @Field({ description: "'item_added' | 'item_removed' | 'updated'" }) action!: string;
  @Field(() => CartView) cart!: CartView;
  @Field() timestamp!: string;
}

@ObjectType({ implements: DurablePayload })
export class CartSyncPayload extends DurablePayload {
  @Field(() => CartView) cart!: CartView;
  @Field() timestamp!: string;
}

@ObjectType({ implements: DurablePayload })
export class InventoryUpdatePayload extends DurablePayload {
  @Field(() => ID) productId!: string;
  @Field(() => VariantRef) variant!: VariantRef;
  @Field(() => Int, { description: 'Signed: negative for a decrease.' }) stockChange!: number;
  @Field() timestamp!: string;
  @Field(() => ProductVariant, VARIANT_AFTER_CHANGE) productVariant?: ProductVariant | null;
}

@ObjectType({ implements: DurablePayload })
export class ProductStockUpdatePayload extends DurablePayload {
  @Field(() => ID) productId!: string;
  @Field(() => VariantRef) variant!: VariantRef;
  @Field(() => Int) stock!: number;
  @Field(() => Int) stockChange!: number;
  @Field(() => Boolean) inStock!: boolean;
  @Field() timestamp!: string;
  @Field(() => ProductVariant, VARIANT_AFTER_CHANGE) productVariant?: ProductVariant | null;
}

@ObjectType({ implements: DurablePayload })
export class LowStockAlertPayload extends DurablePayload {
  @Field(() => ID) productId!: string;
  @Field() productName!: string;
  @Field(() => VariantRef) variant!: VariantRef;
  @Field(() => Int) currentStock!: number;
  @Field(() => Int) lowStockThreshold!: number;
  @Field({ description: "'warning' | 'critical'" }) severity!: string;
  @Field() timestamp!: string;
}

@ObjectType({ implements: DurablePayload })
export class OrderStatusUpdatePayload extends DurablePayload {
  @Field(() => ID) orderId!: string;
  @Field() orderNumber!: string;
  @Field() status!: string;
  @Field(() => [StatusChange]) statusHistory!: StatusChange[];
  @Field(() => String, { nullable: true }) estimatedDelivery!: string | null;
  @Field(() => Tracking, { nullable: true }) tracking!: Tracking | null;
  @Field() timestamp!: string;
  @Field(() => Order, {
    nullable: true,
    description: 'The order after the move, as its owner sees it: a normalized client cache (Apollo Client, urql Graphcache) updates its cached Order by the id.',
  })
  order?: Order | null;
}

@ObjectType({ implements: DurablePayload })
export class NewOrderPayload extends DurablePayload {
  @Field(() => ID) orderId!: string;
  @Field() orderNumber!: string;
  @Field(() => Customer) customer!: Customer;
  @Field(() => Float) totalAmount!: number;
  @Field(() => Int) itemCount!: number;
  @Field() status!: string;
  @Field() timestamp!: string;
}

/** Shared shape of `flash_sale_start`, `flash_sale_update` and `flash_sale_end`. */
@ObjectType({ implements: DurablePayload })
export class FlashSaleEventPayload extends DurablePayload {
  @Field(() => ID) saleId!: string;
  @Field() name!: string;
  @Field() description!: string;
  @Field(() => Float) discountPercentage!: number;
  @Field() startTime!: string;
  @Field() endTime!: string;
  @Field(() => [ID]) products!: string[];
  @Field({ description: "'start' | 'update' | 'end'" }) event!: string;
  @Field() timestamp!: string;
}

@ObjectType({ implements: DurablePayload })
export class NewReviewNotificationPayload extends DurablePayload {
  @Field(() => ID) reviewId!: string;
  @Field(() => ID) productId!: string;
  @Field() productName!: string;
  @Field(() => Int) rating!: number;
  @Field() title!: string;
  @Field(() => EventUser) user!: EventUser;
  @Field() timestamp!: string;
}

@ObjectType({ implements: DurablePayload })
export class ProductReviewAddedPayload extends DurablePayload {
  @Field(() => ID) reviewId!: string;
  @Field(() => ID) productId!: string;
  @Field(() => Int) rating!: number;
  @Field() title!: string;
  @Field() body!: string;
  @Field(() => EventUser) user!: EventUser;
  @Field(() => Float) averageRating!: number;
  @Field(() => Int) reviewCount!: number;
  @Field() timestamp!: string;
}

@ObjectType({ implements: DurablePayload })
export class WishlistUpdatedPayload extends DurablePayload {
  @Field({ description: "'item_added' | 'item_removed' | 'wishlist_created'" }) action!: string;
  @Field(() => WishlistView) wishlist!: WishlistView;
  @Field() timestamp!: string;
}

@ObjectType({ implements: DurablePayload })
export class PriceDropAlertPayload extends DurablePayload {
  @Field(() => ID) productId!: string;
  @Field() productName!: string;
  @Field(() => Float) oldPrice!: number;
  @Field(() => Float) newPrice!: number;
  @Field(() => Float) discountPercentage!: number;
  @Field() timestamp!: string;
}

@ObjectType({ implements: DurablePayload })
export class BackInStockAlertPayload extends DurablePayload {
  @Field(() => ID) productId!: string;
  @Field() productName!: string;
  @Field(() => VariantRef) variant!: VariantRef;
  @Field(() => Int) stock!: number;
  @Field() timestamp!: string;
}
