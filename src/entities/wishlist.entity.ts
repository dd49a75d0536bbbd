import { Collection, Entity, ManyToOne, OneToMany, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Product } from './product.entity';
import { User } from './user.entity';

@Entity({ tableName: 'wishlists' })
export class Wishlist {
  [OptionalProps]?: 'createdAt' | 'updatedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => User, { unique: true, deleteRule: 'cascade' })
  user!: Rel<User>;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();

  @OneToMany(() => WishlistItem, (i) => i.wishlist, { orderBy: { addedAt: 'asc' } })
  items = new Collection<WishlistItem>(this);
}

/** A wished product, optionally narrowed to one size/colour ('' when not). */
@Entity({ tableName: 'wishlist_items' })
@Unique({ properties: ['wishlist', 'product', 'size', 'color'] })
export class WishlistItem {
  [OptionalProps]?: 'addedAt' | 'size' | 'color';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Wishlist, { deleteRule: 'cascade' })
  wishlist!: Rel<Wishlist>;

  @ManyToOne(() => Product, { deleteRule: 'cascade', index: true })
  product!: Rel<Product>;

  @Property({ type: 'text' })
  size: string = '';

  @Property({ type: 'text' })
  color: string = '';

  @Property({ type: 'datetime' })
  addedAt: Date = new Date();
}
