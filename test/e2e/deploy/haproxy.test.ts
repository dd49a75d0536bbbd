import { randomUUID } from 'node:crypto';
import { createClient, type Client as WsClient } from 'graphql-ws';
import { io as ioV4, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { gqlOk, sleep, waitFor } from '../../support/clients';
import { makeAdmin, makeProduct, makeUser, type TestUser } from '../../support/fixtures';
import { startHaproxy } from '../../support/haproxy';
import { freePort } from '../../support/redis-server';
import { createTestDatabase, startTestShop } from '../../support/shop';

/**
 * deploy/haproxy.cfg run by real HAProxy in front of two instances on one PostgreSQL and one Redis,
 * with real clients talking only to HAProxy: GraphQL over HTTP (GET and POST), Socket.IO v4 over
 * long-polling and over WebSocket, graphql-ws; then one instance is restarted the way a rolling
 * deploy does it (drain on the signal path, close, start again on the same address).
 */
type Shop = Awaited<ReturnType<typeof startTestShop>>;
const DRAIN_MS = 2500;

let databaseUrl: string;
let namespace: string;
const ports: Record<'a' | 'b', number> = { a: 0, b: 0 };
const shops: Record<'a' | 'b', Shop | undefined> = { a: undefined, b: undefined };
/** Requests each instance served (health checks aside), counted on its own HTTP server. */
const served: Record<'a' | 'b', number> = { a: 0, b: 0 };
let lb: string;
let haproxy: Awaited<ReturnType<typeof startHaproxy>>;
let admin: TestUser;
let alice: TestUser;
let productId: string;
const sockets: Socket[] = [];
const wsClients: WsClient[] = [];
/** Background loops to end even when a test fails half-way. */
const stoppers: Array<() => void> = [];

async function startInstance(name: 'a' | 'b'): Promise<Shop> {
  const shop = await startTestShop({ databaseUrl, namespace, config: { port: ports[name] } });
  // First in line: Express rewrites req.url while its routers run.
  shop.app.httpServer.prependListener('request', (req) => {
    if (!req.url?.startsWith('/readyz')) served[name]++;
  });
  shops[name] = shop;
  return shop;
}

const statusOf = async (server: 'a' | 'b') => (await haproxy.states()).find((s) => s.backend === 'api' && s.server === server)?.status ?? '?';
const bothUp = () => waitFor(async () => (await statusOf('a')) === 'UP' && (await statusOf('b')) === 'UP', 15_000, 'both instances UP in HAProxy');

beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  namespace = `deploy-${randomUUID()}`;
  [ports.a, ports.b] = [await freePort(), await freePort()];
  await Promise.all([startInstance('a'), startInstance('b')]);
  admin = await makeAdmin(shops.a!);
  alice = await makeUser(shops.a!);
  productId = (await makeProduct(shops.a!, [{ size: '9', color: 'black', stock: 1000 }])).id;
  const [lbPort, statsPort] = [await freePort(), await freePort()];
  lb = `http://127.0.0.1:${lbPort}`;
  haproxy = await startHaproxy({
    LISTEN: `127.0.0.1:${lbPort}`,
    STATS_LISTEN: `127.0.0.1:${statsPort}`,
    BACKEND_A: `127.0.0.1:${ports.a}`,
    BACKEND_B: `127.0.0.1:${ports.b}`,
    CHECK_INTERVAL: '300ms',
  });
  await bothUp();
}, 60_000);

afterAll(async () => {
  stoppers.forEach((stop) => stop());
  sockets.forEach((s) => s.close());
  await Promise.all(wsClients.map((c) => c.dispose()));
  await haproxy?.stop();
  await Promise.all([shops.a?.close(), shops.b?.close()]);
});

const QUERY = `query Stock($id: ID!) { product(id: $id) { id variants { stock } } }`;

