import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import type { Rel } from '@mikro-orm/core';
import { Product } from './product.entity';
import { User } from './user.entity';

@Entity({ tableName: 'product_views' })
export class ProductView {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @ManyToOne(() => Product, { deleteRule: 'cascade', index: true })
  product!: Rel<Product>;

  @ManyToOne(() => User, { nullable: true, deleteRule: 'set null' })
  user!: Rel<User> | null;

  @Property({ type: 'text', nullable: true })
  category!: string | null;

  @Property({ type: 'integer', nullable: true })
  durationMs!: number | null;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}

@Entity({ tableName: 'user_activities' })
export class UserActivity {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @ManyToOne(() => User, { deleteRule: 'cascade', index: true })
  user!: Rel<User>;

  @Property({ type: 'text' })
  kind!: string;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}
