import { isAdmin, type Viewer } from '../auth/viewer';
import { AppError, ErrorCode, notFound } from '../errors';
import type { SubscriptionArgs } from './audience';
import type { EventDefinition } from './catalogue';
import { parseRoom } from './rooms';

/**
 * What a connection asks to receive: one audience and the ids that select it. A GraphQL
 * subscription and a Socket.IO room name both come down to one of these.
 */
export type AccessTarget =
  | { kind: 'everyone' }
  | { kind: 'admin' }
  | { kind: 'user'; userId: string }
  | { kind: 'cart'; userId: string }
  | { kind: 'product'; productId: string }
  | { kind: 'support'; chatId: string };

/** The database facts some rules need (the services provide them). */
export interface AccessLookups {
  catalog: { exists(productId: string): Promise<boolean> };
  support: { assertChatAccess(viewer: Viewer, chatId: string): Promise<unknown> };
}

const signedIn = (viewer: Viewer | null): Viewer => {
  if (!viewer) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Sign in to receive these events');
  return viewer;
};

/**
 * The access rule of every audience, used by every transport: a GraphQL subscription when it
 * starts, a Socket.IO `join_room` / `join_cart`, and both again when the viewer's role changes.
 * Throws a coded AppError (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND); returns when allowed.
 */
export async function checkAccess(target: AccessTarget, viewer: Viewer | null, lookups: AccessLookups): Promise<void> {
  switch (target.kind) {
    case 'everyone':
      return;
    case 'product':
      if (!(await lookups.catalog.exists(target.productId))) throw notFound('Product', target.productId);
      return;
    case 'admin':
      if (!isAdmin(signedIn(viewer))) throw new AppError(ErrorCode.FORBIDDEN, 'Admins only');
      return;
    case 'user':
    case 'cart':
      if (signedIn(viewer).id !== target.userId) throw new AppError(ErrorCode.FORBIDDEN, 'These events are for another user');
      return;
    case 'support':
      await lookups.support.assertChatAccess(signedIn(viewer), target.chatId);
      return;
  }
}

/** Whether the rule reads who the viewer is (so a role change or a deleted account can revoke it). */
export const dependsOnViewer = (target: AccessTarget): boolean => target.kind !== 'everyone' && target.kind !== 'product';

/** What a subscription to `def` with `args` asks for. User and cart events are always the viewer's own. */
export function subscriptionTarget(def: EventDefinition, viewer: Viewer | null, args: SubscriptionArgs): AccessTarget {
  switch (def.audience.kind) {
    case 'everyone':
      return { kind: 'everyone' };
    case 'admin':
      return { kind: 'admin' };
    case 'user':
    case 'cart':
      return { kind: def.audience.kind, userId: viewer?.id ?? '' };
    case 'product':
      return { kind: 'product', productId: String(args.productId) };
    case 'support':
      return { kind: 'support', chatId: String(args.chatId) };
  }
}

/** What a `join_room` room name asks for; null for anything that is not such a room. */
export function roomTarget(room: unknown): AccessTarget | null {
  const parsed = parseRoom(room);
  if (!parsed) return null;
  switch (parsed.kind) {
    case 'admin':
      return { kind: 'admin' };
    case 'user':
      return { kind: 'user', userId: parsed.id };
    case 'product':
      return { kind: 'product', productId: parsed.id };
    case 'support':
      return { kind: 'support', chatId: parsed.id };
  }
}
