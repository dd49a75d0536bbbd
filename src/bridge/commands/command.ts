import type { z } from 'zod';
import type { Viewer } from '../../auth/viewer';
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

/** A signed-in command's context: the dispatcher refused anonymous sockets before `run`. */
type SignedInContext = CommandContext & { viewer: Viewer };

/**
 * A client→server command: its payload schema and the service call it makes. `auth: true`
 * commands are for signed-in users only: the dispatcher answers UNAUTHENTICATED otherwise, and
 * `run` gets the viewer.
 */
export type Command<S extends z.ZodType = z.ZodType> =
  | { schema: S; auth: false; run(ctx: CommandContext, data: z.output<S>): Promise<unknown> }
  | { schema: S; auth: true; run(ctx: SignedInContext, data: z.output<S>): Promise<unknown> };

export const command = <S extends z.ZodType>(c: Command<S>): Command<S> => c;
