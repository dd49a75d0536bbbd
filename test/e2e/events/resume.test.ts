import { Client } from 'pg';
import { collect, gql, gqlOk, sleep, waitFor, wsClient } from '../../support/clients';
import { makeAdmin, makeProduct, makeUser, raiseEvent, type TestUser } from '../../support/fixtures';
import { createTestDatabase, startTestShop } from '../../support/shop';
import { useShop, type TestShop } from '../../support/use-shop';
import { formatEventId as formatId } from '../../../src/events/event-log';

/**
 * The durable event log and GraphQL resume, on two instances of one shop (one PostgreSQL, one
 * Redis): positions, replay after `after` / `connectionParams.lastEventId`, RESYNC_REQUIRED,
 * audiences on replay, rolled-back changes, and concurrent writers.
 */
const { a, b, ws, track } = useShop({ instances: 2 });
let admin: TestUser;
const ADJUST = 'mutation($id: ID!, $d: Int!) { adjustStock(productId: $id, variant: { size: "9", color: "black" }, delta: $d) { id } }';
const STOCK_SUB = 'subscription($id: ID!, $after: String) { productStockUpdate(productId: $id, after: $after) { eventId stock stockChange } }';

beforeAll(async () => {
  admin = await makeAdmin(a());
});

/** The log as PostgreSQL holds it. */
async function logRows(shop: TestShop, name?: string): Promise<Array<{ id: string; name: string; payload: any; route: any }>> {
  const c = new Client({ connectionString: shop.databaseUrl });
  await c.connect();
  try {
    const r = await c.query(`select id, name, payload, route from shop_events ${name ? 'where name = $1' : ''} order by id`, name ? [name] : []);
    // The stored payload has no eventId: it is the row's id.
    return r.rows.map((row) => ({ ...row, payload: { eventId: formatId(Number(row.id)), ...row.payload } }));
  } finally {
    await c.end();
  }
}

const ids = (events: any[], field: string) => events.map((e) => e[field].eventId as string);

