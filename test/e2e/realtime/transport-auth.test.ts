import { createClient } from 'graphql-ws';
import jwt from 'jsonwebtoken';
import ioV2 from 'socket.io-client-v2';
import { io as ioV4 } from 'socket.io-client';
import WebSocket from 'ws';
import { collect, emitAck, gqlOk, recordSocket, socketV4, waitFor, wsClient } from '../../support/clients';
import { makeAdmin, makeProduct, makeUser, raiseEvent, type TestUser } from '../../support/fixtures';
import { TEST_JWT_SECRET } from '../../support/shop';
import { useShop } from '../../support/use-shop';

const { shop, track } = useShop();
let admin: TestUser;
let alice: TestUser;

beforeAll(async () => {
  admin = await makeAdmin(shop());
  alice = await makeUser(shop());
});

const expired = () => jwt.sign({ role: 'CUSTOMER' }, TEST_JWT_SECRET, { subject: alice.id, issuer: 'shoe-store-api', audience: 'shoe-store', algorithm: 'HS256', expiresIn: -5 });
const forged = () => jwt.sign({ role: 'ADMIN' }, 'not-our-secret-not-our-secret-not-our', { subject: admin.id, issuer: 'shoe-store-api', audience: 'shoe-store', algorithm: 'HS256', expiresIn: 60 });

describe('Socket.IO authentication', () => {
  it.each([
    ['expired', expired, 'Token expired'],
    ['forged', forged, 'Invalid token'],
    ['garbage', () => 'abc.def.ghi', 'Invalid token'],
  ])('refuses an %s token with connect_error and err.data.code', async (_w, token, message) => {
    const err = await socketV4(shop().url, token()).then(
      (s) => { s.close(); throw new Error('connected'); },
      (e: Error & { data?: { code: string } }) => e,
    );
    expect(err.message).toBe(message);
    expect(err.data).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('accepts auth.token, the Authorization header, and ?token= for legacy clients', async () => {
    const viaAuth = await socketV4(shop().url, alice.token);
    track(viaAuth);
    const viaHeader = await new Promise<ReturnType<typeof ioV4>>((resolve, reject) => {
      const s = ioV4(shop().url, { transports: ['polling'], extraHeaders: { Authorization: `Bearer ${alice.token}` }, reconnection: false, forceNew: true });
      s.once('connect', () => resolve(s));
      s.once('connect_error', reject);
    });
    track(viaHeader);
    for (const s of [viaAuth, viaHeader]) {
      expect((await emitAck(s, 'join_room', { room: `user_${alice.id}` })).ok).toBe(true);
    }
  });

  it('lets anonymous sockets connect for public events only', async () => {
    const anon = await socketV4(shop().url);
    track(anon);
    const r = await emitAck(anon, 'join_room', { room: 'admin' });
    expect(r).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
  });
});

describe('graphql-ws authentication', () => {
  const closeCode = (token: string) =>
    new Promise<number>((resolve) => {
      const c = createClient({
        url: shop().wsUrl, webSocketImpl: WebSocket, connectionParams: { authToken: token }, retryAttempts: 0, lazy: false, onNonLazyError: () => undefined,
        on: { closed: (e) => resolve((e as { code: number }).code) },
      });
      track(c);
    });

  it('closes with 4403 on an expired, forged or garbage token', async () => {
    expect(await closeCode(expired())).toBe(4403);
    expect(await closeCode(forged())).toBe(4403);
    expect(await closeCode('garbage')).toBe(4403);
  });

  it('reads connectionParams.Authorization as GraphiQL sends it', async () => {
    const c = createClient({ url: shop().wsUrl, webSocketImpl: WebSocket, connectionParams: { Authorization: `Bearer ${admin.token}` }, retryAttempts: 0 });
    track(c);
    const sub = collect(c, 'subscription { lowStockAlert { productId severity } }');
    const product = await makeProduct(shop(), [{ size: '9', color: 'red', stock: 6 }], { lowStockThreshold: 5 });
    await waitFor(async () => {
      await shop().app.services.catalog.adjustStock(product.id, { size: '9', color: 'red' }, -1).catch(() => undefined);
      return sub.events.length > 0;
    }, 5000, 'low stock alert');
    expect(sub.events[0].lowStockAlert).toMatchObject({ productId: product.id, severity: 'warning' });
    sub.unsubscribe();
  });

  it('gives FORBIDDEN to a customer subscribing to an admin event and UNAUTHENTICATED to anonymous', async () => {
    const customer = wsClient(shop().wsUrl, alice.token);
    const anon = wsClient(shop().wsUrl);
    track(customer);
    track(anon);
    const a = collect(customer, 'subscription { newOrder { orderId } }');
    const b = collect(anon, 'subscription { cartUpdated { action } }');
    await waitFor(() => a.errors.length > 0 && b.errors.length > 0, 3000, 'subscription errors');
    expect(JSON.stringify(a.errors)).toContain('FORBIDDEN');
    expect(JSON.stringify(b.errors)).toContain('UNAUTHENTICATED');
  });
});

describe('legacy Socket.IO v2 client (EIO3)', () => {
  it.each([['websocket'], ['polling']])('connects over %s with ?token= and receives events', async (transport) => {
    const product = await makeProduct(shop(), [{ size: '10', color: 'blue', stock: 20 }]);
    const s = ioV2(shop().url, { transports: [transport], query: { token: alice.token }, reconnection: false, forceNew: true });
    track(s);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('connect_error', reject);
      s.once('error', reject);
    });
    const got: any[] = [];
    s.on('inventory_update', (d: any) => got.push(d));
    const joined = await new Promise<any>((resolve) => s.emit('join_room', { room: `product_${product.id}` }, resolve));
    expect(joined).toMatchObject({ ok: true });
    const stock: any[] = [];
    s.on('product_stock_update', (d: any) => stock.push(d));
    await gqlOk(shop().url, `mutation($id: ID!) { adjustStock(productId: $id, variant: { size: "10", color: "blue" }, delta: -2) { id } }`, { id: product.id }, admin.token);
    await waitFor(() => got.some((g) => g.productId === product.id) && stock.length > 0, 5000, 'v2 events');
    expect(got.find((g) => g.productId === product.id)).toMatchObject({ variant: { size: '10', color: 'blue' }, stockChange: -2 });
    expect(stock[0]).toMatchObject({ productId: product.id, stock: 18 });
  });

  it('refuses a v2 client with a bad token', async () => {
    const s = ioV2(shop().url, { transports: ['websocket'], query: { token: 'garbage' }, reconnection: false, forceNew: true });
    track(s);
    const err = await new Promise<any>((resolve) => {
      s.once('error', resolve);
      s.once('connect_error', resolve);
    });
    expect(JSON.stringify(err)).toContain('UNAUTHENTICATED');
  });
});

