import { Collection, Entity, OneToMany, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { ProductVariant } from './product-variant.entity';

@Entity({ tableName: 'products' })
export class Product {
  [OptionalProps]?: 'description' | 'lowStockThreshold' | 'imageUrl' | 'createdAt' | 'updatedAt' | 'ratingSum' | 'ratingCount';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'text' })
  description: string = '';

  @Property({ type: 'text', index: true })
  brand!: string;

  @Property({ type: 'text', index: true })
  category!: string;

  /** Money is kept in integer cents. */
  @Property({ type: 'integer' })
  priceCents!: number;

  @Property({ type: 'integer' })
  lowStockThreshold: number = 5;

  @Property({ type: 'text', nullable: true })
  imageUrl: string | null = null;

  /** Approved reviews only; maintained by the review service in the moderating transaction. */
  @Property({ type: 'integer' })
  ratingSum: number = 0;

  @Property({ type: 'integer' })
  ratingCount: number = 0;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  @OneToMany(() => ProductVariant, (v) => v.product, { orderBy: { size: 'asc', color: 'asc' } })
  variants = new Collection<ProductVariant>(this);
}
