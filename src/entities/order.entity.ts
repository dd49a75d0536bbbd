import { Collection, Entity, Enum, ManyToOne, OneToMany, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { ProductVariant } from './product-variant.entity';
import { Product } from './product.entity';
import { User } from './user.entity';

export enum OrderStatus {
  pending = 'pending',
  confirmed = 'confirmed',
  processing = 'processing',
  shipped = 'shipped',
  delivered = 'delivered',
  cancelled = 'cancelled',
  refunded = 'refunded',
}

export interface ShippingAddress {
  name: string;
  line1: string;
  line2?: string | null;
  city: string;
  postalCode: string;
  country: string;
}

@Entity({ tableName: 'orders' })
@Unique({ properties: ['user', 'idempotencyKey'] })
export class Order {
  [OptionalProps]?: 'status' | 'createdAt' | 'updatedAt' | 'estimatedDelivery' | 'trackingCarrier' | 'trackingNumber' | 'idempotencyKey';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'text', unique: true })
  orderNumber!: string;

  @ManyToOne(() => User, { index: true })
  user!: Rel<User>;

  @Enum({ items: () => OrderStatus, nativeEnumName: 'order_status', index: true })
  status: OrderStatus = OrderStatus.pending;

  @Property({ type: 'integer' })
  totalCents!: number;

  @Property({ type: 'integer' })
  itemCount!: number;

  @Property({ type: 'json' })
  shippingAddress!: ShippingAddress;

  @Property({ type: 'datetime', nullable: true })
  estimatedDelivery: Date | null = null;

  @Property({ type: 'text', nullable: true })
  trackingCarrier: string | null = null;

  @Property({ type: 'text', nullable: true })
  trackingNumber: string | null = null;

  @Property({ type: 'text', nullable: true })
  idempotencyKey: string | null = null;

  @Property({ type: 'datetime', index: true })
  createdAt: Date = new Date();

  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();

  @OneToMany(() => OrderItem, (i) => i.order, { orderBy: { position: 'asc' } })
  items = new Collection<OrderItem>(this);

  @OneToMany(() => OrderStatusChange, (h) => h.order, { orderBy: { at: 'asc', seq: 'asc' } })
  statusHistory = new Collection<OrderStatusChange>(this);
}

/** A line as it was bought: name, variant and the unit price paid are snapshots. */
@Entity({ tableName: 'order_items' })
export class OrderItem {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Order, { deleteRule: 'cascade' })
  order!: Rel<Order>;

  @Property({ type: 'integer' })
  position!: number;

  @ManyToOne(() => Product, { nullable: true, deleteRule: 'set null' })
  product!: Rel<Product> | null;

  @ManyToOne(() => ProductVariant, { nullable: true, deleteRule: 'set null' })
  variant!: Rel<ProductVariant> | null;

  @Property({ type: 'text' })
  productName!: string;

  @Property({ type: 'text' })
  size!: string;

  @Property({ type: 'text' })
  color!: string;

  @Property({ type: 'text' })
  sku!: string;

  @Property({ type: 'integer' })
  unitPriceCents!: number;

  @Property({ type: 'integer' })
  quantity!: number;
}

@Entity({ tableName: 'order_status_history' })
export class OrderStatusChange {
  [OptionalProps]?: 'at' | 'note';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  seq!: string;

  @ManyToOne(() => Order, { deleteRule: 'cascade' })
  order!: Rel<Order>;

  @Enum({ items: () => OrderStatus, nativeEnumName: 'order_status' })
  status!: OrderStatus;

  @Property({ type: 'text', nullable: true })
  note: string | null = null;

  @Property({ type: 'datetime' })
  at: Date = new Date();
}
