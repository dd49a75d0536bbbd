import jwt from 'jsonwebtoken';
import { io as ioV4, type Socket } from 'socket.io-client';
import ioV2 from 'socket.io-client-v2';
import { emitAck, gqlOk, sleep, waitFor } from '../../support/clients';
import { makeAdmin, makeProduct, makeUser, type TestUser } from '../../support/fixtures';
import { startProxy } from '../../support/proxy';
import { TEST_JWT_SECRET } from '../../support/shop';
import { useShop } from '../../support/use-shop';

/**
 * socket.io-client v4's own connection state recovery, served from the event log: the stock client
 * (no recovery code of its own) loses its transport, events are raised while it is away, and it
 * comes back — to the same instance or to the other one — recovered, in its rooms, with every
 * missed durable event once, in order, before newer ones. Legacy clients use `resume { after }`.
 */
const { a, b, track } = useShop({ instances: 2 });
let admin: TestUser;

const ADJUST = 'mutation($id: ID!, $d: Int!) { adjustStock(productId: $id, variant: { size: "9", color: "black" }, delta: $d) { id } }';
const ADD = 'mutation($id: ID!) { addToCart(productId: $id, variant: { size: "9", color: "black" }, quantity: 1) { itemCount } }';

beforeAll(async () => {
  admin = await makeAdmin(a());
});

/** Every event a socket receives, with the offset argument that came with it. */
function record(s: Socket) {
  const got: Array<{ event: string; data: any; offset: unknown }> = [];
  s.onAny((event: string, data: any, offset: unknown) => got.push({ event, data, offset }));
  return { got, of: (event: string) => got.filter((g) => g.event === event).map((g) => g.data) };
}