describe('the durable event log', () => {
  it('gives every durable event an increasing eventId, the same on both instances and in the log', async () => {
    const product = await makeProduct(a(), [{ size: '9', color: 'black', stock: 50 }]);
    const onA = collect(ws(a()), STOCK_SUB, { id: product.id });
    const onB = collect(ws(b()), STOCK_SUB, { id: product.id });
    await sleep(300);
    for (let i = 0; i < 4; i++) await gqlOk(i % 2 ? b().url : a().url, ADJUST, { id: product.id, d: -1 }, admin.token);
    await waitFor(() => onA.events.length === 4 && onB.events.length === 4, 5000, 'four events on both');
    const got = ids(onA.events, 'productStockUpdate');
    expect(ids(onB.events, 'productStockUpdate')).toEqual(got);
    expect(onA.events.map((e) => e.productStockUpdate.stock)).toEqual([49, 48, 47, 46]);
    expect([...got].sort()).toEqual(got);
    expect(new Set(got).size).toBe(4);
    const logged = (await logRows(a(), 'product_stock_update')).filter((r) => r.route.productId === product.id);
    expect(logged.map((r) => r.payload.eventId)).toEqual(got);
  });

  it('replays after `after`, then goes live: no gap, no duplicate', async () => {
    const product = await makeProduct(a(), [{ size: '9', color: 'black', stock: 50 }]);
    const first = collect(ws(a()), STOCK_SUB, { id: product.id });
    await sleep(300);
    for (let i = 0; i < 3; i++) await gqlOk(a().url, ADJUST, { id: product.id, d: -1 }, admin.token);
    await waitFor(() => first.events.length === 3, 5000, 'three live events');
    const after = first.events[0].productStockUpdate.eventId;
    // Resume on the other instance from the first event while more changes keep coming.
    const resumed = collect(ws(b()), STOCK_SUB, { id: product.id, after });
    const writes = (async () => {
      for (let i = 0; i < 5; i++) await gqlOk(a().url, ADJUST, { id: product.id, d: -1 }, admin.token);
    })();
    await writes;
    await waitFor(() => first.events.length === 8 && resumed.events.length === 7, 5000, 'replay + live');
    await sleep(300);
    expect(resumed.errors).toEqual([]);
    expect(ids(resumed.events, 'productStockUpdate')).toEqual(ids(first.events, 'productStockUpdate').slice(1));
    expect(resumed.events.map((e) => e.productStockUpdate.stock)).toEqual([48, 47, 46, 45, 44, 43, 42]);
  });

  it('takes `connectionParams.lastEventId` as the `after` of every subscription on the connection', async () => {
    const alice = await makeUser(a());
    const product = await makeProduct(a(), [{ size: '9', color: 'black', stock: 50 }]);
    const watcher = collect(ws(a()), 'subscription { inventoryUpdate { eventId productId stockChange } }');
    await sleep(300);
    await gqlOk(a().url, ADJUST, { id: product.id, d: -2 }, admin.token);
    await waitFor(() => watcher.events.some((e) => e.inventoryUpdate.productId === product.id), 5000, 'first event');
    const lastEventId = watcher.events.find((e) => e.inventoryUpdate.productId === product.id)!.inventoryUpdate.eventId;
    await gqlOk(a().url, ADJUST, { id: product.id, d: 3 }, admin.token);
    await gqlOk(a().url, 'mutation($id: ID!) { addToCart(productId: $id, variant: { size: "9", color: "black" }, quantity: 1) { itemCount } }', { id: product.id }, alice.token);
    const c = ws(b(), alice.token, { lastEventId });
    const inv = collect(c, 'subscription($p: [ID!]) { inventoryUpdate(productIds: $p) { eventId stockChange } }', { p: [product.id] });
    const cart = collect(c, 'subscription { cartUpdated { eventId action cart { itemCount } } }');
    await waitFor(() => inv.events.length === 1 && cart.events.length === 1, 5000, 'replays on one connection');
    expect(inv.events[0].inventoryUpdate.stockChange).toBe(3);
    expect(cart.events[0].cartUpdated.cart.itemCount).toBe(1);
    expect(cart.events[0].cartUpdated.eventId > lastEventId).toBe(true);
  });

  it('replays only what the subscriber is entitled to now', async () => {
    const alice = await makeUser(a());
    const bob = await makeUser(a());
    const base = { orderNumber: 'ORD-2026-000777', statusHistory: [], estimatedDelivery: null, tracking: null, timestamp: new Date().toISOString() };
    const before = (await logRows(a())).at(-1)!.payload.eventId as string;
    await raiseEvent(a(), 'order_status_update', { ...base, orderId: 'alice-1', status: 'confirmed' }, { userId: alice.id });
    await raiseEvent(a(), 'order_status_update', { ...base, orderId: 'bob-1', status: 'confirmed' }, { userId: bob.id });
    await raiseEvent(a(), 'order_status_update', { ...base, orderId: 'alice-2', status: 'shipped' }, { userId: alice.id });
    await waitFor(async () => (await logRows(a(), 'order_status_update')).length >= 3, 5000, 'logged');
    const q = 'subscription($after: String) { orderStatusUpdate(after: $after) { orderId status } }';
    const sa = collect(ws(b(), alice.token), q, { after: before });
    const sb = collect(ws(b(), bob.token), q, { after: before });
    const anon = collect(ws(b()), q, { after: before });
    const customer = collect(ws(b(), alice.token), 'subscription($after: String) { newOrder(after: $after) { orderId } }', { after: before });
    await waitFor(() => sa.events.length === 2 && sb.events.length === 1, 5000, 'own replays');
    await waitFor(() => anon.errors.length === 1 && customer.errors.length === 1, 5000, 'refusals');
    await sleep(300);
    expect(sa.events.map((e) => e.orderStatusUpdate.orderId)).toEqual(['alice-1', 'alice-2']);
    expect(sb.events.map((e) => e.orderStatusUpdate.orderId)).toEqual(['bob-1']);
    expect(JSON.stringify(anon.errors)).toContain('UNAUTHENTICATED');
    expect(JSON.stringify(customer.errors)).toContain('FORBIDDEN');
  });

  it('ends a subscription with RESYNC_REQUIRED (next, then complete) for an unknown or future id', async () => {
    const product = await makeProduct(a(), [{ size: '9', color: 'black', stock: 5 }]);
    for (const after of ['not-an-id', '-1', '9999999999999999', '12abc']) {
      const sub = collect(ws(a()), STOCK_SUB, { id: product.id, after });
      await waitFor(() => sub.completed, 5000, `completion for ${after}`);
      expect(sub.events).toEqual([]);
      expect(sub.errors).toHaveLength(1);
      expect((sub.errors[0] as any)[0].extensions.code).toBe('RESYNC_REQUIRED');
    }
    // Through graphql's own subscribe path too (a fragment keeps it out of the fan-out engine).
    const viaFragment = collect(ws(a()), 'subscription($id: ID!) { ...F } fragment F on Subscription { productStockUpdate(productId: $id, after: "nope") { stock } }', { id: product.id });
    await waitFor(() => viaFragment.completed, 5000, 'completion (fragment)');
    expect(JSON.stringify(viaFragment.errors)).toContain('RESYNC_REQUIRED');
  });

  it('raises nothing for a change that rolls back', async () => {
    const product = await makeProduct(a(), [{ size: '9', color: 'black', stock: 1 }]);
    const watcher = collect(ws(b()), STOCK_SUB, { id: product.id });
    await sleep(300);
    const before = await logRows(a(), 'product_stock_update');
    const refused = await gql(a().url, ADJUST, { id: product.id, d: -5 }, admin.token);
    expect(refused.errors?.[0].extensions?.code).toBe('INSUFFICIENT_STOCK');
    const alice = await makeUser(a());
    await gqlOk(a().url, 'mutation($id: ID!) { addToCart(productId: $id, variant: { size: "9", color: "black" }, quantity: 1) { itemCount } }', { id: product.id }, alice.token);
    await gqlOk(a().url, ADJUST, { id: product.id, d: -1 }, admin.token);
    const failed = await gql(a().url, 'mutation { checkout(input: { shippingAddress: { name: "A", line1: "1 St", city: "C", postalCode: "1", country: "NL" } }) { id } }', {}, alice.token);
    expect(failed.errors?.[0].extensions?.code).toBe('INSUFFICIENT_STOCK');
    await waitFor(() => watcher.events.length === 1, 5000, 'the one committed change');
    await sleep(500);
    expect(watcher.events.map((e) => e.productStockUpdate.stockChange)).toEqual([-1]);
    const after = (await logRows(a(), 'product_stock_update')).filter((r) => !before.some((x) => x.id === r.id));
    expect(after.map((r) => r.payload.stockChange)).toEqual([-1]);
    expect((await logRows(a(), 'new_order')).filter((r) => r.payload.customer.id === alice.id)).toEqual([]);
  });

  it('concurrent writers on two instances: readers resuming at random points never miss or repeat', async () => {
    const product = await makeProduct(a(), [{ size: '9', color: 'black', stock: 1000 }]);
    const live = collect(ws(a()), STOCK_SUB, { id: product.id });
    await sleep(300);
    const writers = Array.from({ length: 6 }, (_, w) => (async () => {
      for (let i = 0; i < 10; i++) await gqlOk(w % 2 ? b().url : a().url, ADJUST, { id: product.id, d: -1 }, admin.token);
    })());
    // Readers join while the writers run, each resuming from whatever it saw last.
    const readers: Array<ReturnType<typeof collect>> = [];
    for (let r = 0; r < 8; r++) {
      await sleep(40 + Math.floor(Math.random() * 60));
      const seen = live.events.map((e) => e.productStockUpdate.eventId);
      const after = seen.length ? seen[Math.floor(Math.random() * seen.length)] : undefined;
      readers.push(Object.assign(collect(ws(r % 2 ? a() : b()), STOCK_SUB, { id: product.id, after }), { after }));
    }
    await Promise.all(writers);
    await waitFor(() => live.events.length === 60, 10_000, 'sixty live events');
    const logged = (await logRows(a(), 'product_stock_update')).filter((r) => r.route.productId === product.id).map((r) => r.payload.eventId as string);
    expect(logged).toHaveLength(60);
    expect(ids(live.events, 'productStockUpdate')).toEqual(logged);
    for (const reader of readers as Array<ReturnType<typeof collect> & { after?: string }>) {
      const expected = reader.after ? logged.filter((id) => id > reader.after!) : null;
      if (expected) {
        await waitFor(() => reader.events.length >= expected.length, 10_000, 'a reader catching up');
        await sleep(100);
        expect(ids(reader.events, 'productStockUpdate')).toEqual(expected);
      } else {
        // Subscribed without `after`: a suffix of the log, in order, once.
        const got = ids(reader.events, 'productStockUpdate');
        expect(got).toEqual(logged.slice(logged.length - got.length));
      }
    }
    // Stock: nothing oversold, every change once, and in the order the changes took the row (each
    // waited for the previous one's commit): 999, 998, … 940 in log order, whichever instance relayed it.
    expect(live.events.map((e) => e.productStockUpdate.stock)).toEqual(Array.from({ length: 60 }, (_, i) => 999 - i));
  });
});

