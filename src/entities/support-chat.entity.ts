import { Collection, Entity, Enum, ManyToOne, OneToMany, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import type { Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { User } from './user.entity';

export enum SupportChatStatus {
  open = 'open',
  closed = 'closed',
}

@Entity({ tableName: 'support_chats' })
export class SupportChat {
  [OptionalProps]?: 'status' | 'createdAt' | 'priority';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => User, { deleteRule: 'cascade', index: true })
  user!: Rel<User>;

  @Property({ type: 'text' })
  issue!: string;

  @Property({ type: 'text' })
  priority: string = 'normal';

  @Enum({ items: () => SupportChatStatus, nativeEnumName: 'support_chat_status', index: true })
  status: SupportChatStatus = SupportChatStatus.open;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @OneToMany(() => SupportMessage, (m) => m.chat, { orderBy: { id: 'asc' } })
  messages = new Collection<SupportMessage>(this);
}

@Entity({ tableName: 'support_messages' })
export class SupportMessage {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @ManyToOne(() => SupportChat, { deleteRule: 'cascade' })
  chat!: Rel<SupportChat>;

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  sender!: Rel<User>;

  @Property({ type: 'boolean' })
  isAdmin!: boolean;

  @Property({ type: 'text' })
  message!: string;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}
