import { collect, gqlOk, sleep, waitFor, wsClient } from '../../support/clients';
import { makeAdmin, makeProduct, makeUser, raiseEvent, type TestUser } from '../../support/fixtures';
import { useShop } from '../../support/use-shop';

const { shop, ws } = useShop();
let admin: TestUser;

beforeAll(async () => {
  admin = await makeAdmin(shop());
});

const client = (token?: string) => ws(shop(), token);

const ADJUST = `mutation($id: ID!, $d: Int!) { adjustStock(productId: $id, variant: { size: "9", color: "black" }, delta: $d) { id } }`;

describe('fan-out engine', () => {
  it('executes once per event for all subscribers of one document, and each gets the full payload', async () => {
    const product = await makeProduct(shop(), [{ size: '9', color: 'black', stock: 30 }]);
    const q = 'subscription($ids: [ID!]) { inventoryUpdate(productIds: $ids) { productId variant { size color } stockChange timestamp } }';
    const subs = Array.from({ length: 12 }, () => collect(client(), q, { ids: [product.id] }));
    const other = collect(client(), 'subscription { inventoryUpdate { productId stockChange } }');
    await sleep(300);
    const before = { executions: shop().app.fanout.executions, deliveries: shop().app.fanout.deliveries };
    await gqlOk(shop().url, ADJUST, { id: product.id, d: -2 }, admin.token);
    await gqlOk(shop().url, ADJUST, { id: product.id, d: 5 }, admin.token);
    await waitFor(() => subs.every((s) => s.events.length === 2) && other.events.length >= 2, 5000, 'all deliveries');
    for (const s of subs) {
      expect(s.events.map((e) => e.inventoryUpdate.stockChange)).toEqual([-2, 5]);
      expect(s.events[0].inventoryUpdate).toEqual({ productId: product.id, variant: { size: '9', color: 'black' }, stockChange: -2, timestamp: expect.any(String) });
    }
    // 2 events × (1 shared document + 1 other document) executions for 26 deliveries
    expect(shop().app.fanout.deliveries - before.deliveries).toBe(26);
    expect(shop().app.fanout.executions - before.executions).toBe(4);
  });

  it('still gives each subscriber only its own audience', async () => {
    const alice = await makeUser(shop());
    const bob = await makeUser(shop());
    const q = 'subscription { orderStatusUpdate { orderId status } }';
    const a = collect(client(alice.token), q);
    const b = collect(client(bob.token), q);
    await sleep(300);
    const hub = shop().hub;
    const base = { orderNumber: 'ORD-2026-000100', statusHistory: [], estimatedDelivery: null, tracking: null, timestamp: new Date().toISOString() };
    await raiseEvent(shop(), 'order_status_update', { ...base, orderId: 'for-alice', status: 'confirmed' }, { userId: alice.id });
    await raiseEvent(shop(), 'order_status_update', { ...base, orderId: 'for-bob', status: 'shipped' }, { userId: bob.id });
    await waitFor(() => a.events.length === 1 && b.events.length === 1, 3000, 'own events');
    await sleep(200);
    expect(a.events).toEqual([{ orderStatusUpdate: { orderId: 'for-alice', status: 'confirmed' } }]);
    expect(b.events).toEqual([{ orderStatusUpdate: { orderId: 'for-bob', status: 'shipped' } }]);
  });

  it('keeps aliases, variables and operation names apart', async () => {
    const product = await makeProduct(shop(), [{ size: '9', color: 'black', stock: 30 }]);
    const plain = collect(client(), 'subscription($id: ID!) { productStockUpdate(productId: $id) { stock } }', { id: product.id });
    const aliased = collect(client(), 'subscription($id: ID!) { s: productStockUpdate(productId: $id) { left: stock } }', { id: product.id });
    await sleep(300);
    await gqlOk(shop().url, ADJUST, { id: product.id, d: -1 }, admin.token);
    await waitFor(() => plain.events.length === 1 && aliased.events.length === 1, 3000, 'both');
    expect(plain.events[0]).toEqual({ productStockUpdate: { stock: 29 } });
    expect(aliased.events[0]).toEqual({ s: { left: 29 } });
  });

  it('forgets a subscriber on complete and on disconnect, and drops empty groups', async () => {
    const product = await makeProduct(shop(), [{ size: '9', color: 'black', stock: 30 }]);
    const base = shop().app.fanout.stats();
    const q = 'subscription($id: ID!) { productStockUpdate(productId: $id) { stock } }';
    const stay = collect(client(), q, { id: product.id });
    const leaving = collect(client(), q, { id: product.id });
    const disconnecting = wsClient(shop().wsUrl);
    const gone = collect(disconnecting, q, { id: product.id });
    await waitFor(() => shop().app.fanout.stats().members === base.members + 3, 3000, 'three members');
    expect(shop().app.fanout.stats().groups).toBe(base.groups + 1);
    leaving.unsubscribe();
    await disconnecting.dispose();
    await waitFor(() => shop().app.fanout.stats().members === base.members + 1, 3000, 'one member left');
    await gqlOk(shop().url, ADJUST, { id: product.id, d: -1 }, admin.token);
    await waitFor(() => stay.events.length === 1, 3000, 'delivery to the one left');
    expect(leaving.events).toEqual([]);
    expect(gone.events).toEqual([]);
    stay.unsubscribe();
    await waitFor(() => shop().app.fanout.stats().groups === base.groups, 3000, 'group dropped');
  });

  it('runs operations it does not group (root fragments) through graphql itself', async () => {
    const product = await makeProduct(shop(), [{ size: '9', color: 'black', stock: 30 }]);
    const viaFragment = collect(client(), `subscription($id: ID!) { ...S } fragment S on Subscription { productStockUpdate(productId: $id) { stock } }`, { id: product.id });
    const refused = collect(client(), 'subscription { ... on Subscription { newOrder { orderId } } }');
    await sleep(300);
    await gqlOk(shop().url, ADJUST, { id: product.id, d: -2 }, admin.token);
    await waitFor(() => viaFragment.events.length === 1 && refused.errors.length === 1, 3000, 'fallback delivery');
    expect(viaFragment.events[0]).toEqual({ productStockUpdate: { stock: 28 } });
    expect(JSON.stringify(refused.errors)).toContain('UNAUTHENTICATED');
  });
});
