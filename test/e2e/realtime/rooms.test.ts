import type { Socket } from 'socket.io-client';
import { emitAck, recordSocket, socketV4, waitFor } from '../../support/clients';
import { makeAdmin, makeProduct, makeUser, raiseEvent, type TestUser } from '../../support/fixtures';
import { useShop } from '../../support/use-shop';

const { shop, track } = useShop();
let admin: TestUser;
let alice: TestUser;
let bob: TestUser;
let productId: string;

const connect = async (token?: string) => {
  const s = await socketV4(shop().url, token);
  track(s);
  return s;
};

beforeAll(async () => {
  admin = await makeAdmin(shop());
  alice = await makeUser(shop());
  bob = await makeUser(shop());
  productId = (await makeProduct(shop())).id;
});

/** join_room with an ack, and the room_joined / room_join_error event that goes with it. */
async function join(s: Socket, room: unknown) {
  const rec = recordSocket(s);
  const ack = await emitAck(s, 'join_room', { room });
  await waitFor(() => rec.of('room_joined').length + rec.of('room_join_error').length > 0, 2000, 'room reply');
  return { ack, joined: rec.of('room_joined')[0], error: rec.of('room_join_error')[0] };
}

describe('join_room rules', () => {
  it('lets a user join its own user room, a product room, and admins the admin room', async () => {
    const a = await connect(alice.token);
    expect(await join(a, `user_${alice.id}`)).toMatchObject({ ack: { ok: true }, joined: { room: `user_${alice.id}` } });
    expect(await join(a, `product_${productId}`)).toMatchObject({ ack: { ok: true }, joined: { room: `product_${productId}` } });
    const ad = await connect(admin.token);
    expect(await join(ad, 'admin')).toMatchObject({ ack: { ok: true }, joined: { room: 'admin' } });
    const anon = await connect();
    expect(await join(anon, `product_${productId}`)).toMatchObject({ joined: { room: `product_${productId}` } });
  });

  it.each([
    ['another user room', () => `user_${bob.id}`, 'FORBIDDEN'],
    ['admin as a customer', () => 'admin', 'FORBIDDEN'],
    ['ADMIN (case differs)', () => 'ADMIN', 'NOT_FOUND'],
    ['admin with a trailing space', () => 'admin ', 'NOT_FOUND'],
    ['__proto__', () => '__proto__', 'NOT_FOUND'],
    ['constructor', () => 'constructor', 'NOT_FOUND'],
    ['an unknown product', () => 'product_00000000-0000-4000-8000-000000000000', 'NOT_FOUND'],
    ['a product id that is not an id', () => 'product_1 OR 1=1', 'NOT_FOUND'],
    ['an unknown support chat', () => 'support_00000000-0000-4000-8000-000000000000', 'NOT_FOUND'],
    ['the cart room through join_room', () => `cart_${alice.id}`, 'NOT_FOUND'],
    ['a number', () => 42, 'NOT_FOUND'],
    ['nothing', () => undefined, 'NOT_FOUND'],
  ])('refuses %s with room_join_error and stays connected', async (_what, room, code) => {
    const s = await connect(alice.token);
    const r = await join(s, room());
    expect(r.ack).toMatchObject({ ok: false, error: { code } });
    expect(r.error).toMatchObject({ code, error: expect.any(String) });
    expect(s.connected).toBe(true);
    expect((await emitAck(s, 'join_room', { room: `user_${alice.id}` })).ok).toBe(true);
  });

  it('answers anonymous sockets UNAUTHENTICATED for user, admin and support rooms', async () => {
    const anon = await connect();
    for (const room of [`user_${alice.id}`, 'admin', 'support_00000000-0000-4000-8000-000000000000']) {
      const r = await join(anon, room);
      expect(r.error).toMatchObject({ room, code: 'UNAUTHENTICATED' });
    }
  });

  it('sends room_join_error without an ack callback too', async () => {
    const s = await connect(alice.token);
    const rec = recordSocket(s);
    s.emit('join_room', { room: 'admin' });
    await waitFor(() => rec.of('room_join_error').length === 1, 2000, 'room_join_error');
    expect(rec.of('room_join_error')[0]).toMatchObject({ room: 'admin', code: 'FORBIDDEN' });
    expect(rec.of('error')).toHaveLength(0);
  });

  it('joins the user room automatically on connect', async () => {
    const s = await connect(alice.token);
    const rec = recordSocket(s);
    await shop().hub.publish('user_offline', { userId: 'x', timestamp: new Date().toISOString() });
    await raiseEvent(shop(), 'order_status_update', {
      orderId: 'o1', orderNumber: 'ORD-2026-000001', status: 'shipped', statusHistory: [], estimatedDelivery: null, tracking: null,
      timestamp: new Date().toISOString(),
    }, { userId: alice.id });
    await waitFor(() => rec.of('order_status_update').length === 1, 3000, 'order_status_update');
    expect(rec.of('user_offline')).toHaveLength(0);
  });
});
