import { Field, ID, ObjectType } from 'type-graphql';
import { EventUser, DurablePayload } from './common.payload';

@ObjectType({ implements: DurablePayload })
export class SupportMessageReceivedPayload extends DurablePayload {
  @Field(() => ID) id!: string;
  @Field(() => ID) userId!: string;
  @Field(() => EventUser) user!: EventUser;
  @Field() message!: string;
  @Field() timestamp!: string;
  @Field(() => Boolean) isAdmin!: boolean;
}

@ObjectType({ implements: DurablePayload })
export class NewSupportRequestPayload extends DurablePayload {
  @Field(() => ID) chatId!: string;
  @Field() chatRoom!: string;
  @Field(() => EventUser) user!: EventUser;
  @Field() issue!: string;
  @Field() priority!: string;
  @Field() timestamp!: string;
}

@ObjectType()
export class UserTypingPayload {
  @Field(() => ID) userId!: string;
  @Field(() => EventUser) user!: EventUser;
  @Field(() => Boolean) isTyping!: boolean;
}