/** A query over GET with no content type (urql's default) or over POST, through HAProxy. */
async function query(method: 'GET' | 'POST'): Promise<number> {
  const variables = JSON.stringify({ id: productId });
  const res = method === 'GET'
    ? await fetch(`${lb}/graphql?query=${encodeURIComponent(QUERY)}&variables=${encodeURIComponent(variables)}`, { headers: { accept: 'application/graphql-response+json' } })
    : await fetch(`${lb}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: QUERY, variables: { id: productId } }) });
  const body = (await res.json()) as { data?: { product?: unknown } };
  if (res.status !== 200 || !body.data?.product) throw new Error(`${method} through HAProxy: ${res.status} ${JSON.stringify(body)}`);
  return res.status;
}

const adjust = (delta: number) =>
  fetch(`${lb}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` },
    body: JSON.stringify({
      query: 'mutation($id: ID!, $d: Int!) { adjustStock(productId: $id, variant: { size: "9", color: "black" }, delta: $d) { id } }',
      variables: { id: productId, d: delta },
    }),
  }).then(async (r) => {
    const body = (await r.json()) as { errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
  });

/** A Socket.IO v4 client through HAProxy that reconnects by itself; records connects and stock events. */
function socketThroughLb(transports: Array<'polling' | 'websocket'>) {
  // withCredentials: socket.io-client keeps cookies in Node only then (browsers always do).
  const s = ioV4(lb, { transports, withCredentials: true, auth: { token: alice.token }, forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 500 });
  sockets.push(s);
  const rec = { connects: 0, stock: [] as number[] };
  s.on('connect', () => rec.connects++);
  s.on('inventory_update', (e: { productId: string; stockChange: number }) => {
    if (e.productId === productId) rec.stock.push(e.stockChange);
  });
  return { s, rec };
}

/** A graphql-ws client through HAProxy that retries a lost connection and re-subscribes. */
function wsThroughLb() {
  const rec = { connects: 0, stock: [] as number[], errors: [] as unknown[] };
  const client = createClient({
    url: `${lb.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authToken: alice.token },
    retryAttempts: 50,
    retryWait: async () => {
      await sleep(100);
    },
    shouldRetry: () => true,
    on: { connected: () => rec.connects++ },
  });
  wsClients.push(client);
  client.subscribe<{ inventoryUpdate: { productId: string; stockChange: number } }>(
    { query: 'subscription($ids: [ID!]) { inventoryUpdate(productIds: $ids) { productId stockChange } }', variables: { ids: [productId] } },
    { next: (v) => (v.data ? rec.stock.push(v.data.inventoryUpdate.stockChange) : rec.errors.push(v.errors)), error: (e) => rec.errors.push(e), complete: () => undefined },
  );
  return rec;
}

/** Whether an instance holds the engine.io session `sid` (engine.io keeps them in `clients`). */
const holds = (name: 'a' | 'b', sid: string) =>
  Boolean((shops[name]?.app.io.engine as unknown as { clients: Record<string, unknown> } | undefined)?.clients[sid]);

/** Which instance holds a Socket.IO client's session. */
const holderOf = (s: Socket): 'a' | 'b' => {
  const sid = s.io.engine.id as string;
  for (const name of ['a', 'b'] as const) if (holds(name, sid)) return name;
  throw new Error(`no instance holds session ${sid}`);
};

