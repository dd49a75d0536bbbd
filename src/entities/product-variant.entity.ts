import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Product } from './product.entity';

@Entity({ tableName: 'product_variants' })
@Unique({ properties: ['product', 'size', 'color'] })
export class ProductVariant {
  [OptionalProps]?: 'stock';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Product, { deleteRule: 'cascade' })
  product!: Rel<Product>;

  @Property({ type: 'text' })
  size!: string;

  @Property({ type: 'text' })
  color!: string;

  @Property({ type: 'text', unique: true })
  sku!: string;

  /** Never below zero: a CHECK constraint backs the conditional UPDATE in StockService. */
  @Property({ type: 'integer' })
  stock: number = 0;
}