describe('an authenticated socket', () => {
  it('records events for its own user room only', async () => {
    const s = await socketV4(shop().url, alice.token);
    track(s);
    const rec = recordSocket(s);
    const hub = shop().hub;
    const base = { orderNumber: 'ORD-2026-000009', status: 'confirmed', statusHistory: [], estimatedDelivery: null, tracking: null, timestamp: new Date().toISOString() };
    await raiseEvent(shop(), 'order_status_update', { ...base, orderId: 'someone-else' }, { userId: admin.id });
    await raiseEvent(shop(), 'order_status_update', { ...base, orderId: 'mine' }, { userId: alice.id });
    await waitFor(() => rec.of('order_status_update').length >= 1, 3000, 'own event');
    await new Promise((r) => setTimeout(r, 100));
    expect(rec.of('order_status_update').map((d) => d.orderId)).toEqual(['mine']);
  });
});

describe('WebSocket upgrades', () => {
  it('refuses an upgrade to any other path with a JSON 404 at once, and still serves both transports', async () => {
    const url = new URL(shop().wsUrl);
    url.pathname = '/not-here';
    const started = Date.now();
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(url.toString());
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.on('open', () => reject(new Error('upgraded')));
      ws.on('error', () => undefined);
    });
    expect(refused.status).toBe(404);
    expect(JSON.parse(refused.body).errors[0].extensions.code).toBe('NOT_FOUND');
    expect(Date.now() - started).toBeLessThan(1000);
    const s = track(await socketV4(shop().url));
    expect(s.connected).toBe(true);
    const ws = track(wsClient(shop().wsUrl));
    const sub = collect(ws, 'subscription { flashSaleStart { saleId } }');
    await new Promise((r) => setTimeout(r, 200));
    expect(sub.errors).toEqual([]);
  });
});
