export * from './user.entity';
export * from './product.entity';
export * from './product-variant.entity';
export * from './cart.entity';
export * from './order.entity';
export * from './flash-sale.entity';
export * from './review.entity';
export * from './wishlist.entity';
export * from './support-chat.entity';
export * from './analytics.entity';
export * from './revoked-token.entity';

import { ProductView, UserActivity } from './analytics.entity';
import { Cart, CartItem } from './cart.entity';
import { FlashSale } from './flash-sale.entity';
import { Order, OrderItem, OrderStatusChange } from './order.entity';
import { ProductVariant } from './product-variant.entity';
import { Product } from './product.entity';
import { Review } from './review.entity';
import { RevokedToken } from './revoked-token.entity';
import { SupportChat, SupportMessage } from './support-chat.entity';
import { User } from './user.entity';
import { Wishlist, WishlistItem } from './wishlist.entity';

export const entities = [
  User, Product, ProductVariant, Cart, CartItem, Order, OrderItem, OrderStatusChange,
  FlashSale, Review, Wishlist, WishlistItem, SupportChat, SupportMessage, ProductView, UserActivity,
  RevokedToken,
];
