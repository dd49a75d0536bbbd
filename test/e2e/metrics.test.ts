import { hostname } from 'node:os';
import request from 'supertest';
import { collect, emitAck, gql, gqlOk, socketV4, waitFor, wsClient } from '../support/clients';
import { makeAdmin, makeProduct, type TestUser } from '../support/fixtures';
import { startTestShop } from '../support/shop';

type Shop = Awaited<ReturnType<typeof startTestShop>>;
const TOKEN = 'metrics-token-for-tests';

/** The value of the one sample of `name` whose labels include `labels` (0 when there is none). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let found = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) found += Number(m[3]);
  }
  return found;
}

const scrape = async (shop: Shop, token?: string) => {
  let req = request(shop.url).get('/metrics');
  if (token) req = req.set('Authorization', `Bearer ${token}`);
  const res = await req;
  expect(res.status).toBe(200);
  return res.text;
};

const ADJUST = `mutation AdjustForMetrics($id: ID!, $d: Int!) {
  adjustStock(productId: $id, variant: { size: "9", color: "black" }, delta: $d) { id } }`;

describe('GET /metrics', () => {
  let shop: Shop;
  let guarded: Shop;
  let admin: TestUser;
  const closers: Array<() => unknown> = [];

  beforeAll(async () => {
    [shop, guarded] = await Promise.all([
      startTestShop(),
      startTestShop({ redis: false, config: { metricsToken: TOKEN, rateLimit: { points: 3, windowMs: 60_000 } } }),
    ]);
    admin = await makeAdmin(shop);
  });
  afterAll(async () => {
    for (const c of closers) await c();
    await Promise.all([shop?.close(), guarded?.close()]);
  });

  it('answers the Prometheus text format with process, HTTP, connection, fan-out and dependency metrics', async () => {
    const socket = await socketV4(shop.url);
    const ws = wsClient(shop.wsUrl);
    closers.push(() => socket.close(), () => ws.dispose());
    collect(ws, 'subscription Stock { inventoryUpdate { productId stockChange } }');
    await waitFor(() => shop.app.fanout.stats().members === 1, 5000, 'the subscription');
    await gqlOk(shop.url, 'query { __typename }');

    const res = await request(shop.url).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.text;
    for (const name of [
      'shop_process_cpu_seconds_total', 'shop_process_resident_memory_bytes', 'shop_nodejs_eventloop_lag_seconds',
      'shop_nodejs_heap_size_used_bytes', 'shop_http_request_duration_seconds', 'shop_graphql_operation_duration_seconds',
      'shop_open_connections', 'shop_graphql_subscriptions', 'shop_fanout_groups', 'shop_fanout_group_size_max',
      'shop_socketio_rooms', 'shop_socketio_room_members', 'shop_event_delivery_lag_seconds', 'shop_events_delivered_total',
      'shop_events_published_total', 'shop_events_dropped_total', 'shop_events_replayed_total', 'shop_event_log_position',
      'shop_event_log_relayed_total', 'shop_event_log_delivered_total', 'shop_event_log_caught_up_total',
      'shop_rate_limited_total', 'shop_dependency_up', 'shop_cluster_connections', 'shop_cluster_authenticated_users',
    ]) expect(text).toContain(`# TYPE ${name} `);

    expect(sample(text, 'shop_open_connections', { transport: 'socket.io' })).toBe(1);
    expect(sample(text, 'shop_open_connections', { transport: 'graphql-ws' })).toBe(1);
    expect(sample(text, 'shop_graphql_subscriptions', { field: 'inventoryUpdate' })).toBe(1);
    expect(sample(text, 'shop_fanout_groups', { field: 'inventoryUpdate' })).toBe(1);
    expect(sample(text, 'shop_dependency_up', { dependency: 'database' })).toBe(1);
    expect(sample(text, 'shop_dependency_up', { dependency: 'redis' })).toBe(1);
    expect(sample(text, 'shop_graphql_operation_duration_seconds_count', { operation: 'anonymous', type: 'query', code: 'OK', transport: 'http' })).toBe(1);
    expect(sample(text, 'shop_graphql_operation_duration_seconds_count', { operation: 'Stock', type: 'subscription', code: 'OK', transport: 'graphql-ws' })).toBe(1);
    expect(sample(text, 'shop_http_request_duration_seconds_count', { method: 'POST', route: '/graphql', code: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'shop_cluster_connections', { scope: 'cluster', role: 'all' })).toBeGreaterThanOrEqual(2);
  });

  it('labels every sample with this instance, so a cluster scraped instance by instance is never double counted', async () => {
    const text = await scrape(shop);
    const samples = text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(samples.length).toBeGreaterThan(50);
    const instance = `${hostname()}:${shop.port}`;
    for (const line of samples) expect(line).toContain(`instance="${instance}"`);
  });

  it('a mutation that raises an event moves the delivery-lag histogram of that event on both transports', async () => {
    const product = await makeProduct(shop, [{ size: '9', color: 'black', stock: 30 }]);
    const socket = await socketV4(shop.url);
    const ws = wsClient(shop.wsUrl);
    closers.push(() => socket.close(), () => ws.dispose());
    const got: unknown[] = [];
    socket.on('product_stock_update', (d) => got.push(d));
    expect((await emitAck(socket, 'join_room', { room: `product_${product.id}` })).ok).toBe(true);
    const sub = collect(ws, 'subscription($id: ID!) { productStockUpdate(productId: $id) { stock } }', { id: product.id });
    await waitFor(() => shop.app.fanout.byField().some((f) => f.field === 'productStockUpdate'), 5000, 'the subscription');

    const lag = (text: string, transport: string) =>
      sample(text, 'shop_event_delivery_lag_seconds_count', { event: 'product_stock_update', transport });
    const before = await scrape(shop);
    await gqlOk(shop.url, ADJUST, { id: product.id, d: -2 }, admin.token);
    await waitFor(() => got.length === 1 && sub.events.length === 1, 5000, 'both deliveries');
    const after = await scrape(shop);

    expect(lag(after, 'socket.io') - lag(before, 'socket.io')).toBe(1);
    expect(lag(after, 'graphql-ws') - lag(before, 'graphql-ws')).toBe(1);
    // Measured from the change's commit: well under the last bucket, above zero.
    const sum = sample(after, 'shop_event_delivery_lag_seconds_sum', { event: 'product_stock_update', transport: 'graphql-ws' });
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(5);
    const delivered = (text: string, transport: string) => sample(text, 'shop_events_delivered_total', { event: 'product_stock_update', transport });
    expect(delivered(after, 'graphql-ws') - delivered(before, 'graphql-ws')).toBe(1);
    expect(delivered(after, 'socket.io') - delivered(before, 'socket.io')).toBe(1);
    expect(sample(after, 'shop_events_published_total', { event: 'product_stock_update', kind: 'durable' })
      - sample(before, 'shop_events_published_total', { event: 'product_stock_update', kind: 'durable' })).toBe(1);
    expect(sample(after, 'shop_graphql_operation_duration_seconds_count', { operation: 'AdjustForMetrics', type: 'mutation', code: 'OK', transport: 'http' })).toBe(1);
  });

  it('METRICS_TOKEN: refuses a scrape without the token or with another one, admits the token', async () => {
    const none = await request(guarded.url).get('/metrics');
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String) } });
    expect(none.text).not.toContain('shop_');
    const wrong = await request(guarded.url).get('/metrics').set('Authorization', `Bearer ${TOKEN}x`);
    expect(wrong.status).toBe(401);
    const text = await scrape(guarded, TOKEN);
    expect(text).toContain('# TYPE shop_event_delivery_lag_seconds histogram');
    expect(sample(text, 'shop_dependency_up', { dependency: 'database' })).toBe(1);
    // No Redis configured: no Redis gauge.
    expect(text).not.toContain('dependency="redis"');
  });

  it('counts rate-limit refusals by transport and GraphQL outcomes by code', async () => {
    const socket = await socketV4(guarded.url);
    const ws = wsClient(guarded.wsUrl);
    closers.push(() => socket.close(), () => ws.dispose());
    const acks = [];
    for (let i = 0; i < 5; i++) acks.push(await emitAck<{ ok: boolean }>(socket, 'leave_room', { room: 'nowhere' }));
    expect(acks.filter((a) => a.ok === false).length).toBe(5);
    const results = [];
    for (let i = 0; i < 5; i++) {
      results.push(await new Promise<unknown>((resolve) => {
        ws.subscribe({ query: 'query Ping { __typename }' }, { next: resolve, error: resolve, complete: () => undefined });
      }));
    }
    const text = await scrape(guarded, TOKEN);
    expect(sample(text, 'shop_rate_limited_total', { transport: 'socket.io' })).toBe(2);
    expect(sample(text, 'shop_rate_limited_total', { transport: 'graphql-ws' })).toBe(2);
    expect(sample(text, 'shop_graphql_operation_duration_seconds_count', { operation: 'Ping', type: 'query', code: 'OK', transport: 'graphql-ws' })).toBe(3);
    // Refused before the document is parsed: named only by a client-sent operationName.
    expect(sample(text, 'shop_graphql_operation_duration_seconds_count', { operation: 'anonymous', code: 'RATE_LIMITED', transport: 'graphql-ws' })).toBe(2);
    const bad = await gql(guarded.url, 'query Broken { nope }');
    expect(bad.errors?.length).toBe(1);
    const again = await scrape(guarded, TOKEN);
    expect(sample(again, 'shop_graphql_operation_duration_seconds_count', { operation: 'Broken', code: 'GRAPHQL_VALIDATION_FAILED', transport: 'http' })).toBe(1);
  });

  it('METRICS=false: no /metrics, nothing measured', async () => {
    const off = await startTestShop({ redis: false, config: { metrics: false } });
    try {
      expect((await request(off.url).get('/metrics')).status).toBe(404);
      expect(off.app.metrics).toBeUndefined();
      expect((await request(off.url).get('/readyz')).status).toBe(200);
    } finally {
      await off.close();
    }
  });

  it('keeps operation names bounded: anonymous, and "other" past the cap or for names that are not GraphQL names', () => {
    const m = shop.app.metrics!;
    expect(m.operationName(undefined)).toBe('anonymous');
    expect(m.operationName('no spaces allowed')).toBe('other');
    for (let i = 0; i < 300; i++) m.operationName(`Generated${i}`);
    expect(m.operationName('AdjustForMetrics')).toBe('AdjustForMetrics');
    expect(m.operationName('Generated299')).toBe('other');
  });
});