describe('retention', () => {
  it('answers RESYNC_REQUIRED for an id older than EVENT_RETENTION_SECONDS', async () => {
    const shop = await startTestShop({ config: { eventRetentionSeconds: 1 } });
    try {
      const adminC = await makeAdmin(shop);
      const product = await makeProduct(shop, [{ size: '9', color: 'black', stock: 20 }]);
      const c = track(wsClient(shop.wsUrl));
      const live = collect(c, STOCK_SUB, { id: product.id });
      await sleep(300);
      await gqlOk(shop.url, ADJUST, { id: product.id, d: -1 }, adminC.token);
      await gqlOk(shop.url, ADJUST, { id: product.id, d: -1 }, adminC.token);
      await waitFor(() => live.events.length === 2, 5000, 'two events');
      const old = live.events[0].productStockUpdate.eventId;
      // Fresh enough: replayable.
      const soon = collect(c, STOCK_SUB, { id: product.id, after: old });
      await waitFor(() => soon.events.length === 1, 5000, 'replay within retention');
      await sleep(3500);
      const late = collect(c, STOCK_SUB, { id: product.id, after: old });
      await waitFor(() => late.completed, 5000, 'completion past retention');
      expect(JSON.stringify(late.errors)).toContain('RESYNC_REQUIRED');
    } finally {
      await shop.close();
    }
  });

  it('answers RESYNC_REQUIRED when the log was pruned past `after` after the id was accepted', async () => {
    const databaseUrl = await createTestDatabase();
    const first = await startTestShop({ databaseUrl });
    let second: TestShop | undefined;
    try {
      const adminC = await makeAdmin(first);
      const product = await makeProduct(first, [{ size: '9', color: 'black', stock: 20 }]);
      for (let i = 0; i < 3; i++) await gqlOk(first.url, ADJUST, { id: product.id, d: -1 }, adminC.token);
      await waitFor(async () => (await logRows(first, 'product_stock_update')).length === 3, 5000, 'three logged');
      // An instance started afterwards holds none of them in memory: its replay reads the log.
      second = await startTestShop({ databaseUrl });
      const rows = await logRows(second, 'product_stock_update');
      // What a pruning run does, without yet moving the watermark `resumePoint` checks against.
      const c = new Client({ connectionString: databaseUrl });
      await c.connect();
      await c.query('delete from shop_events where id <= $1', [rows[1].id]);
      await c.end();
      const ws2 = track(wsClient(second.wsUrl));
      const sub = collect(ws2, STOCK_SUB, { id: product.id, after: rows[0].payload.eventId });
      await waitFor(() => sub.completed, 5000, 'completion');
      expect(sub.events).toHaveLength(0);
      expect(JSON.stringify(sub.errors)).toContain('RESYNC_REQUIRED');
    } finally {
      await Promise.all([first.close(), second?.close()]);
    }
  });

  it('replays a stock event logged before `productVariant` existed, with the field null', async () => {
    const databaseUrl = await createTestDatabase();
    const first = await startTestShop({ databaseUrl });
    let second: TestShop | undefined;
    try {
      const adminC = await makeAdmin(first);
      const product = await makeProduct(first, [{ size: '9', color: 'black', stock: 20 }]);
      await gqlOk(first.url, ADJUST, { id: product.id, d: -1 }, adminC.token);
      await waitFor(async () => (await logRows(first, 'product_stock_update')).length === 1, 5000, 'logged');
      const [row] = await logRows(first, 'product_stock_update');
      expect(row.payload.productVariant).toMatchObject({ id: expect.any(String), stock: 19 });
      // The event as an older build logged it; a cold instance replays it from the log.
      const c = new Client({ connectionString: databaseUrl });
      await c.connect();
      await c.query(`update shop_events set payload = payload - 'productVariant' where id = $1`, [row.id]);
      await c.end();
      second = await startTestShop({ databaseUrl });
      const ws2 = track(wsClient(second.wsUrl));
      const before = formatId(Number(row.id) - 1);
      const sub = collect(ws2, 'subscription($id: ID!, $after: String) { productStockUpdate(productId: $id, after: $after) { eventId stock productVariant { id stock } } }', { id: product.id, after: before });
      await waitFor(() => sub.events.length + sub.errors.length > 0, 5000, 'the replayed event');
      expect(sub.errors).toEqual([]);
      expect(sub.events[0].productStockUpdate).toEqual({ eventId: row.payload.eventId, stock: 19, productVariant: null });
    } finally {
      await Promise.all([first.close(), second?.close()]);
    }
  });
});
