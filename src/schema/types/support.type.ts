import { Field, ID, Int, ObjectType } from 'type-graphql';
import { EventUser } from '../../events/payloads/common.payload';

@ObjectType('SupportChat')
export class SupportChatType {
  @Field(() => ID) id!: string;
  @Field({ description: 'The Socket.IO room of the chat: support_<id>.' }) chatRoom!: string;
  @Field(() => EventUser, { description: 'The customer who opened it.' }) user!: EventUser;
  @Field() issue!: string;
  @Field({ description: "'low' | 'normal' | 'medium' | 'high' | 'urgent'" }) priority!: string;
  @Field({ description: "'open' | 'closed'" }) status!: string;
  @Field() createdAt!: string;
  @Field(() => String, { nullable: true }) lastMessageAt!: string | null;
  @Field(() => Int) messageCount!: number;
}

/** A stored message: the fields of `support_message_received` plus its chat. */
@ObjectType('SupportMessage')
export class SupportMessageType {
  @Field(() => ID) id!: string;
  @Field(() => ID) chatId!: string;
  @Field(() => ID) userId!: string;
  @Field(() => EventUser) user!: EventUser;
  @Field() message!: string;
  @Field() timestamp!: string;
  @Field(() => Boolean) isAdmin!: boolean;
}
