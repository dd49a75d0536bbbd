import type { Socket } from 'socket.io-client';
import { collect, emitAck, gqlOk, recordSocket, sleep, socketV4, waitFor, wsClient } from '../../support/clients';
import { makeAdmin, makeProduct, makeUser, raiseEvent, type TestUser } from '../../support/fixtures';
import { startTestShop } from '../../support/shop';
import { useShop } from '../../support/use-shop';

const { a, b, track } = useShop({ instances: 2 });
let admin: TestUser;
let alice: TestUser;

beforeAll(async () => {
  admin = await makeAdmin(a());
  alice = await makeUser(a());
});

describe('two instances on one PostgreSQL and one Redis', () => {
  it('delivers an event raised on A to clients of both instances exactly once, on both transports', async () => {
    const product = await makeProduct(a(), [{ size: '9', color: 'black', stock: 50 }]);
    const onA = track(await socketV4(a().url, alice.token));
    const onB = track(await socketV4(b().url, alice.token));
    const recA = recordSocket(onA);
    const recB = recordSocket(onB);
    for (const s of [onA, onB]) expect((await emitAck(s, 'join_room', { room: `product_${product.id}` })).ok).toBe(true);
    const wsA = track(wsClient(a().wsUrl, alice.token));
    const wsB = track(wsClient(b().wsUrl));
    const q = 'subscription($id: ID!) { productStockUpdate(productId: $id) { productId stock stockChange } }';
    const subA = collect(wsA, q, { id: product.id });
    const subB = collect(wsB, q, { id: product.id });
    await sleep(200);

    for (let i = 0; i < 3; i++) {
      await gqlOk(a().url, `mutation($id: ID!) { adjustStock(productId: $id, variant: { size: "9", color: "black" }, delta: -1) { id } }`, { id: product.id }, admin.token);
    }
    await waitFor(() => [recA.of('product_stock_update'), recB.of('product_stock_update'), subA.events, subB.events].every((l) => l.length >= 3), 5000, 'events on both instances');
    await sleep(300);
    for (const list of [recA.of('product_stock_update'), recB.of('product_stock_update')]) {
      expect(list.map((e) => e.stock)).toEqual([49, 48, 47]);
    }
    for (const sub of [subA, subB]) {
      expect(sub.events.map((e) => e.productStockUpdate.stock)).toEqual([49, 48, 47]);
    }
    expect(recA.of('inventory_update').filter((e) => e.productId === product.id)).toHaveLength(3);
    expect(recB.of('inventory_update').filter((e) => e.productId === product.id)).toHaveLength(3);
  });

  it('delivers a user event raised on B to the owner connected to A only', async () => {
    const bob = await makeUser(b());
    const aliceOnA = track(await socketV4(a().url, alice.token));
    const bobOnA = track(await socketV4(a().url, bob.token));
    const recAlice = recordSocket(aliceOnA);
    const recBob = recordSocket(bobOnA);
    await sleep(100);
    await raiseEvent(b(), 'order_status_update', {
      orderId: 'o-1', orderNumber: 'ORD-2026-000042', status: 'shipped', statusHistory: [], estimatedDelivery: null,
      tracking: { carrier: 'UPS', trackingNumber: '1Z999' }, timestamp: new Date().toISOString(),
    }, { userId: alice.id });
    await waitFor(() => recAlice.of('order_status_update').length === 1, 3000, 'alice event');
    await sleep(200);
    expect(recAlice.of('order_status_update')).toHaveLength(1);
    expect(recBob.of('order_status_update')).toHaveLength(0);
  });

  it('keeps shops with different namespaces apart on the same Redis', async () => {
    // Another shop: its own database (and so its own event log) and its own namespace.
    const other = await startTestShop();
    try {
      const s = track(await socketV4(other.url));
      const rec = recordSocket(s);
      const product = await makeProduct(a(), [{ size: '8', color: 'white', stock: 5 }]);
      await a().app.services.catalog.adjustStock(product.id, { size: '8', color: 'white' }, 1);
      await sleep(400);
      expect(rec.of('inventory_update')).toHaveLength(0);
    } finally {
      await other.close();
    }
  });
});
