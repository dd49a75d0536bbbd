import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

export enum Role {
  CUSTOMER = 'CUSTOMER',
  ADMIN = 'ADMIN',
}

@Entity({ tableName: 'users' })
export class User {
  [OptionalProps]?: 'role' | 'createdAt' | 'deletedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** Stored lower-cased: emails are unique regardless of case. */
  @Property({ type: 'text', unique: true })
  email!: string;

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'text', hidden: true, lazy: true })
  passwordHash!: string;

  @Enum({ items: () => Role, nativeEnumName: 'user_role' })
  role: Role = Role.CUSTOMER;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  /** Set by `deleteAccount`: the row stays (orders keep their customer) with its personal data wiped. */
  @Property({ type: 'datetime', nullable: true })
  deletedAt: Date | null = null;
}
