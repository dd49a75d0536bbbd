import { codeOf, collect, emitAck, gql, gqlOk, recordSocket, sleep, socketV4, waitFor, wsClient } from '../support/clients';
import { makeAdmin, makeProduct, makeUser, type TestUser } from '../support/fixtures';
import { useShop } from '../support/use-shop';

const { shop, track } = useShop();
let admin: TestUser;

beforeAll(async () => {
  admin = await makeAdmin(shop());
});

const ORDER = `id orderNumber status totalAmount itemCount createdAt updatedAt estimatedDelivery
  items { productId productName variant { size color } sku unitPrice quantity lineTotal }
  shippingAddress { name line1 line2 city postalCode country }
  statusHistory { status note timestamp } tracking { carrier trackingNumber } customer { id name email }`;
const ADD = `mutation($p: ID!, $v: VariantInput!, $q: Int) { addToCart(productId: $p, variant: $v, quantity: $q) { itemCount } }`;
const CHECKOUT = `mutation($input: CheckoutInput!) { checkout(input: $input) { ${ORDER} } }`;
const MOVE = `mutation($id: ID!, $status: OrderStatus!, $note: String, $tracking: TrackingInput, $eta: String) {
  updateOrderStatus(orderId: $id, status: $status, note: $note, tracking: $tracking, estimatedDelivery: $eta) { ${ORDER} } }`;
const CANCEL = `mutation($id: ID!) { cancelOrder(orderId: $id) { ${ORDER} } }`;
const ORDER_Q = `query($id: ID!) { order(id: $id) { ${ORDER} } }`;
const SUB = `subscription { orderStatusUpdate { eventId orderId orderNumber status statusHistory { status note timestamp } estimatedDelivery tracking { carrier trackingNumber } timestamp order { ${ORDER} } } }`;
const PRODUCT = `query($id: ID!) { product(id: $id) { variants { size color stock } } }`;

const black9 = { size: '9', color: 'black' };
const address = { name: 'Alice Runner', line1: '1 Track Road', line2: 'Flat 2', city: 'Leeds', postalCode: 'LS1 1AA', country: 'GB' };

async function placeOrder(user: TestUser, productId: string, quantity = 1) {
  await gqlOk(shop().url, ADD, { p: productId, v: black9, q: quantity }, user.token);
  return (await gqlOk(shop().url, CHECKOUT, { input: { shippingAddress: address } }, user.token)).checkout;
}

const move = (id: string, status: string, extra: Record<string, unknown> = {}) => gql(shop().url, MOVE, { id, status, ...extra }, admin.token);
const stock = async (productId: string) => (await gqlOk(shop().url, PRODUCT, { id: productId })).product.variants[0].stock as number;

