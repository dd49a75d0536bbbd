import { adminAudience, cartAudience, everyone, productAudience, supportAudience, userAudience } from '../../src/events/audience';
import { checkAccess, dependsOnViewer, roomTarget, subscriptionTarget, type AccessLookups, type AccessTarget } from '../../src/events/access';
import { catalogue, type EventName } from '../../src/events/catalogue';
import { parseRoom, rooms } from '../../src/events/rooms';
import { AppError, ErrorCode } from '../../src/errors';
import { TokenBucket } from '../../src/bridge/rate-limit';
import { OrderStatus } from '../../src/entities/order.entity';
import { Role } from '../../src/entities/user.entity';
import { canMove } from '../../src/services/order.service';
import { toCents, toMoney } from '../../src/services/context';
import { compareVariants } from '../../src/services/catalog.service';
import type { Viewer } from '../../src/auth/viewer';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const alice: Viewer = { id: id(1), email: 'a@x', name: 'A', role: Role.CUSTOMER };
const bob: Viewer = { id: id(2), email: 'b@x', name: 'B', role: Role.CUSTOMER };
const admin: Viewer = { id: id(3), email: 'c@x', name: 'C', role: Role.ADMIN };

describe('room names', () => {
  it('parses exactly the rooms of the contract', () => {
    expect(parseRoom('admin')).toEqual({ kind: 'admin' });
    expect(parseRoom(rooms.user(id(1)))).toEqual({ kind: 'user', id: id(1) });
    expect(parseRoom(rooms.product(id(2)))).toEqual({ kind: 'product', id: id(2) });
    expect(parseRoom(rooms.support(id(3)))).toEqual({ kind: 'support', id: id(3) });
    for (const bad of ['ADMIN', 'admin ', ' admin', '__proto__', 'constructor', 'user_', 'user_1', `user_${id(1)} `,
      `USER_${id(1)}`, rooms.cart(id(1)), 'product_../../etc', 'x'.repeat(200), 42, null, undefined, {}, ['admin']]) {
      expect(parseRoom(bad)).toBeNull();
    }
  });
});

describe('audience rules', () => {
  it('user and cart events reach their owner only, and need a signed-in subscriber', () => {
    for (const a of [userAudience(), cartAudience()]) {
      expect(a.accepts({ userId: alice.id }, alice, {})).toBe(true);
      expect(a.accepts({ userId: alice.id }, bob, {})).toBe(false);
      expect(a.accepts({ userId: alice.id }, null, {})).toBe(false);
    }
    expect(userAudience().rooms({ userId: alice.id })).toEqual([`user_${alice.id}`]);
    expect(cartAudience().rooms({ userId: alice.id })).toEqual([`cart_${alice.id}`]);
  });

  it('admin events reach admins only, through the admin room on Socket.IO', () => {
    const a = adminAudience();
    expect(a.accepts({}, admin, {})).toBe(true);
    expect(a.accepts({}, alice, {})).toBe(false);
    expect(a.rooms({})).toEqual(['admin']);
  });

  it('product events match the subscribed product', () => {
    const a = productAudience();
    expect(a.accepts({ productId: id(5) }, null, { productId: id(5) })).toBe(true);
    expect(a.accepts({ productId: id(5) }, null, { productId: id(6) })).toBe(false);
    expect(a.rooms({ productId: id(5) })).toEqual([`product_${id(5)}`]);
  });

  it('everyone events honour an optional product filter', () => {
    const a = everyone({ arg: 'productIds', routeKey: 'productId' });
    expect(a.accepts({ productId: id(5) }, null, {})).toBe(true);
    expect(a.accepts({ productId: id(5) }, null, { productIds: [] })).toBe(true);
    expect(a.accepts({ productId: id(5) }, null, { productIds: [id(5), id(7)] })).toBe(true);
    expect(a.accepts({ productId: id(5) }, null, { productIds: [id(7)] })).toBe(false);
    expect(a.rooms({})).toBeNull();
  });

  it('support events go to the chat and never back to the typer', () => {
    const a = supportAudience();
    const route = { chatId: id(9), exceptUserId: admin.id };
    expect(a.accepts(route, alice, { chatId: id(9) })).toBe(true);
    expect(a.accepts(route, admin, { chatId: id(9) })).toBe(false);
    expect(a.accepts(route, alice, { chatId: id(8) })).toBe(false);
    expect(a.rooms(route)).toEqual([`support_${id(9)}`]);
    expect(a.exceptRooms!(route)).toEqual([`user_${admin.id}`]);
  });
});