/** The stock client, as the events document connects it (plus a fixed reconnection delay for the test's timing). */
function stockClient(url: string, token: string): Promise<Socket> {
  const s = ioV4(url, { auth: { token }, transports: ['websocket'], forceNew: true, reconnectionDelay: 1500, reconnectionDelayMax: 1500, randomizationFactor: 0 });
  track(s);
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

const durableIds = (rec: ReturnType<typeof record>) =>
  rec.got.filter((g) => typeof g.data?.eventId === 'string').map((g) => g.data.eventId as string);

describe('Socket.IO connection state recovery on the event log', () => {
  for (const route of ['the same instance', 'the other instance'] as const) {
    it(`the stock client recovers on ${route}: rooms kept, every missed durable event once, in order`, async () => {
      let target = a();
      const proxy = await startProxy(() => target.port);
      track(proxy);
      const alice = await makeUser(a());
      const product = await makeProduct(a(), [{ size: '9', color: 'black', stock: 100 }]);
      const s = await stockClient(proxy.url, alice.token);
      const rec = record(s);
      expect((await emitAck(s, 'join_room', { room: `product_${product.id}` })).ok).toBe(true);
      expect((await emitAck(s, 'join_cart')).ok).toBe(true);
      await gqlOk(a().url, ADJUST, { id: product.id, d: -1 }, admin.token);
      await waitFor(() => rec.of('product_stock_update').length === 1, 5000, 'a first live event');
      expect(rec.got.find((g) => g.event === 'product_stock_update')!.offset).toBe(rec.of('product_stock_update')[0].eventId);

      // The network drops; events are raised in the product room, the cart room and to everyone.
      // The Manager's `reconnect` fires when the transport is back; the socket's `connect` when the server answered.
      const reconnected = new Promise<void>((resolve) => s.io.once('reconnect', () => s.once('connect', () => resolve())));
      if (route === 'the other instance') target = b();
      proxy.breakAll();
      await waitFor(() => !s.connected, 3000, 'the client to notice');
      const upToNow = rec.got.length;
      await gqlOk(b().url, ADJUST, { id: product.id, d: -2 }, admin.token);
      await gqlOk(a().url, ADD, { id: product.id }, alice.token);
      await gqlOk(b().url, ADJUST, { id: product.id, d: -3 }, admin.token);
      await reconnected;
      expect(s.recovered).toBe(true);
      await gqlOk(a().url, ADJUST, { id: product.id, d: -4 }, admin.token);

      await waitFor(() => rec.of('product_stock_update').length === 4, 5000, 'missed + new stock events');
      await sleep(300);
      const after = rec.got.slice(upToNow);
      expect(after.filter((g) => g.event === 'product_stock_update').map((g) => g.data.stock)).toEqual([97, 94, 90]);
      expect(after.filter((g) => g.event === 'cart_updated').map((g) => g.data.cart.itemCount)).toEqual([1]);
      expect(after.filter((g) => g.event === 'inventory_update' && g.data.productId === product.id).map((g) => g.data.stockChange)).toEqual([-2, -3, -4]);
      // Missed ones before newer ones, and the whole sequence in eventId order, none twice.
      const ids = durableIds(rec);
      expect([...ids].sort()).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
      // Still in its rooms for what comes next.
      const sent = await emitAck(s, 'cart_add_item', { productId: product.id, variant: { size: '9', color: 'black' }, quantity: 1 });
      expect(sent.ok).toBe(true);
      await waitFor(() => rec.of('cart_updated').length >= 2, 5000, 'a live cart event after recovery');
    });
  }

  it('refuses recovery with UNAUTHENTICATED when the token expired while the client was away; nothing is replayed', async () => {
    const bob = await makeUser(a());
    const product = await makeProduct(a(), [{ size: '9', color: 'black', stock: 100 }]);
    const proxy = await startProxy(() => a().port);
    track(proxy);
    const shortToken = jwt.sign({ sub: bob.id, role: 'CUSTOMER' }, TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: 3, issuer: a().config.jwtIssuer, audience: a().config.jwtAudience });
    const s = await stockClient(proxy.url, shortToken);
    const rec = record(s);
    expect((await emitAck(s, 'join_room', { room: `product_${product.id}` })).ok).toBe(true);
    await gqlOk(a().url, ADJUST, { id: product.id, d: -1 }, admin.token);
    await waitFor(() => rec.of('product_stock_update').length === 1, 5000, 'a first event');
    const refused = new Promise<any>((resolve) => s.on('connect_error', resolve));
    // Away until the token has expired (if the server has not closed the connection itself by then).
    await sleep(3200);
    proxy.breakAll();
    await gqlOk(a().url, ADJUST, { id: product.id, d: -1 }, admin.token);
    const err = await refused;
    expect(err.data?.code).toBe('UNAUTHENTICATED');
    s.close();
    expect(rec.of('product_stock_update')).toHaveLength(1);
  }, 20_000);

  it('legacy clients: resume { after } replays what the socket missed in its rooms, acknowledges the count, and refuses unknown positions', async () => {
    const carol = await makeUser(a());
    const product = await makeProduct(a(), [{ size: '9', color: 'black', stock: 100 }]);
    const connect = () => new Promise<any>((resolve, reject) => {
      const s = ioV2(b().url, { transports: ['websocket'], query: { token: carol.token }, reconnection: false, forceNew: true });
      track(s);
      s.once('connect', () => resolve(s));
      s.once('connect_error', reject);
    });
    const first = await connect();
    const stock1: any[] = [];
    first.on('product_stock_update', (d: any) => stock1.push(d));
    await new Promise((r) => first.emit('join_room', { room: `product_${product.id}` }, r));
    await gqlOk(a().url, ADJUST, { id: product.id, d: -1 }, admin.token);
    await waitFor(() => stock1.length === 1, 5000, 'a first event');
    const last = stock1[0].eventId;
    first.close();
    for (const d of [-2, -3]) await gqlOk(a().url, ADJUST, { id: product.id, d }, admin.token);
    await gqlOk(a().url, ADD, { id: product.id }, carol.token); // a cart event: not in a room this socket is in
    // The events were raised on a; the socket comes back on b once b has them too (else the last
    // ones would reach it live, not by the replay this test counts).
    await waitFor(() => b().log.current() >= a().log.current(), 5000, 'b to have delivered the events');

    const second = await connect();
    const got: Array<[string, any]> = [];
    for (const ev of ['product_stock_update', 'inventory_update', 'cart_updated']) second.on(ev, (d: any) => got.push([ev, d]));
    await new Promise((r) => second.emit('join_room', { room: `product_${product.id}` }, r));
    const ack = await new Promise<any>((r) => second.emit('resume', { after: last }, r));
    expect(ack).toEqual({ ok: true, data: { replayed: 4 } });
    expect(got.filter(([ev]) => ev === 'product_stock_update').map(([, d]) => d.stock)).toEqual([97, 94]);
    expect(got.filter(([ev, d]) => ev === 'inventory_update' && d.productId === product.id).map(([, d]) => d.stockChange)).toEqual([-2, -3]);
    expect(got.filter(([ev]) => ev === 'cart_updated')).toEqual([]);
    // Live again, nothing twice.
    await gqlOk(a().url, ADJUST, { id: product.id, d: -4 }, admin.token);
    await waitFor(() => got.filter(([ev]) => ev === 'product_stock_update').length === 3, 5000, 'live after resume');
    await sleep(200);
    expect(got.filter(([ev]) => ev === 'product_stock_update').map(([, d]) => d.stock)).toEqual([97, 94, 90]);

    const bad = await new Promise<any>((r) => second.emit('resume', { after: 'garbage' }, r));
    expect(bad).toMatchObject({ ok: false, error: { code: 'RESYNC_REQUIRED' } });
    const future = await new Promise<any>((r) => second.emit('resume', { after: '9999999999999999' }, r));
    expect(future).toMatchObject({ ok: false, error: { code: 'RESYNC_REQUIRED' } });
  });
});
