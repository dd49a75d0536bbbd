import type { z } from 'zod';
import type { Viewer } from '../../auth/viewer';
import { AppError, ErrorCode } from '../../errors';
import type { Services } from '../../services';
import type { SupportChatJoined } from '../../services/support.service';
import type { Bridge } from '../bridge';

/**
 * What a command may do with its socket: join a room, remember the socket's support chat, and send
 * `support_chat_joined`. The full socket type (ShopSocket, src/bridge/socket-types.ts) is derived
 * from the command table, so commands see only this part of it.
 */
export interface CommandSocket {
  /** The socket's SocketData: the support chat it last joined or opened. */
  readonly data: { supportChatId?: string };
  join(room: string): Promise<void> | void;
  emit(event: 'support_chat_joined', data: SupportChatJoined): boolean;
}

export interface CommandContext {
  socket: CommandSocket;
  viewer: Viewer | null;
  services: Services;
  bridge: Bridge;
}

/** A client→server command: its payload schema and the service call it makes. */
export interface Command<S extends z.ZodType = z.ZodType> {
  schema: S;
  /** Signed-in users only (UNAUTHENTICATED otherwise). */
  auth: boolean;
  run(ctx: CommandContext, data: z.output<S>): Promise<unknown>;
}

export const command = <S extends z.ZodType>(c: Command<S>): Command<S> => c;

export function requireViewer(ctx: CommandContext): Viewer {
  if (!ctx.viewer) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Sign in to do this');
  return ctx.viewer;
}