describe('access rules (one per audience, for subscriptions and rooms)', () => {
  const lookups: AccessLookups = {
    catalog: { exists: async (productId) => productId === id(5) },
    support: {
      assertChatAccess: async (v, chatId) => {
        if (chatId !== id(9)) throw new AppError(ErrorCode.NOT_FOUND, 'Support chat not found');
        if (v.id !== alice.id && v.role !== Role.ADMIN) throw new AppError(ErrorCode.FORBIDDEN, 'This support chat is not yours');
      },
    },
  };
  const code = (target: AccessTarget | null, viewer: Viewer | null) =>
    checkAccess(target!, viewer, lookups).then(() => 'ok', (e: AppError) => e.code);

  it('decides each audience the same for a room name and for a subscription', async () => {
    const cases: Array<[string, EventName, Record<string, unknown>, Viewer | null, string]> = [
      ['admin', 'new_order', {}, admin, 'ok'],
      ['admin', 'new_order', {}, alice, 'FORBIDDEN'],
      ['admin', 'new_order', {}, null, 'UNAUTHENTICATED'],
      [`product_${id(5)}`, 'product_stock_update', { productId: id(5) }, null, 'ok'],
      [`product_${id(6)}`, 'product_stock_update', { productId: id(6) }, alice, 'NOT_FOUND'],
      [`support_${id(9)}`, 'user_typing', { chatId: id(9) }, alice, 'ok'],
      [`support_${id(9)}`, 'user_typing', { chatId: id(9) }, admin, 'ok'],
      [`support_${id(9)}`, 'user_typing', { chatId: id(9) }, bob, 'FORBIDDEN'],
      [`support_${id(9)}`, 'user_typing', { chatId: id(9) }, null, 'UNAUTHENTICATED'],
      [`user_${alice.id}`, 'order_status_update', {}, alice, 'ok'],
      [`user_${alice.id}`, 'order_status_update', {}, null, 'UNAUTHENTICATED'],
    ];
    for (const [room, event, args, viewer, expected] of cases) {
      const viaRoom = await code(roomTarget(room), viewer);
      const viaSubscription = await code(subscriptionTarget(catalogue[event], viewer, args), viewer);
      expect([room, event, viewer?.name ?? 'anonymous', viaRoom, viaSubscription]).toEqual([room, event, viewer?.name ?? 'anonymous', expected, expected]);
    }
  });

  it("refuses another user's room; subscriptions to user events are always the viewer's own", async () => {
    expect(await code(roomTarget(`user_${alice.id}`), bob)).toBe('FORBIDDEN');
    expect(await code(subscriptionTarget(catalogue.order_status_update, bob, {}), bob)).toBe('ok');
    expect(await code({ kind: 'cart', userId: alice.id }, bob)).toBe('FORBIDDEN');
    expect(roomTarget(rooms.cart(alice.id))).toBeNull();
    expect(roomTarget('ADMIN')).toBeNull();
  });

  it('says which rules depend on the viewer (re-checked when a role changes)', () => {
    expect(dependsOnViewer({ kind: 'admin' })).toBe(true);
    expect(dependsOnViewer({ kind: 'support', chatId: id(9) })).toBe(true);
    expect(dependsOnViewer({ kind: 'product', productId: id(5) })).toBe(false);
    expect(dependsOnViewer({ kind: 'everyone' })).toBe(false);
  });
});

describe('money', () => {
  it('keeps cents exact', () => {
    expect(toCents(149.99)).toBe(14999);
    expect(toCents(0.1 + 0.2)).toBe(30);
    expect(toMoney(14999)).toBe(149.99);
  });

  it('orders sizes numerically, then by colour', () => {
    const sorted = [{ size: '10', color: 'black' }, { size: '8', color: 'white' }, { size: '8', color: 'black' }, { size: '9.5', color: 'red' }].sort(compareVariants);
    expect(sorted.map((v) => `${v.size}/${v.color}`)).toEqual(['8/black', '8/white', '9.5/red', '10/black']);
  });
});

describe('order status machine', () => {
  const S = OrderStatus;
  it('allows exactly the moves of the contract', () => {
    const allowed = new Set([
      'pending>confirmed', 'confirmed>processing', 'processing>shipped', 'shipped>delivered',
      'pending>cancelled', 'confirmed>cancelled', 'processing>cancelled', 'delivered>refunded',
    ]);
    for (const from of Object.values(S)) {
      for (const to of Object.values(S)) {
        expect([`${from}>${to}`, canMove(from, to)]).toEqual([`${from}>${to}`, allowed.has(`${from}>${to}`)]);
      }
    }
  });
});

describe('token bucket', () => {
  it('allows the burst, then refuses until time refills it', () => {
    const b = new TokenBucket(3, 60_000);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
  });
});
