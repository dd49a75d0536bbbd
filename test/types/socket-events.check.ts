/**
 * Compile-time checks (run by `tsc --noEmit` in CI): the Socket.IO event maps exported for client
 * code are derived from the catalogue and the command table, and reject wrong payloads.
 */
import { z } from 'zod';
import { command } from '../../src/bridge/commands/command';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/bridge/socket-types';
import type { EventName } from '../../src/events/catalogue';

type AddItem = Parameters<ClientToServerEvents['cart_add_item']>[0];
export const addItem: AddItem = { productId: 'p', variant: { size: '9', color: 'black' }, quantity: 1 };
// @ts-expect-error a cart item needs its variant
export const noVariant: AddItem = { productId: 'p' };

export const commandNames: Array<keyof ClientToServerEvents> = [
  'join_room', 'join_cart', 'cart_add_item', 'cart_remove_item', 'cart_batch_update', 'product_view',
  'wishlist_updated', 'user_activity', 'join_support_chat', 'support_message', 'typing_start', 'typing_stop',
];

type Low = Parameters<ServerToClientEvents['low_stock_alert']>[0];
export const low: Low = {
  eventId: '0000000000000001', productId: 'p', productName: 'Shoe', variant: { size: '9', color: 'black' }, currentStock: 2,
  lowStockThreshold: 5, severity: 'warning', timestamp: '2026-01-01T00:00:00.000Z',
};
// @ts-expect-error every documented field is required
export const partial: Low = { productId: 'p' };

/** Every catalogue event is a key of the server→client map. */
export const everyEvent: Array<keyof ServerToClientEvents> = [] as EventName[];

/** Signed-in commands' `run` gets the viewer; the others may be anonymous. */
export const signedIn = command({ schema: z.object({}), auth: true, run: async (ctx) => ctx.viewer.id });
// @ts-expect-error a command without `auth: true` may come from an anonymous socket
export const anonymous = command({ schema: z.object({}), auth: false, run: async (ctx) => ctx.viewer.id });
