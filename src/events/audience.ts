import { isAdmin, type Viewer } from '../auth/viewer';
import type { Route } from './envelope';
import { rooms } from './rooms';

export type SubscriptionArgs = Record<string, unknown>;

/**
 * How an audience routes one event, the same way on both transports:
 * - `rooms` gives the Socket.IO rooms of one event (null = every connected socket);
 * - `accepts` decides per event and GraphQL subscriber.
 * Who may join the audience at all is `checkAccess` in `access.ts`, for both transports.
 */
export interface Audience {
  kind: 'everyone' | 'product' | 'user' | 'cart' | 'admin' | 'support';
  rooms(route: Route): string[] | null;
  exceptRooms?(route: Route): string[];
  accepts(route: Route, viewer: Viewer | null, args: SubscriptionArgs): boolean;
  /** A key naming every subscriber that receives exactly the same events (for shared execution). */
  groupKey(viewer: Viewer | null, args: SubscriptionArgs): string;
}

export const everyone = (filter?: { arg: string; routeKey: keyof Route }): Audience => ({
  kind: 'everyone',
  rooms: () => null,
  accepts: (route, _v, args) => {
    if (!filter) return true;
    const wanted = args[filter.arg] as string[] | null | undefined;
    return !wanted || wanted.length === 0 || wanted.includes(route[filter.routeKey] as string);
  },
  groupKey: (_v, args) => {
    const wanted = filter ? (args[filter.arg] as string[] | null | undefined) : undefined;
    return wanted && wanted.length ? `everyone:${[...wanted].sort().join(',')}` : 'everyone';
  },
});

export const productAudience = (): Audience => ({
  kind: 'product',
  rooms: (r) => [rooms.product(r.productId!)],
  accepts: (r, _v, args) => r.productId === args.productId,
  groupKey: (_v, args) => `product:${String(args.productId)}`,
});

export const userAudience = (): Audience => ({
  kind: 'user',
  rooms: (r) => [rooms.user(r.userId!)],
  accepts: (r, v) => !!v && r.userId === v.id,
  groupKey: (v) => `user:${v!.id}`,
});

export const cartAudience = (): Audience => ({
  kind: 'cart',
  rooms: (r) => [rooms.cart(r.userId!)],
  accepts: (r, v) => !!v && r.userId === v.id,
  groupKey: (v) => `cart:${v!.id}`,
});

export const adminAudience = (): Audience => ({
  kind: 'admin',
  rooms: () => [rooms.admin],
  accepts: (_r, v) => isAdmin(v),
  groupKey: () => 'admin',
});

/**
 * The chat's owner and admins. Ownership of the chat is checked by `checkAccess` (it needs the
 * database); here only the event-to-chat match and the typer exclusion.
 */
export const supportAudience = (): Audience => ({
  kind: 'support',
  rooms: (r) => [rooms.support(r.chatId!)],
  exceptRooms: (r) => (r.exceptUserId ? [rooms.user(r.exceptUserId)] : []),
  accepts: (r, v, args) => r.chatId === args.chatId && (!r.exceptUserId || r.exceptUserId !== v?.id),
  groupKey: (v, args) => `support:${String(args.chatId)}:${v!.id}`,
});
