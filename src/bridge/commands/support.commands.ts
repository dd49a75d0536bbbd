import { z } from 'zod';
import { isAdmin } from '../../auth/viewer';
import { AppError, ErrorCode } from '../../errors';
import { command, type Command } from './command';

const typing = (isTyping: boolean) =>
  command({
    schema: z.object({ room: z.string().max(100) }),
    auth: true,
    run: (ctx, data) => ctx.services.support.setTyping(ctx.viewer, data.room, isTyping).then(() => ({ room: data.room, isTyping })),
  });

/** Support chat commands from Socket.IO clients: the same service calls as the support mutations. */
export const supportCommands = {
  /**
   * `{ issue, priority? }` opens a chat; `{ chatId }` rejoins one the caller may access. The socket
   * joins `support_<chatId>`, becomes that chat's default for `support_message`, and gets
   * `support_chat_joined` (also the acknowledgement's data).
   */
  join_support_chat: command({
    schema: z.object({
      issue: z.string().max(500).nullish(),
      priority: z.string().max(20).nullish(),
      chatId: z.string().max(100).nullish(),
    }),
    auth: true,
    run: async (ctx, data) => {
      const joined = await ctx.services.support.joinChat(ctx.viewer, data);
      await ctx.socket.join(joined.chatRoom);
      ctx.socket.data.supportChatId = joined.chatId;
      ctx.socket.emit('support_chat_joined', joined);
      return joined;
    },
  }),

  /** `{ message, chatId? }`: the owner may omit chatId (the socket's chat); admins name the chat. */
  support_message: command({
    schema: z.object({ message: z.string(), chatId: z.string().max(100).nullish() }),
    auth: true,
    run: (ctx, data) => {
      const viewer = ctx.viewer;
      const chatId = data.chatId ?? (isAdmin(viewer) ? undefined : ctx.socket.data.supportChatId);
      if (!chatId) {
        throw new AppError(ErrorCode.BAD_USER_INPUT, isAdmin(viewer) ? 'Admins must give chatId' : 'Join a support chat first (join_support_chat) or give chatId');
      }
      return ctx.services.support.sendMessage(viewer, chatId, data.message);
    },
  }),

  typing_start: typing(true),
  typing_stop: typing(false),
} satisfies Record<string, Command>;
