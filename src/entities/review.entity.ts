import { Entity, Enum, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Product } from './product.entity';
import { User } from './user.entity';

export enum ReviewStatus {
  pending = 'pending',
  approved = 'approved',
  rejected = 'rejected',
}

@Entity({ tableName: 'reviews' })
@Unique({ properties: ['user', 'product'] })
export class Review {
  [OptionalProps]?: 'status' | 'createdAt' | 'moderatedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Product, { deleteRule: 'cascade', index: true })
  product!: Rel<Product>;

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: Rel<User>;

  /** 1–5, also enforced by a CHECK constraint. */
  @Property({ type: 'smallint' })
  rating!: number;

  @Property({ type: 'text' })
  title!: string;

  @Property({ type: 'text' })
  body!: string;

  @Enum({ items: () => ReviewStatus, nativeEnumName: 'review_status', index: true })
  status: ReviewStatus = ReviewStatus.pending;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  moderatedAt: Date | null = null;
}
