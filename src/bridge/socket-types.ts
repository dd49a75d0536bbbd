import type { Viewer } from '../auth/viewer';
import type { Catalogue, EventName, PayloadOf } from '../events/catalogue';
import type { ErrorCode } from '../errors';

export type Ack<T = unknown> = (response: { ok: true; data: T } | { ok: false; error: { code: ErrorCode; message: string } }) => void;

/** Every catalogue event, typed from the catalogue, plus the Socket.IO replies. */
export type ServerToClientEvents = {
  [K in EventName]: (payload: PayloadOf<K>) => void;
} & {
  room_joined: (data: { room: string }) => void;
  room_join_error: (data: { room: string; error: string; code: ErrorCode }) => void;
  room_left: (data: { room: string }) => void;
  support_chat_joined: (data: { chatRoom: string; chatId: string; issue: string; priority: string; status: string; createdAt: string }) => void;
  error: (data: { event: string; code: ErrorCode; message: string }) => void;
};

export interface VariantArg { size: string; color: string }
export interface CartBatchItem { action: 'add' | 'remove' | 'set'; productId: string; variant: VariantArg; quantity?: number }

export interface ClientToServerEvents {
  join_room: (data: { room: string; userId?: string }, ack?: Ack) => void;
  leave_room: (data: { room: string }, ack?: Ack) => void;
  join_cart: (ack?: Ack) => void;
  cart_add_item: (data: { productId: string; variant: VariantArg; quantity?: number }, ack?: Ack) => void;
  cart_remove_item: (data: { productId: string; variant: VariantArg }, ack?: Ack) => void;
  cart_batch_update: (items: CartBatchItem[], ack?: Ack) => void;
  product_view: (data: { productId: string; category?: string; duration?: number }, ack?: Ack) => void;
  wishlist_updated: (data: { action: 'item_added' | 'item_removed'; productId: string; variant?: VariantArg; wishlistId?: string }, ack?: Ack) => void;
  user_activity: (data?: { activity?: string }, ack?: Ack) => void;
  join_support_chat: (data: { issue: string; priority?: string; chatId?: string }, ack?: Ack) => void;
  support_message: (data: { message: string; chatId?: string }, ack?: Ack) => void;
  typing_start: (data: { room: string }, ack?: Ack) => void;
  typing_stop: (data: { room: string }, ack?: Ack) => void;
}

export interface SocketData {
  viewer: Viewer | null;
  /** The support chat this socket last joined or opened (the target of `support_message`). */
  supportChatId?: string;
}

export type { Catalogue };
