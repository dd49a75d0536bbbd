import request from 'supertest';
import type { Socket } from 'socket.io-client';
import { collect, emitAck, gqlOk, recordSocket, sleep, socketV4, waitFor, wsClient } from '../../support/clients';
import { makeAdmin, makeProduct, type TestUser } from '../../support/fixtures';
import { useShop } from '../../support/use-shop';

/**
 * Redis stopped while two instances keep serving: mutations answer at their usual speed, /readyz
 * names redis, and afterwards every client on every instance has every event, once, in order.
 */
const OUTAGE_MS = Number(process.env.REDIS_OUTAGE_MS ?? 30_000);
const ADJUST = 'mutation($id: ID!) { adjustStock(productId: $id, variant: { size: "9", color: "black" }, delta: -1) { id } }';
const SUB = 'subscription($id: ID!) { productStockUpdate(productId: $id) { eventId stock } }';

/** Two instances of one shop on a redis-server of this file's own, which the test stops. */
const { a, b, redis, track } = useShop({ instances: 2, ownRedis: true });
let admin: TestUser;

beforeAll(async () => {
  admin = await makeAdmin(a());
});

async function timed<T>(f: () => Promise<T>): Promise<number> {
  const t = Date.now();
  await f();
  return Date.now() - t;
}

describe('a Redis outage', () => {
  it('keeps mutations at their usual speed and loses no event on either instance', async () => {
    const product = await makeProduct(a(), [{ size: '9', color: 'black', stock: 500 }]);
    const subs = [a(), b()].map((shop) => {
      const c = wsClient(shop.wsUrl);
      track(c);
      return collect(c, SUB, { id: product.id });
    });
    const sockets: Socket[] = [];
    for (const shop of [a(), b()]) {
      const s = await socketV4(shop.url);
      track(s);
      expect((await emitAck(s, 'join_room', { room: `product_${product.id}` })).ok).toBe(true);
      sockets.push(s);
    }
    const recs = sockets.map((s) => recordSocket(s));
    await sleep(300);

    const before: number[] = [];
    for (let i = 0; i < 5; i++) before.push(await timed(() => gqlOk((i % 2 ? b() : a()).url, ADJUST, { id: product.id }, admin.token)));

    await redis().stop();
    await waitFor(async () => (await request(a().url).get('/readyz')).status === 503, 10_000, '/readyz to notice');
    const ready = await request(a().url).get('/readyz');
    expect(ready.body.checks).toMatchObject({ database: 'ok', redis: 'unreachable' });

    const during: number[] = [];
    const until = Date.now() + OUTAGE_MS;
    let i = 0;
    while (Date.now() < until) {
      during.push(await timed(() => gqlOk((i++ % 2 ? b() : a()).url, ADJUST, { id: product.id }, admin.token)));
      await sleep(250);
    }
    await redis().start();
    await waitFor(async () => (await request(b().url).get('/readyz')).status === 200, 10_000, 'Redis back');
    const backAt = Date.now();
    for (let j = 0; j < 3; j++) await gqlOk(a().url, ADJUST, { id: product.id }, admin.token);

    const total = 5 + during.length + 3;
    await waitFor(() => subs.every((s) => s.events.length >= total) && recs.every((r) => r.of('product_stock_update').length >= total),
      5_000, 'every event on every client within 5 s of Redis answering');
    const caughtUpMs = Date.now() - backAt;
    await sleep(300);
    const expected = Array.from({ length: total }, (_, k) => 499 - k);
    for (const s of subs) expect(s.events.map((e) => e.productStockUpdate.stock)).toEqual(expected);
    for (const r of recs) expect(r.of('product_stock_update').map((e) => e.stock)).toEqual(expected);
    const ids = subs[0].events.map((e) => e.productStockUpdate.eventId);
    expect(subs[1].events.map((e) => e.productStockUpdate.eventId)).toEqual(ids);
    expect(recs[0].of('product_stock_update').map((e) => e.eventId)).toEqual(ids);

    // "Usual speed": no mutation waited on Redis (before the log, they hung until it came back).
    const worst = Math.max(...during);
    console.info(`redis outage ${OUTAGE_MS} ms: mutations before max=${Math.max(...before)} ms, during n=${during.length} max=${worst} ms; all events on all clients ${caughtUpMs} ms after Redis answered`);
    expect(worst).toBeLessThan(2_000);
  }, OUTAGE_MS + 60_000);
});
