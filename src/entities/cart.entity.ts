import { Collection, Entity, ManyToOne, OneToMany, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { ProductVariant } from './product-variant.entity';
import { User } from './user.entity';

@Entity({ tableName: 'carts' })
export class Cart {
  [OptionalProps]?: 'updatedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => User, { unique: true, deleteRule: 'cascade' })
  user!: Rel<User>;

  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();

  @OneToMany(() => CartItem, (i) => i.cart, { orderBy: { addedAt: 'asc' } })
  items = new Collection<CartItem>(this);
}

@Entity({ tableName: 'cart_items' })
@Unique({ properties: ['cart', 'variant'] })
export class CartItem {
  [OptionalProps]?: 'addedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Cart, { deleteRule: 'cascade' })
  cart!: Rel<Cart>;

  @ManyToOne(() => ProductVariant, { deleteRule: 'cascade' })
  variant!: Rel<ProductVariant>;

  @Property({ type: 'integer' })
  quantity!: number;

  @Property({ type: 'datetime' })
  addedAt: Date = new Date();
}
