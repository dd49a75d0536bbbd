import { randomUUID } from 'node:crypto';
import { createClient, type Client as WsClient } from 'graphql-ws';
import jwt from 'jsonwebtoken';
import { io as ioV4, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { codeOf, collect, emitAck, gql, gqlOk, recordSocket, sleep, socketV4, waitFor } from '../../support/clients';
import { makeAdmin, makeProduct, makeUser, raiseEvent, type TestUser } from '../../support/fixtures';
import { TEST_JWT_SECRET } from '../../support/shop';
import { useShop, type TestShop } from '../../support/use-shop';

/** Two instances of one shop: one PostgreSQL database, one Redis namespace. */
const { a, b, track } = useShop({ instances: 2 });
let boss: TestUser;

beforeAll(async () => {
  boss = await makeAdmin(a());
});

/** A token of `user` that expires `seconds` from now (JWT `exp` is whole seconds). */
const shortToken = (user: TestUser, seconds: number) =>
  jwt.sign({ role: 'CUSTOMER' }, TEST_JWT_SECRET, {
    subject: user.id, issuer: 'shoe-store-api', audience: 'shoe-store', algorithm: 'HS256', expiresIn: seconds, jwtid: randomUUID(),
  });
const expiryOf = (token: string) => (jwt.decode(token) as { exp: number }).exp * 1000;

interface Closed { code: number; reason: string; at: number }

/** A connected graphql-ws client (no retries) and the close it ends with. */
async function wsConnection(shop: TestShop, token: string): Promise<{ client: WsClient; closed: Promise<Closed> }> {
  let resolveClosed!: (c: Closed) => void;
  const closed = new Promise<Closed>((r) => (resolveClosed = r));
  let resolveConnected!: () => void;
  const connected = new Promise<void>((r) => (resolveConnected = r));
  const client = createClient({
    url: shop.wsUrl, webSocketImpl: WebSocket, connectionParams: { authToken: token }, retryAttempts: 0, lazy: false,
    onNonLazyError: () => undefined,
    on: {
      connected: () => resolveConnected(),
      closed: (e) => {
        const ev = e as { code: number; reason: string };
        resolveClosed({ code: ev.code, reason: ev.reason, at: Date.now() });
      },
    },
  });
  track(client);
  await connected;
  return { client, closed };
}

/** A connected Socket.IO client and its first disconnect. */
async function socketConnection(shop: TestShop, token: string) {
  const s = await socketV4(shop.url, token);
  track(s);
  const disconnected = new Promise<{ reason: string; at: number }>((r) => s.once('disconnect', (reason) => r({ reason, at: Date.now() })));
  return { s, rec: recordSocket(s), disconnected };
}

const orderUpdate = (shop: TestShop, userId: string, orderId = 'o-1') =>
  raiseEvent(shop, 'order_status_update', {
    orderId, orderNumber: 'ORD-2026-000042', status: 'shipped', statusHistory: [], estimatedDelivery: null,
    tracking: { carrier: 'UPS', trackingNumber: '1Z999' }, timestamp: new Date().toISOString(),
  }, { userId });

const adminNote = (shop: TestShop, message: string) =>
  raiseEvent(shop, 'admin_notification', {
    type: 'info', title: 'Note', message, severity: 'info', entityId: null, timestamp: new Date().toISOString(),
  });

const ORDER_SUB = 'subscription { orderStatusUpdate { orderId status } }';
const ADMIN_SUB = 'subscription { adminNotification { message } }';
const ROLE = 'mutation($id: ID!, $role: Role!) { updateUserRole(userId: $id, role: $role) { id role } }';

describe('a connection ends when its token expires', () => {
  it('graphql-ws: closes with 4403 "Forbidden: token expired" within 1 s of exp, having worked until then', async () => {
    const alice = await makeUser(a());
    const token = shortToken(alice, 3);
    const { client, closed } = await wsConnection(a(), token);
    const sub = collect(client, ORDER_SUB);
    await sleep(200);
    await orderUpdate(b(), alice.id);
    await waitFor(() => sub.events.length === 1, 2000, 'an event before expiry');

    const c = await closed;
    expect([c.code, c.reason]).toEqual([4403, 'Forbidden: token expired']);
    const late = c.at - expiryOf(token);
    process.stderr.write(`[sessions] graphql-ws closed ${late} ms after exp\n`);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(1000);
  });

  it('Socket.IO: closes the transport within 1 s of exp; the auth callback reconnects with a fresh token, a stale token is refused', async () => {
    const alice = await makeUser(a());
    let current = shortToken(alice, 3);
    const firstExp = expiryOf(current);
    const renewing: Socket = ioV4(a().url, {
      transports: ['websocket'], forceNew: true, reconnectionDelay: 50, reconnectionDelayMax: 100,
      auth: (cb: (data: object) => void) => cb({ token: current }),
    });
    track(renewing);
    const stale = shortToken(alice, 3);
    const stuck: Socket = ioV4(a().url, { transports: ['websocket'], forceNew: true, reconnectionDelay: 50, auth: { token: stale } });
    track(stuck);
    await Promise.all([renewing, stuck].map((s) => new Promise<void>((r) => s.once('connect', () => r()))));
    const rec = recordSocket(renewing);
    const dropped = new Promise<{ reason: string; at: number }>((r) => renewing.once('disconnect', (reason) => r({ reason, at: Date.now() })));
    const refused = new Promise<Error & { data?: { code: string } }>((r) => stuck.once('connect_error', r));
    // What the app's auth callback would fetch: a fresh token for the same user.
    current = a().app.services.users.issue({ id: alice.id, role: 'CUSTOMER' as never });

    const d = await dropped;
    const late = d.at - firstExp;
    process.stderr.write(`[sessions] Socket.IO transport closed ${late} ms after exp\n`);
    expect(d.reason).toBe('transport close');
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(1000);

    await new Promise<void>((r) => renewing.once('connect', () => r()));
    await sleep(100);
    await orderUpdate(b(), alice.id, 'after-reconnect');
    await waitFor(() => rec.of('order_status_update').some((e) => e.orderId === 'after-reconnect'), 2000, 'an event after reconnecting');

    const err = await refused;
    expect(err.data?.code).toBe('UNAUTHENTICATED');
    expect(err.message).toBe('Token expired');
    expect(stuck.connected).toBe(false);
  });
});

describe('a role change reaches every connection of the user on every instance within 1 s', () => {
  it('updateUserRole is for admins only and knows its users', async () => {
    const carl = await makeUser(a());
    expect(codeOf(await gql(a().url, ROLE, { id: carl.id, role: 'ADMIN' }, carl.token))).toBe('FORBIDDEN');
    expect(codeOf(await gql(a().url, ROLE, { id: carl.id, role: 'ADMIN' }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await gql(a().url, ROLE, { id: randomUUID(), role: 'ADMIN' }, boss.token))).toBe('NOT_FOUND');
    expect(codeOf(await gql(a().url, ROLE, { id: 'nope', role: 'ADMIN' }, boss.token))).toBe('BAD_USER_INPUT');
  });

  it('a demoted admin leaves the admin room and loses admin subscriptions; their own events go on; a promotion works at once', async () => {
    const ann = await makeAdmin(a());
    const otherAdmin = await makeAdmin(a());
    const onB = await socketConnection(b(), ann.token);
    expect((await emitAck(onB.s, 'join_room', { room: 'admin' })).ok).toBe(true);
    const keeper = await socketConnection(b(), otherAdmin.token);
    expect((await emitAck(keeper.s, 'join_room', { room: 'admin' })).ok).toBe(true);
    const wsA = await wsConnection(a(), ann.token);
    const wsB = await wsConnection(b(), ann.token);
    const keeperWs = await wsConnection(b(), otherAdmin.token);
    // The last one runs outside the fan-out engine (a root fragment), through graphql's own subscribe.
    const adminSubs = [collect(wsA.client, ADMIN_SUB), collect(wsB.client, ADMIN_SUB),
      collect(wsB.client, 'subscription { ... on Subscription { adminNotification { message } } }')];
    const keeperSub = collect(keeperWs.client, ADMIN_SUB); // same operation on B: the same fan-out group as ann's
    const ownSub = collect(wsB.client, ORDER_SUB);
    await sleep(300);
    await adminNote(a(), 'before');
    await waitFor(() => [...adminSubs, keeperSub].every((s) => s.events.length === 1) && onB.rec.of('admin_notification').length === 1,
      3000, 'admin events before the demotion');

    const t0 = Date.now();
    const demoted = await gqlOk(a().url, ROLE, { id: ann.id, role: 'CUSTOMER' }, boss.token);
    expect(demoted.updateUserRole).toEqual({ id: ann.id, role: 'CUSTOMER' });
    await waitFor(() => onB.rec.of('room_left').length === 1 && adminSubs.every((s) => s.completed), 1000, 'room_left and FORBIDDEN within 1 s');
    process.stderr.write(`[sessions] demotion reached both instances in ${Date.now() - t0} ms\n`);

    expect(onB.rec.of('room_left')).toEqual([{ room: 'admin', code: 'FORBIDDEN' }]);
    for (const sub of adminSubs) {
      expect(sub.errors).toHaveLength(1);
      expect((sub.errors[0] as Array<{ extensions: { code: string } }>)[0].extensions.code).toBe('FORBIDDEN');
    }
    // Her HTTP requests use the current role, not the token's ADMIN claim, on both instances.
    for (const shop of [a(), b()]) expect(codeOf(await gql(shop.url, '{ dashboard { ordersToday } }', {}, ann.token))).toBe('FORBIDDEN');

    await adminNote(b(), 'after');
    await orderUpdate(a(), ann.id);
    await waitFor(() => keeperSub.events.length === 2 && keeper.rec.of('admin_notification').length === 2 && ownSub.events.length === 1,
      3000, 'the other admin and her own events');
    await sleep(200);
    expect(adminSubs.map((s) => s.events.length)).toEqual([1, 1, 1]);
    expect(onB.rec.of('admin_notification')).toHaveLength(1);
    expect(onB.s.connected).toBe(true);
    expect(keeperSub.completed).toBe(false);

    // Promoted again: the same token may join the admin room at once, on the other instance too.
    await gqlOk(b().url, ROLE, { id: ann.id, role: 'ADMIN' }, boss.token);
    expect((await emitAck(onB.s, 'join_room', { room: 'admin' })).ok).toBe(true);
    await waitFor(async () => codeOf(await gql(a().url, '{ dashboard { ordersToday } }', {}, ann.token)) === undefined, 1000, 'admin again on A');
  });

});

describe('when a change message is lost', () => {
  it('a role change written straight to the database still reaches open connections and requests within 5 s', async () => {
    const ned = await makeAdmin(a());
    const onB = await socketConnection(b(), ned.token);
    expect((await emitAck(onB.s, 'join_room', { room: 'admin' })).ok).toBe(true);
    const ws = await wsConnection(a(), ned.token);
    const sub = collect(ws.client, ADMIN_SUB);
    expect(codeOf(await gql(b().url, '{ dashboard { ordersToday } }', {}, ned.token))).toBeUndefined();
    await sleep(200);

    // No updateUserRole, so no message: only the instances' own checks can notice.
    await a().orm.em.fork().execute(`update users set role = 'CUSTOMER' where id = ?`, [ned.id]);
    const t0 = Date.now();
    await waitFor(() => onB.rec.of('room_left').length === 1 && sub.completed, 6000, 'the sweep');
    process.stderr.write(`[sessions] a change without a message reached the connections in ${Date.now() - t0} ms\n`);
    expect(onB.rec.of('room_left')).toEqual([{ room: 'admin', code: 'FORBIDDEN' }]);
    expect((sub.errors[0] as Array<{ extensions: { code: string } }>)[0].extensions.code).toBe('FORBIDDEN');
    expect(codeOf(await gql(b().url, '{ dashboard { ordersToday } }', {}, ned.token))).toBe('FORBIDDEN');
  });
});

describe('logout', () => {
  it("revokes its token on every instance within 1 s: its connections close, its requests are refused, the user's other tokens work", async () => {
    const lou = await makeUser(a());
    const other = a().app.services.users.issue({ id: lou.id, role: 'CUSTOMER' as never });
    const sockets = [await socketConnection(a(), lou.token), await socketConnection(b(), lou.token)];
    const wss = [await wsConnection(a(), lou.token), await wsConnection(b(), lou.token)];
    const unaffected = await socketConnection(b(), other);
    await sleep(100);

    const t0 = Date.now();
    expect((await gqlOk(a().url, 'mutation { logout }', {}, lou.token)).logout).toBe(true);
    const [socketEnds, wsEnds] = await Promise.all([Promise.all(sockets.map((s) => s.disconnected)), Promise.all(wss.map((w) => w.closed))]);
    const slowest = Math.max(...socketEnds.map((e) => e.at), ...wsEnds.map((e) => e.at)) - t0;
    process.stderr.write(`[sessions] logout closed 4 connections on 2 instances in ${slowest} ms\n`);
    expect(slowest).toBeLessThan(1000);
    expect(socketEnds.map((e) => e.reason)).toEqual(['io server disconnect', 'io server disconnect']);
    expect(wsEnds.map((e) => [e.code, e.reason])).toEqual([[4403, 'Forbidden: token revoked'], [4403, 'Forbidden: token revoked']]);

    for (const shop of [a(), b()]) {
      const r = await gql(shop.url, '{ me { id } }', {}, lou.token);
      expect([r.status, codeOf(r)]).toEqual([401, 'UNAUTHENTICATED']);
      expect((await gqlOk(shop.url, '{ me { id } }', {}, other)).me).toEqual({ id: lou.id });
    }
    const err = await socketV4(b().url, lou.token).then((s) => { s.close(); throw new Error('connected'); }, (e: Error & { data?: { code: string } }) => e);
    expect([err.message, err.data?.code]).toEqual(['Token revoked', 'UNAUTHENTICATED']);
    const again = createClient({ url: b().wsUrl, webSocketImpl: WebSocket, connectionParams: { authToken: lou.token }, retryAttempts: 0, lazy: false, onNonLazyError: () => undefined });
    track(again);
    expect(await new Promise((r) => again.on('closed', (e) => r((e as { code: number }).code)))).toBe(4403);
    expect(unaffected.s.connected).toBe(true);
    expect(codeOf(await gql(a().url, 'mutation { logout }'))).toBe('UNAUTHENTICATED');
  });
  it('over graphql-ws: answers, then closes that connection with 4403', async () => {
    const lea = await makeUser(a());
    const { client, closed } = await wsConnection(b(), lea.token);
    const result = await new Promise<unknown>((resolve, reject) => {
      let value: unknown;
      client.subscribe({ query: 'mutation { logout }' }, { next: (v) => (value = v), error: reject, complete: () => resolve(value) });
    });
    expect(result).toEqual({ data: { logout: true } });
    const c = await closed;
    expect([c.code, c.reason]).toEqual([4403, 'Forbidden: token revoked']);
    expect(codeOf(await gql(a().url, '{ me { id } }', {}, lea.token))).toBe('UNAUTHENTICATED');
  });
});

describe('deleteAccount', () => {
  it('closes every connection of the account on every instance within 1 s, refuses its tokens, keeps its orders anonymised', async () => {
    const dee = await makeUser(a());
    const product = await makeProduct(a(), [{ size: '9', color: 'black', stock: 10 }]);
    await gqlOk(a().url, 'mutation($p: ID!) { addToCart(productId: $p, variant: { size: "9", color: "black" }, quantity: 1) { itemCount } }', { p: product.id }, dee.token);
    const address = { name: 'Dee', line1: '1 Road', city: 'Leeds', postalCode: 'LS1 1AA', country: 'GB' };
    const order = (await gqlOk(a().url, 'mutation($input: CheckoutInput!) { checkout(input: $input) { id } }', { input: { shippingAddress: address } }, dee.token)).checkout;
    const second = a().app.services.users.issue({ id: dee.id, role: 'CUSTOMER' as never });
    const sockets = [await socketConnection(a(), dee.token), await socketConnection(b(), second)];
    const wss = [await wsConnection(a(), second), await wsConnection(b(), dee.token)];
    await sleep(100);

    const t0 = Date.now();
    expect((await gqlOk(b().url, 'mutation { deleteAccount }', {}, dee.token)).deleteAccount).toBe(true);
    const [socketEnds, wsEnds] = await Promise.all([Promise.all(sockets.map((s) => s.disconnected)), Promise.all(wss.map((w) => w.closed))]);
    const slowest = Math.max(...socketEnds.map((e) => e.at), ...wsEnds.map((e) => e.at)) - t0;
    process.stderr.write(`[sessions] deleteAccount closed 4 connections on 2 instances in ${slowest} ms\n`);
    expect(slowest).toBeLessThan(1000);
    expect(socketEnds.map((e) => e.reason)).toEqual(['io server disconnect', 'io server disconnect']);
    expect(wsEnds.map((e) => [e.code, e.reason])).toEqual([[4403, 'Forbidden: account deleted'], [4403, 'Forbidden: account deleted']]);

    for (const shop of [a(), b()]) {
      for (const t of [dee.token, second]) expect(codeOf(await gql(shop.url, '{ me { id } }', {}, t))).toBe('UNAUTHENTICATED');
    }
    expect(codeOf(await gql(a().url, 'mutation($e: String!) { login(email: $e, password: "password-123") { token } }', { e: dee.email }))).toBe('UNAUTHENTICATED');
    const kept = (await gqlOk(a().url, 'query($id: ID!) { order(id: $id) { id status customer { id name email } } }', { id: order.id }, boss.token)).order;
    expect(kept).toEqual({ id: order.id, status: 'pending', customer: { id: dee.id, name: 'Deleted user', email: expect.not.stringContaining(dee.email) } });
    // The address is free again: a new, separate account.
    const fresh = (await gqlOk(a().url, 'mutation($e: String!) { register(input: { email: $e, password: "password-456", name: "Dee again" }) { user { id } } }', { e: dee.email })).register;
    expect(fresh.user.id).not.toBe(dee.id);
  });
});
