import { randomUUID } from 'node:crypto';
import { createClient, type Client as WsClient } from 'graphql-ws';
import { Client } from 'pg';
import WebSocket from 'ws';
import { io as ioV4, type Socket } from 'socket.io-client';
import { gql, gqlOk, sleep, waitFor } from '../../support/clients';
import { startProxy } from '../../support/proxy';
import { useShopProcesses, type ShopProcess } from '../../support/use-shop';
import { formatEventId } from '../../../src/events/event-log';

/**
 * Instances as real processes (`node dist/src/main.js`) that die by SIGKILL: graphql-ws clients
 * resume on the survivor with `connectionParams.lastEventId`; a process killed between its commit
 * and the relay, or between the relay's commit and the publish, loses nothing.
 */
const SECRET = 'crash-test-secret-0123456789-0123456789-abcdef';
const ADMIN = { email: 'crash-admin@example.test', password: 'crash-admin-password' };
const SUB = 'subscription($id: ID!) { productStockUpdate(productId: $id) { eventId stock } }';
const ADJUST = 'mutation($id: ID!) { adjustStock(productId: $id, variant: { size: "9", color: "black" }, delta: -1) { id } }';

const { launch, databaseUrl, track, defer } = useShopProcesses({
  JWT_SECRET: SECRET, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password,
});
const clients: WsClient[] = [];
defer(() => Promise.all(clients.map((c) => c.dispose())));

async function sql<T = any>(text: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: databaseUrl() });
  await c.connect();
  try {
    return (await c.query(text, params)).rows;
  } finally {
    await c.end();
  }
}

const loggedStock = async (productId: string) =>
  (await sql<{ id: string }>(
    `select id from shop_events where name = 'product_stock_update' and route->>'productId' = $1 order by id`,
    [productId])).map((r) => formatEventId(Number(r.id)));

async function setup(at: ShopProcess): Promise<{ token: string; productId: string }> {
  const { login } = await gqlOk(at.url, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: ADMIN.email, p: ADMIN.password });
  const created = await gqlOk(at.url, `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`, {
    input: { name: `Crash runner ${randomUUID().slice(0, 6)}`, brand: 'T', category: 'running', price: 100, variants: [{ size: '9', color: 'black', stock: 1000 }] },
  }, login.token);
  return { token: login.token, productId: created.createProduct.id };
}