describe('order status machine', () => {
  it('moves pending → confirmed → processing → shipped → delivered → refunded, keeps history, tells only the owner', async () => {
    const product = await makeProduct(shop(), [{ ...black9, stock: 20 }], { price: 120 });
    const alice = await makeUser(shop(), undefined, 'Alice');
    const bob = await makeUser(shop(), undefined, 'Bob');
    const aliceRec = recordSocket(track(await socketV4(shop().url, alice.token)));
    const bobRec = recordSocket(track(await socketV4(shop().url, bob.token)));
    const aliceWs = track(wsClient(shop().wsUrl, alice.token));
    const sub = collect(aliceWs, SUB);
    await sleep(200);

    const order = await placeOrder(alice, product.id, 2);
    const bobOrder = await placeOrder(bob, product.id, 1);
    const eta = '2030-07-05T10:00:00.000Z';
    const steps: Array<[string, Record<string, unknown>]> = [
      ['confirmed', { note: 'Payment received' }],
      ['processing', {}],
      ['shipped', { tracking: { carrier: 'UPS', trackingNumber: '1Z999AA1234567890' }, eta }],
      ['delivered', {}],
      ['refunded', { note: 'Returned unworn' }],
    ];
    let last: any;
    for (const [status, extra] of steps) {
      const r = await move(order.id, status, extra);
      expect(r.errors).toBeUndefined();
      last = r.data!.updateOrderStatus;
      expect(last.status).toBe(status);
    }
    expect(last.statusHistory.map((h: any) => [h.status, h.note])).toEqual([
      ['pending', 'Order placed'], ['confirmed', 'Payment received'], ['processing', null], ['shipped', null], ['delivered', null],
      ['refunded', 'Returned unworn'],
    ]);
    expect(last).toMatchObject({ tracking: { carrier: 'UPS', trackingNumber: '1Z999AA1234567890' }, estimatedDelivery: eta });
    expect(last.customer).toEqual({ id: alice.id, name: 'Alice', email: alice.email });
    const own = (await gqlOk(shop().url, ORDER_Q, { id: order.id }, alice.token)).order;
    expect(own).toEqual({ ...last, customer: null });

    await waitFor(() => aliceRec.of('order_status_update').length === 5 && sub.events.length === 5, 5000, 'order_status_update x5');
    const got = aliceRec.of('order_status_update');
    expect(got.map((e) => e.status)).toEqual(steps.map(([s]) => s));
    expect(got).toEqual(sub.events.map((e) => e.orderStatusUpdate));
    expect(got[2]).toMatchObject({ orderId: order.id, orderNumber: order.orderNumber, tracking: { carrier: 'UPS' }, estimatedDelivery: eta });
    expect(got[4].statusHistory).toEqual(last.statusHistory);
    // The order itself, as its owner reads it: what a normalized client cache merges by id.
    expect(got.map((e) => [e.order.id, e.order.status])).toEqual(steps.map(([s]) => [order.id, s]));
    expect(got[4].order).toEqual(own);

    // Bob's own move is the fence: once he has it, Alice's five would have reached him too.
    expect((await move(bobOrder.id, 'confirmed')).errors).toBeUndefined();
    await waitFor(() => bobRec.of('order_status_update').length === 1, 3000, 'bob order event');
    expect(bobRec.of('order_status_update').map((e) => e.orderId)).toEqual([bobOrder.id]);
    expect(aliceRec.of('order_status_update')).toHaveLength(5);
  });

  it('refuses moves outside the machine with BAD_USER_INPUT and changes nothing', async () => {
    const product = await makeProduct(shop(), [{ ...black9, stock: 20 }]);
    const carol = await makeUser(shop());
    const order = await placeOrder(carol, product.id);
    for (const status of ['shipped', 'delivered', 'refunded', 'pending', 'processing']) {
      const r = await move(order.id, status);
      expect(codeOf(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0].message).toContain(`from pending to ${status}`);
    }
    for (const s of ['confirmed', 'processing', 'shipped', 'delivered']) expect((await move(order.id, s)).errors).toBeUndefined();
    expect(codeOf(await move(order.id, 'cancelled'))).toBe('BAD_USER_INPUT');
    expect(codeOf(await move(order.id, 'shipped'))).toBe('BAD_USER_INPUT');
    expect(codeOf(await move(order.id, 'bogus'))).toBe('BAD_USER_INPUT');
    expect(codeOf(await move(order.id, 'refunded', { eta: 'next tuesday' }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(shop().url, MOVE, { id: order.id, status: 'refunded' }, carol.token))).toBe('FORBIDDEN');
    expect(codeOf(await move('00000000-0000-4000-8000-000000000000', 'confirmed'))).toBe('NOT_FOUND');
    const now = (await gqlOk(shop().url, ORDER_Q, { id: order.id }, carol.token)).order;
    expect(now.status).toBe('delivered');
    expect(now.statusHistory.map((h: any) => h.status)).toEqual(['pending', 'confirmed', 'processing', 'shipped', 'delivered']);
  });

  it('applies one of several concurrent moves of the same order', async () => {
    const product = await makeProduct(shop(), [{ ...black9, stock: 10 }]);
    const dave = await makeUser(shop());
    const order = await placeOrder(dave, product.id, 4);
    expect(await stock(product.id)).toBe(6);
    const results = await Promise.all(Array.from({ length: 10 }, () => move(order.id, 'cancelled')));
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    expect(results.filter((r) => r.errors).map(codeOf)).toEqual(Array(9).fill('BAD_USER_INPUT'));
    expect(await stock(product.id)).toBe(10);
    const now = (await gqlOk(shop().url, ORDER_Q, { id: order.id }, dave.token)).order;
    expect(now.statusHistory.map((h: any) => h.status)).toEqual(['pending', 'cancelled']);
  });
});

describe('cancelling', () => {
  it('lets the owner cancel a pending order: stock returns with inventory_update +n and back_in_stock_alert', async () => {
    const product = await makeProduct(shop(), [{ ...black9, stock: 3 }], { name: 'Gone Runner' });
    const erin = await makeUser(shop());
    const watcher = await makeUser(shop());
    const em = shop().orm.em.fork();
    const [{ id: wishlistId }] = await em.execute<Array<{ id: string }>>(
      `insert into wishlists (id, user_id, created_at, updated_at) values (gen_random_uuid(), ?, now(), now()) returning id`, [watcher.id]);
    await em.execute(`insert into wishlist_items (id, wishlist_id, product_id, size, color, added_at) values (gen_random_uuid(), ?, ?, '', '', now())`,
      [wishlistId, product.id]);
    const erinRec = recordSocket(track(await socketV4(shop().url, erin.token)));
    const watcherRec = recordSocket(track(await socketV4(shop().url, watcher.token)));
    const anon = track(await socketV4(shop().url));
    const anonRec = recordSocket(anon);
    expect((await emitAck(anon, 'join_room', { room: `product_${product.id}` })).ok).toBe(true);
    await sleep(100);

    const order = await placeOrder(erin, product.id, 3);
    expect(await stock(product.id)).toBe(0);
    const cancelled = (await gqlOk(shop().url, CANCEL, { id: order.id }, erin.token)).cancelOrder;
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.statusHistory.map((h: any) => h.status)).toEqual(['pending', 'cancelled']);
    expect(await stock(product.id)).toBe(3);

    await waitFor(() => anonRec.of('inventory_update').filter((e) => e.productId === product.id).length === 2, 5000, 'inventory updates');
    expect(anonRec.of('inventory_update').filter((e) => e.productId === product.id).map((e) => e.stockChange)).toEqual([-3, 3]);
    await waitFor(() => anonRec.of('product_stock_update').length === 2, 5000, 'product_stock_update');
    expect(anonRec.of('product_stock_update').map((e) => [e.stock, e.inStock])).toEqual([[0, false], [3, true]]);
    await waitFor(() => watcherRec.of('back_in_stock_alert').length === 1, 5000, 'back_in_stock_alert');
    expect(watcherRec.of('back_in_stock_alert')[0]).toMatchObject({ productId: product.id, productName: 'Gone Runner', variant: black9, stock: 3 });
    await waitFor(() => erinRec.of('order_status_update').length === 1, 5000, 'owner told');
    expect(erinRec.of('order_status_update')[0]).toMatchObject({ orderId: order.id, status: 'cancelled' });

    expect(codeOf(await gql(shop().url, CANCEL, { id: order.id }, erin.token))).toBe('BAD_USER_INPUT');
    expect(await stock(product.id)).toBe(3);
  });

  it('refuses the owner once the order is confirmed, hides other people’s orders, sends admins to updateOrderStatus', async () => {
    const product = await makeProduct(shop(), [{ ...black9, stock: 10 }]);
    const fay = await makeUser(shop());
    const gus = await makeUser(shop());
    const order = await placeOrder(fay, product.id, 2);
    expect(codeOf(await gql(shop().url, CANCEL, { id: order.id }, gus.token))).toBe('NOT_FOUND');
    expect(codeOf(await gql(shop().url, CANCEL, { id: order.id }, admin.token))).toBe('FORBIDDEN');
    expect(codeOf(await gql(shop().url, CANCEL, { id: order.id }))).toBe('UNAUTHENTICATED');
    expect((await move(order.id, 'confirmed')).errors).toBeUndefined();
    const late = await gql(shop().url, CANCEL, { id: order.id }, fay.token);
    expect(codeOf(late)).toBe('BAD_USER_INPUT');
    expect(late.errors![0].message).toContain('confirmed');
    expect(await stock(product.id)).toBe(8);
    const byAdmin = await move(order.id, 'cancelled', { note: 'Customer called' });
    expect(byAdmin.data!.updateOrderStatus.status).toBe('cancelled');
    expect(await stock(product.id)).toBe(10);
  });
});

