import { randomUUID } from 'node:crypto';
import type { Client as WsClient } from 'graphql-ws';
import type { Socket } from 'socket.io-client';
import { collect, gqlOk, recordSocket, sleep, socketV4, waitFor, wsClient } from '../support/clients';
import { makeAdmin, makeProduct, makeUser } from '../support/fixtures';
import { createTestDatabase, startTestShop } from '../support/shop';

type Shop = Awaited<ReturnType<typeof startTestShop>>;
const shops: Shop[] = [];
const sockets: Socket[] = [];
const clients: WsClient[] = [];

afterAll(async () => {
  sockets.forEach((s) => s.close());
  await Promise.all(clients.map((c) => c.dispose()));
  await Promise.all(shops.map((s) => s.close()));
});

const SALE_EVENT = 'saleId event products';
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
const PRICE = `query($id: ID!) { product(id: $id) { price } }`;

describe('flash sales across restarts', () => {
  it('starts (and ends) a sale whose times passed while no scheduler ran exactly once at the next boot', async () => {
    const databaseUrl = await createTestDatabase();
    const namespace = `restart-${randomUUID()}`;
    const config = { flashSaleTickMs: 100 };
    const boot = async () => {
      const s = await startTestShop({ databaseUrl, namespace, config });
      shops.push(s);
      return s;
    };
    // The instance clients stay connected to; its scheduler is off, as if only web nodes were up.
    const listener = await boot();
    await listener.app.services.flashSales.stop();
    const first = await boot();
    const admin = await makeAdmin(first);
    const wisher = await makeUser(first);
    const long = await makeProduct(first, [{ size: '9', color: 'black', stock: 3 }], { price: 100 });
    const brief = await makeProduct(first, [{ size: '9', color: 'black', stock: 3 }], { price: 100 });
    for (const id of [long.id, brief.id]) await gqlOk(first.url, `mutation($id: ID!) { addToWishlist(productId: $id) { id } }`, { id }, wisher.token);

    const create = (name: string, productId: string, startMs: number, endMs: number) => gqlOk(first.url,
      `mutation($input: CreateFlashSaleInput!) { createFlashSale(input: $input) { id state } }`,
      { input: { name, discountPercentage: 30, startTime: inMs(startMs), endTime: inMs(endMs), productIds: [productId] } }, admin.token)
      .then((r) => r.createFlashSale as { id: string; state: string });
    const saleLong = await create('Runs for an hour', long.id, 1200, 3_600_000);
    const saleBrief = await create('Over before anyone looked', brief.id, 1200, 1800);
    expect([saleLong.state, saleBrief.state]).toEqual(['scheduled', 'scheduled']);
    await first.close();

    const ws = wsClient(listener.wsUrl, wisher.token);
    clients.push(ws);
    const starts = collect(ws, `subscription { flashSaleStart { ${SALE_EVENT} } }`);
    const ends = collect(ws, `subscription { flashSaleEnd { ${SALE_EVENT} } }`);
    const socket = await socketV4(listener.url, wisher.token);
    sockets.push(socket);
    const rec = recordSocket(socket);
    await sleep(2000); // both start times and one end time pass with no scheduler running
    expect((await gqlOk(listener.url, `query($id: ID!) { flashSale(id: $id) { state } }`, { id: saleLong.id })).flashSale.state).toBe('scheduled');
    expect((await gqlOk(listener.url, PRICE, { id: long.id })).product.price).toBe(100);
    expect(rec.of('flash_sale_start')).toHaveLength(0);

    // Two instances boot at the same moment; each runs its catch-up tick.
    await Promise.all([boot(), boot()]);
    await waitFor(() => rec.of('flash_sale_start').length >= 2 && rec.of('flash_sale_end').length >= 1
      && starts.events.length >= 2 && ends.events.length >= 1, 5000, 'catch-up events');
    await sleep(500);

    const ids = (list: Array<{ saleId: string }>) => list.map((e) => e.saleId).sort();
    expect(ids(rec.of('flash_sale_start'))).toEqual([saleBrief.id, saleLong.id].sort());
    expect(ids(rec.of('flash_sale_end'))).toEqual([saleBrief.id]);
    expect(ids(starts.events.map((e) => e.flashSaleStart))).toEqual([saleBrief.id, saleLong.id].sort());
    expect(ids(ends.events.map((e) => e.flashSaleEnd))).toEqual([saleBrief.id]);
    // The brief sale started before it ended.
    const order = rec.got.filter((g) => g.data?.saleId === saleBrief.id).map((g) => g.event);
    expect(order).toEqual(['flash_sale_start', 'flash_sale_end']);

    // The running sale discounts; the one already over never offered its price, so no alert for it.
    expect((await gqlOk(listener.url, PRICE, { id: long.id })).product.price).toBe(70);
    expect((await gqlOk(listener.url, PRICE, { id: brief.id })).product.price).toBe(100);
    expect(rec.of('price_drop_alert')).toEqual([expect.objectContaining({ productId: long.id, oldPrice: 100, newPrice: 70 })]);
  });
});