describe('instances that die', () => {
  it('kill -9 with 200 clients of both transports: each ends with every event once, in order (Socket.IO by its own recovery)', async () => {
    const a = await launch();
    const b = await launch();
    const { token, productId } = await setup(b);
    let aAlive = true;
    const proxy = track(await startProxy(() => Number(new URL(aAlive ? a.url : b.url).port)));
    const sockets: Socket[] = [];
    const socketGot: string[][] = [];
    const recovered: boolean[] = [];
    await Promise.all(Array.from({ length: 100 }, async (_, k) => {
      const s = ioV4(proxy.url, { transports: ['websocket'], forceNew: true, reconnectionDelay: 200 + (k % 10) * 50, reconnectionDelayMax: 1000 });
      sockets.push(track(s));
      const got: string[] = [];
      socketGot.push(got);
      s.on('product_stock_update', (d: { eventId: string }) => got.push(d.eventId));
      s.on('connect', () => void (s.recovered && recovered.push(true)));
      await new Promise<void>((resolve, reject) => {
        s.once('connect', () => resolve());
        s.once('connect_error', reject);
      });
      await new Promise((r) => s.emit('join_room', { room: `product_${productId}` }, r));
    }));
    const wsGot = Array.from({ length: 100 }, () => {
      const got: string[] = [];
      let last: string | undefined;
      const client = createClient({
        url: () => (aAlive ? a.wsUrl : b.wsUrl), webSocketImpl: WebSocket, lazy: true,
        connectionParams: () => (last ? { lastEventId: last } : {}),
        retryAttempts: 1000, retryWait: async () => void (await sleep(100 + Math.random() * 200)), shouldRetry: () => true,
      });
      clients.push(client);
      client.subscribe<{ productStockUpdate: { eventId: string } }>({ query: SUB, variables: { id: productId } }, {
        next: (v) => void (v.data && got.push((last = v.data.productStockUpdate.eventId))), error: () => undefined, complete: () => undefined,
      });
      return got;
    });
    await sleep(1500);
    const writes = 30;
    for (let i = 0; i < writes; i++) {
      await gqlOk(b.url, ADJUST, { id: productId }, token);
      if (i === 10) {
        aAlive = false;
        a.p.child.kill('SIGKILL');
      }
      await sleep(40);
    }
    const logged = await loggedStock(productId);
    expect(logged).toHaveLength(writes);
    await waitFor(() => [...socketGot, ...wsGot].every((got) => got.length >= writes), 20_000, 'every client to have every event');
    await sleep(500);
    for (const got of [...socketGot, ...wsGot]) expect(got).toEqual(logged);
    expect(recovered.length).toBe(100);
    sockets.forEach((s) => s.close());
    await proxy.close();
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    b.p.child.kill('SIGTERM');
    await b.p.exited;
  }, 120_000);

  it('a process killed after its commit and before relaying loses nothing: the next instance relays it', async () => {
    const c = await launch({ SHOP_FAULT_POINT: 'before-relay' });
    // Setup records no fact (a new product raises no event), so the process is still up after it.
    const { token, productId } = await setup(c);
    const before = await loggedStock(productId);
    const [{ id: resumeFrom }] = await sql(`select lpad(last_id::text, 16, '0') as id from shop_event_state`);
    await gql(c.url, ADJUST, { id: productId }, token).catch(() => undefined);
    expect((await c.p.exited).signal).toBe('SIGKILL');
    // Committed: the stock moved, the fact waits in the outbox, nothing reached the log.
    const [{ stock }] = await sql(`select stock from product_variants v join products p on p.id = v.product_id where p.id = $1`, [productId]);
    expect(stock).toBe(999);
    expect(await loggedStock(productId)).toEqual(before);
    expect((await sql(`select count(*)::int as n from shop_outbox`))[0].n).toBeGreaterThan(0);

    const d = await launch();
    await waitFor(async () => (await loggedStock(productId)).length === before.length + 1, 10_000, 'the relay on the next instance');
    // A client resuming from before the crash gets the event.
    const got: number[] = [];
    const client = createClient({ url: d.wsUrl, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
    clients.push(client);
    client.subscribe<{ productStockUpdate: { stock: number } }>({
      query: 'subscription($id: ID!, $after: String) { productStockUpdate(productId: $id, after: $after) { stock } }',
      variables: { id: productId, after: resumeFrom },
    }, { next: (v) => void (v.data && got.push(v.data.productStockUpdate.stock)), error: () => undefined, complete: () => undefined });
    await waitFor(() => got.length === 1, 5000, 'the replayed event');
    expect(got).toEqual([999]);
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    d.p.child.kill('SIGTERM');
    await d.p.exited;
  }, 90_000);

  it('a process killed after the relay committed and before it published: the others read the log', async () => {
    const e = await launch({ SHOP_FAULT_POINT: 'after-relay' });
    // f's poll would relay e's fact itself if it came first; f learns of e's relay from the log's NOTIFY.
    const f = await launch({ EVENT_POLL_MS: '60000' });
    const { token, productId } = await setup(f);
    const got: number[] = [];
    const client = createClient({ url: f.wsUrl, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
    clients.push(client);
    client.subscribe<{ productStockUpdate: { stock: number } }>({ query: SUB, variables: { id: productId } },
      { next: (v) => void (v.data && got.push(v.data.productStockUpdate.stock)), error: () => undefined, complete: () => undefined });
    await sleep(500);
    // The instance that commits a fact relays it: e commits a change, relays it and dies before it
    // publishes. f must still deliver it (from the log) before the later ones, exactly once.
    await gql(e.url, ADJUST, { id: productId }, token).catch(() => undefined);
    expect((await e.p.exited).signal).toBe('SIGKILL');
    const writes = 5;
    for (let i = 1; i < writes; i++) {
      await gqlOk(f.url, ADJUST, { id: productId }, token);
      await sleep(50);
    }
    await waitFor(() => got.length === writes, 10_000, 'every event on the surviving instance');
    await sleep(500);
    expect(got).toEqual(Array.from({ length: writes }, (_, k) => 999 - k));
    expect(await loggedStock(productId)).toHaveLength(writes);
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    f.p.child.kill('SIGTERM');
    await f.p.exited;
  }, 90_000);
});