describe('order queries', () => {
  it('pages own orders newest first; order(id) is own-or-admin, NOT_FOUND for others; allOrders is admin-only', async () => {
    const product = await makeProduct(shop(), [{ ...black9, stock: 30 }]);
    const hal = await makeUser(shop(), undefined, 'Hal');
    const ivy = await makeUser(shop());
    const placed = [];
    for (let i = 1; i <= 3; i++) placed.push(await placeOrder(hal, product.id, i));
    await placeOrder(ivy, product.id, 1);

    const page1 = (await gqlOk(shop().url, `{ orders(first: 2) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id itemCount customer { id } } } } }`, {}, hal.token)).orders;
    expect(page1.totalCount).toBe(3);
    expect(page1.edges.map((e: any) => e.node.id)).toEqual([placed[2].id, placed[1].id]);
    expect(page1.edges.every((e: any) => e.node.customer === null)).toBe(true);
    expect(page1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const page2 = (await gqlOk(shop().url, `query($after: String) { orders(first: 2, after: $after) { pageInfo { hasNextPage } edges { node { id } } } }`,
      { after: page1.pageInfo.endCursor }, hal.token)).orders;
    expect(page2.edges.map((e: any) => e.node.id)).toEqual([placed[0].id]);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    expect(codeOf(await gql(shop().url, `{ orders(first: 2, after: "garbage") { totalCount } }`, {}, hal.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(shop().url, `{ orders(first: 0) { totalCount } }`, {}, hal.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(shop().url, `{ orders(first: 2) { totalCount } }`))).toBe('UNAUTHENTICATED');

    expect(codeOf(await gql(shop().url, ORDER_Q, { id: placed[0].id }, ivy.token))).toBe('NOT_FOUND');
    expect(codeOf(await gql(shop().url, ORDER_Q, { id: '00000000-0000-4000-8000-000000000000' }, ivy.token))).toBe('NOT_FOUND');
    expect(codeOf(await gql(shop().url, ORDER_Q, { id: 'nope' }, ivy.token))).toBe('NOT_FOUND');
    const asAdmin = (await gqlOk(shop().url, ORDER_Q, { id: placed[0].id }, admin.token)).order;
    expect(asAdmin.customer).toEqual({ id: hal.id, name: 'Hal', email: hal.email });

    await move(placed[1].id, 'confirmed');
    const confirmed = (await gqlOk(shop().url, `{ allOrders(status: confirmed, first: 50) { totalCount edges { node { id status customer { id } } } } }`, {}, admin.token)).allOrders;
    expect(confirmed.edges.map((e: any) => e.node.id)).toContain(placed[1].id);
    expect(confirmed.edges.every((e: any) => e.node.status === 'confirmed' && e.node.customer)).toBe(true);
    const all = (await gqlOk(shop().url, `{ allOrders(first: 3) { totalCount edges { node { id } } } }`, {}, admin.token)).allOrders;
    expect(all.totalCount).toBeGreaterThanOrEqual(4);
    expect(all.edges).toHaveLength(3);
    expect(codeOf(await gql(shop().url, `{ allOrders(first: 3) { totalCount } }`, {}, hal.token))).toBe('FORBIDDEN');
  });
});
