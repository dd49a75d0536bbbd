import { Collection, Entity, Enum, ManyToMany, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Product } from './product.entity';

export enum FlashSaleState {
  scheduled = 'scheduled',
  active = 'active',
  ended = 'ended',
}

@Entity({ tableName: 'flash_sales' })
export class FlashSale {
  [OptionalProps]?: 'state' | 'description' | 'startedAt' | 'endedAt' | 'createdAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'text' })
  description: string = '';

  /** Whole percent, 1–90. */
  @Property({ type: 'integer' })
  discountPercentage!: number;

  @Property({ type: 'datetime', index: true })
  startTime!: Date;

  @Property({ type: 'datetime', index: true })
  endTime!: Date;

  /** Moved forward only by a conditional UPDATE, so each transition happens once across instances. */
  @Enum({ items: () => FlashSaleState, nativeEnumName: 'flash_sale_state', index: true })
  state: FlashSaleState = FlashSaleState.scheduled;

  @Property({ type: 'datetime', nullable: true })
  startedAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  endedAt: Date | null = null;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @ManyToMany({ entity: () => Product, pivotTable: 'flash_sale_products', joinColumn: 'flash_sale_id', inverseJoinColumn: 'product_id' })
  products = new Collection<Product>(this);
}
