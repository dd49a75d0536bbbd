import type { Socket } from 'socket.io';
import type { Viewer } from '../auth/viewer';
import type { SupportChatJoined } from '../services/support.service';
import type { Session } from '../services/user.service';
import type { Catalogue, EventName, PayloadOf } from '../events/catalogue';
import type { ErrorCode } from '../errors';
import type { CommandName, CommandPayload } from './commands';

export type Ack<T = unknown> = (response: { ok: true; data: T } | { ok: false; error: { code: ErrorCode; message: string } }) => void;

/** Every catalogue event, typed from the catalogue, plus the Socket.IO replies. */
/**
 * A durable event's `eventId` and a `room_joined`'s position also travel as a last, extra argument:
 * the offset socket.io-client keeps for connection state recovery.
 */
export type ServerToClientEvents = {
  [K in EventName]: (payload: PayloadOf<K>, offset?: string) => void;
} & {
  room_joined: (data: { room: string }, offset?: string) => void;
  room_join_error: (data: { room: string; error: string; code: ErrorCode }) => void;
  /** The socket was taken out of a room it may no longer be in (its user's role changed). */
  room_left: (data: { room: string; code: ErrorCode }) => void;
  support_chat_joined: (data: SupportChatJoined) => void;
  error: (data: { event: string; code: ErrorCode; message: string }) => void;
};

/**
 * What clients may send: the room commands, plus every command of the command table with its
 * payload typed from the command's own schema (so the typing cannot drift from the validation).
 */
export type ClientToServerEvents = {
  join_room: (data: { room: string; userId?: string }, ack?: Ack) => void;
  leave_room: (data: { room: string }, ack?: Ack) => void;
  join_cart: (ack?: Ack) => void;
  /** Replays every durable event after `after` for this socket's rooms and for everyone. */
  resume: (data: { after: string }, ack?: Ack<{ replayed: number }>) => void;
} & {
  [K in CommandName]: (data: CommandPayload<K>, ack?: Ack) => void;
};

export interface SocketData {
  viewer: Viewer | null;
  /** The token this socket connected with (signed-in sockets): its id, expiry and user. */
  session?: Session;
  /** The support chat this socket last joined or opened (the target of `support_message`). */
  supportChatId?: string;
}

/** A connected socket: both event maps, and what the connection keeps (commands see a part of it, CommandSocket). */
export type ShopSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