describe('HAProxy (deploy/haproxy.cfg) in front of two instances', () => {
  // A check answered late on a busy machine can take an instance out for a moment: each test
  // starts from both in.
  beforeEach(bothUp, 20_000);

  it('checks both instances on /readyz and spreads GraphQL over HTTP across them (GET and POST)', async () => {
    const before = { ...served };
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => query(i % 2 ? 'GET' : 'POST')));
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(served.a - before.a).toBeGreaterThan(0);
    expect(served.b - before.b).toBeGreaterThan(0);
    expect(served.a - before.a + served.b - before.b).toBe(40);
  });

  it('keeps a long-polling session on one instance: the one its cookie names, or by address without one', async () => {
    for (const name of ['a', 'b'] as const) {
      const open = await fetch(`${lb}/socket.io/?EIO=4&transport=polling`, { headers: { cookie: `SHOP_SRV=${name}` } });
      expect(open.status).toBe(200);
      const { sid } = JSON.parse((await open.text()).slice(1));
      expect(holds(name, sid)).toBe(true);
      // Every later request of the session carries the cookie and reaches the same instance.
      for (let i = 0; i < 3; i++) {
        const post = await fetch(`${lb}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', headers: { cookie: `SHOP_SRV=${name}`, 'content-type': 'text/plain' }, body: '40' });
        expect([post.status, await post.text()]).toEqual([200, 'ok']);
      }
    }
    // Without a cookie, HAProxy hands one out with the first response; a client that never sends
    // it back stays on one instance by its address.
    const fresh = await fetch(`${lb}/socket.io/?EIO=4&transport=polling`);
    expect(fresh.headers.get('set-cookie')).toMatch(/^SHOP_SRV=[ab];/);
    const { sid } = JSON.parse((await fresh.text()).slice(1));
    for (let i = 0; i < 5; i++) {
      const post = await fetch(`${lb}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: i ? '3' : '40' });
      expect([post.status, await post.text()]).toEqual([200, 'ok']);
    }
  });

  it('delivers events to polling and WebSocket Socket.IO clients and graphql-ws, then survives a rolling restart', async () => {
    const polling = socketThroughLb(['polling']);
    const websocket = socketThroughLb(['websocket']);
    const gws = wsThroughLb();
    await waitFor(() => polling.rec.connects === 1 && websocket.rec.connects === 1 && gws.connects === 1, 10_000, 'clients connected through HAProxy');
    expect(polling.s.io.engine.transport.name).toBe('polling');
    expect(websocket.s.io.engine.transport.name).toBe('websocket');
    const members = () => (['a', 'b'] as const).reduce((n, name) => n + shops[name]!.app.fanout.stats().members, 0);
    await waitFor(() => members() === 1, 5000, 'the graphql-ws subscription registered on one instance');
    await adjust(-1);
    await waitFor(() => [polling.rec, websocket.rec, gws].every((r) => r.stock.length === 1), 5000, 'first event on every client');

    // Restart the instance that holds the polling session, while HTTP keeps coming through HAProxy.
    const victim = holderOf(polling.s);
    const http = { ok: 0, failed: [] as string[] };
    let load = true;
    stoppers.push(() => (load = false));
    const loop = (async () => {
      for (let i = 0; load; i++) {
        await query(i % 2 ? 'GET' : 'POST').then(() => http.ok++, (e: Error) => http.failed.push(e.message));
        await sleep(20);
      }
    })();
    const old = shops[victim]!;
    const signalled = Date.now();
    const stopping = old.shutdown(DRAIN_MS);
    // Draining: not ready, but still serving what reaches it directly.
    const ready = await fetch(`${old.url}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([503, { status: 'draining' }]);
    expect((await gqlOk(old.url, QUERY, { id: productId })).product.id).toBe(productId);
    await waitFor(async () => (await statusOf(victim)).startsWith('DOWN'), DRAIN_MS, 'HAProxy to mark the draining instance DOWN before it closes');
    const markedDownMs = Date.now() - signalled;
    await stopping;
    const okAtClose = http.ok;
    // Every client is served by the other instance now: the Socket.IO sessions live there and the
    // graphql-ws subscription is one of its fan-out members (reconnected and re-subscribed).
    const other = victim === 'a' ? 'b' : 'a';
    await waitFor(
      () => [polling.s, websocket.s].every((s) => s.connected && holds(other, s.io.engine.id as string)) && shops[other]!.app.fanout.stats().members === 1,
      10_000, 'every client served by the other instance',
    );
    expect(polling.rec.connects).toBe(2);

    await startInstance(victim);
    await waitFor(async () => (await statusOf(victim)) === 'UP', 10_000, 'the restarted instance UP again');
    load = false;
    await loop;
    // Answered all along: while the instance drained, after it closed and once it was back.
    expect(http.failed).toEqual([]);
    expect(okAtClose).toBeGreaterThan(0);
    expect(http.ok).toBeGreaterThan(okAtClose);
    expect(markedDownMs).toBeLessThan(DRAIN_MS);

    // Every client has service again: a new event reaches all of them, once each.
    await sleep(300);
    await adjust(-2);
    await waitFor(() => [polling.rec, websocket.rec, gws].every((r) => r.stock.includes(-2)), 10_000, 'an event after the restart on every client');
    await sleep(300);
    for (const r of [polling.rec, websocket.rec, gws]) expect(r.stock.filter((d) => d === -2)).toEqual([-2]);
    expect(gws.errors).toEqual([]);
    expect((await gqlOk(lb, QUERY, { id: productId })).product.variants[0].stock).toBe(997);
  }, 90_000);
});
