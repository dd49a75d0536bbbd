import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { GqlContext } from '../schema/context';
import { SupportChatType, SupportMessageType } from '../schema/types/support.type';

/** Support chats: customers open them and talk with admins. */
@Resolver()
export class SupportResolver {
  @Authorized()
  @Query(() => [SupportChatType], { description: "The viewer's support chats, newest first; every chat for admins." })
  supportChats(
    @Ctx() ctx: GqlContext,
    @Arg('first', () => Int, { nullable: true, description: 'At most this many (1–200, default 50).' }) first?: number,
    @Arg('status', () => String, { nullable: true, description: "'open' or 'closed'." }) status?: string,
  ): Promise<SupportChatType[]> {
    return ctx.services.support.chats(ctx.viewer!, { first, status });
  }

  @Authorized()
  @Query(() => [SupportMessageType], { description: "A chat's messages, oldest first (its owner and admins)." })
  supportMessages(
    @Arg('chatId', () => ID) chatId: string,
    @Ctx() ctx: GqlContext,
    @Arg('last', () => Int, { nullable: true, description: 'Only the latest this many (1–1000, default 200).' }) last?: number,
  ): Promise<SupportMessageType[]> {
    return ctx.services.support.messages(ctx.viewer!, chatId, { last });
  }

  @Authorized()
  @Mutation(() => SupportChatType, { description: 'Opens a support chat; admins get new_support_request.' })
  openSupportChat(
    @Arg('issue') issue: string,
    @Ctx() ctx: GqlContext,
    @Arg('priority', () => String, { nullable: true, description: "'low' | 'normal' (default) | 'medium' | 'high' | 'urgent'" }) priority?: string,
  ): Promise<SupportChatType> {
    return ctx.services.support.openChat(ctx.viewer!, { issue, priority });
  }

  @Authorized()
  @Mutation(() => SupportMessageType, { description: "Posts 1–2000 characters to a chat (its owner or an admin): support_message_received to the chat's room." })
  sendSupportMessage(@Arg('chatId', () => ID) chatId: string, @Arg('message') message: string, @Ctx() ctx: GqlContext): Promise<SupportMessageType> {
    return ctx.services.support.sendMessage(ctx.viewer!, chatId, message);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'Typing indicator in support_<chatId>: the others in the chat get user_typing.' })
  setTyping(@Arg('room') room: string, @Arg('isTyping', () => Boolean) isTyping: boolean, @Ctx() ctx: GqlContext): Promise<boolean> {
    return ctx.services.support.setTyping(ctx.viewer!, room, isTyping);
  }
}
