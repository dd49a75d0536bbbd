import { randomUUID } from 'node:crypto';
import { codeOf, emitAck, gql, gqlOk, recordSocket, sleep, socketV4, waitFor } from '../support/clients';
import { makeAdmin, makeProduct, makeUser, type TestUser } from '../support/fixtures';
import { useShop, type TestShop } from '../support/use-shop';

/** Two instances of one shop: same PostgreSQL, same Redis namespace. */
const { a, b, track } = useShop({ instances: 2 });
let admin: TestUser;

beforeAll(async () => {
  admin = await makeAdmin(a());
});

const ORDER = `id orderNumber status totalAmount itemCount createdAt updatedAt estimatedDelivery
  items { productId productName variant { size color } sku unitPrice quantity lineTotal }
  shippingAddress { name line1 line2 city postalCode country }
  statusHistory { status note timestamp } tracking { carrier trackingNumber } customer { id name email }`;
const CHECKOUT = `mutation($input: CheckoutInput!) { checkout(input: $input) { ${ORDER} } }`;
const ADD = `mutation($p: ID!, $v: VariantInput!, $q: Int) { addToCart(productId: $p, variant: $v, quantity: $q) { itemCount } }`;
const CART = `{ cart { itemCount items { productId variant { size color } quantity unitPrice } } }`;
const PRODUCT = `query($id: ID!) { product(id: $id) { variants { size color stock } } }`;
const ADJUST = `mutation($p: ID!, $v: VariantInput!, $d: Int!) { adjustStock(productId: $p, variant: $v, delta: $d) { id } }`;

const address = { name: 'Alice Runner', line1: '1 Track Road', city: 'Leeds', postalCode: 'LS1 1AA', country: 'GB' };
const black9 = { size: '9', color: 'black' };
const white10 = { size: '10', color: 'white' };

const stockOf = async (shop: TestShop, productId: string) => {
  const { product } = await gqlOk(shop.url, PRODUCT, { id: productId });
  return Object.fromEntries(product.variants.map((v: any) => [`${v.size}/${v.color}`, v.stock]));
};

/** An active flash sale straight in the database (the flash-sale service is not under test here). */
async function activeSale(shop: TestShop, productId: string, discountPercentage: number) {
  const em = shop.orm.em.fork();
  const [{ id }] = await em.execute<Array<{ id: string }>>(
    `insert into flash_sales (id, name, description, discount_percentage, start_time, end_time, state, started_at, created_at)
     values (gen_random_uuid(), 'Test sale', '', ?, now() - interval '1 hour', now() + interval '1 day', 'active', now(), now()) returning id`,
    [discountPercentage],
  );
  await em.execute('insert into flash_sale_products (flash_sale_id, product_id) values (?, ?)', [id, productId]);
}

/** Customers inserted in one statement (no password hashing), each with a real token. */
async function manyCustomers(shop: TestShop, n: number): Promise<TestUser[]> {
  const tag = randomUUID().slice(0, 8);
  const rows = await shop.orm.em.fork().execute<Array<{ id: string; email: string }>>(
    `insert into users (id, email, name, password_hash, role, created_at)
     select gen_random_uuid(), 'buyer-' || ? || '-' || g || '@example.test', 'Buyer ' || g, 'x', 'CUSTOMER', now()
       from generate_series(1, ?) g returning id, email`,
    [tag, n],
  );
  return rows.map((r) => ({ id: r.id, email: r.email, token: shop.app.services.users.issue({ id: r.id, role: 'CUSTOMER' as never }) }));
}

async function adminSocket(shop: TestShop) {
  const s = track(await socketV4(shop.url, admin.token));
  expect((await emitAck(s, 'join_room', { room: 'admin' })).ok).toBe(true);
  return recordSocket(s);
}

describe('checkout', () => {
  it('turns the cart into a pending order: prices with the flash-sale discount, stock taken, cart emptied, events raised', async () => {
    const onSale = await makeProduct(a(), [{ ...black9, stock: 5 }], { price: 100, lowStockThreshold: 3 });
    const regular = await makeProduct(a(), [{ ...black9, stock: 10 }], { price: 49.99 });
    await activeSale(a(), onSale.id, 20);
    const alice = await makeUser(a(), undefined, 'Alice');
    const adminRec = await adminSocket(b());
    const aliceSocket = track(await socketV4(b().url, alice.token));
    const aliceRec = recordSocket(aliceSocket);
    expect((await emitAck(aliceSocket, 'join_cart')).ok).toBe(true);
    const anon = recordSocket(track(await socketV4(a().url)));
    await sleep(100);

    await gqlOk(a().url, ADD, { p: onSale.id, v: black9, q: 2 }, alice.token);
    await gqlOk(a().url, ADD, { p: regular.id, v: black9, q: 1 }, alice.token);
    const { checkout: order } = await gqlOk(a().url, CHECKOUT, { input: { shippingAddress: address } }, alice.token);

    expect(order.orderNumber).toMatch(new RegExp(`^ORD-${new Date().getUTCFullYear()}-\\d{6}$`));
    expect(order).toMatchObject({
      status: 'pending', totalAmount: 209.99, itemCount: 3, customer: null, tracking: null, estimatedDelivery: null,
      shippingAddress: { ...address, line2: null },
      items: [
        { productId: onSale.id, productName: onSale.name, variant: black9, unitPrice: 80, quantity: 2, lineTotal: 160 },
        { productId: regular.id, productName: regular.name, variant: black9, unitPrice: 49.99, quantity: 1, lineTotal: 49.99 },
      ],
    });
    expect(order.statusHistory).toEqual([{ status: 'pending', note: 'Order placed', timestamp: order.createdAt }]);
    expect(await stockOf(b(), onSale.id)).toEqual({ '9/black': 3 });
    expect(await stockOf(b(), regular.id)).toEqual({ '9/black': 9 });
    expect((await gqlOk(b().url, CART, {}, alice.token)).cart).toEqual({ itemCount: 0, items: [] });

    await waitFor(() => adminRec.of('new_order').length === 1, 5000, 'new_order to admins');
    expect(adminRec.of('new_order')[0]).toEqual({
      orderId: order.id, orderNumber: order.orderNumber, customer: { id: alice.id, name: 'Alice', email: alice.email },
      totalAmount: 209.99, itemCount: 3, status: 'pending', timestamp: expect.any(String), eventId: expect.any(String),
    });
    await waitFor(() => aliceRec.of('cart_updated').length === 3, 5000, 'cart_updated for the emptied cart');
    expect(aliceRec.of('cart_updated').map((e) => e.action)).toEqual(['item_added', 'item_added', 'updated']);
    expect(aliceRec.of('cart_updated')[2]).toMatchObject({ action: 'updated', cart: { userId: alice.id, items: [], itemCount: 0 } });
    await waitFor(() => anon.of('inventory_update').length === 2, 5000, 'inventory_update per variant');
    expect(anon.of('inventory_update').map((e) => [e.productId, e.stockChange]).sort()).toEqual([[onSale.id, -2], [regular.id, -1]].sort());
    await waitFor(() => adminRec.of('low_stock_alert').length === 1, 5000, 'low stock warning');
    expect(adminRec.of('low_stock_alert')[0]).toMatchObject({ productId: onSale.id, currentStock: 3, severity: 'warning' });

    const seen = await gqlOk(b().url, `query($id: ID!) { order(id: $id) { ${ORDER} } }`, { id: order.id }, alice.token);
    expect(seen.order).toEqual(order);
  });

  it('fails with INSUFFICIENT_STOCK naming only the short variants, and changes nothing', async () => {
    const shoe = await makeProduct(a(), [{ ...black9, stock: 5 }, { ...white10, stock: 2 }], { name: 'Short Shoe' });
    const boot = await makeProduct(a(), [{ ...black9, stock: 1 }], { name: 'Last Boot' });
    const bob = await makeUser(a());
    await gqlOk(a().url, ADD, { p: shoe.id, v: black9, q: 2 }, bob.token);
    await gqlOk(a().url, ADD, { p: shoe.id, v: white10, q: 2 }, bob.token);
    await gqlOk(a().url, ADD, { p: boot.id, v: black9, q: 1 }, bob.token);
    await gqlOk(a().url, ADJUST, { p: shoe.id, v: white10, d: -1 }, admin.token);
    await gqlOk(a().url, ADJUST, { p: boot.id, v: black9, d: -1 }, admin.token);
    const cartBefore = (await gqlOk(a().url, CART, {}, bob.token)).cart;

    const r = await gql(b().url, CHECKOUT, { input: { shippingAddress: address } }, bob.token);
    expect(codeOf(r)).toBe('INSUFFICIENT_STOCK');
    const short = (r.errors![0].extensions!.variants as any[]).map((v) => [v.productName, v.size, v.color, v.requested, v.available]);
    expect(short.sort()).toEqual([['Last Boot', '9', 'black', 1, 0], ['Short Shoe', '10', 'white', 2, 1]]);
    expect(r.errors![0].message).toContain('Short Shoe 10/white');
    expect(r.errors![0].message).toContain('Last Boot 9/black');
    expect(r.errors![0].message).not.toContain('Short Shoe 9/black');

    expect(await stockOf(a(), shoe.id)).toEqual({ '9/black': 5, '10/white': 1 });
    expect(await stockOf(a(), boot.id)).toEqual({ '9/black': 0 });
    expect((await gqlOk(a().url, CART, {}, bob.token)).cart).toEqual(cartBefore);
    expect((await gqlOk(a().url, '{ orders { totalCount } }', {}, bob.token)).orders.totalCount).toBe(0);
  });

  it('refuses an empty cart and a bad address with BAD_USER_INPUT', async () => {
    const carol = await makeUser(a());
    const empty = await gql(a().url, CHECKOUT, { input: { shippingAddress: address } }, carol.token);
    expect(codeOf(empty)).toBe('BAD_USER_INPUT');
    expect(empty.errors![0].message).toMatch(/empty/i);
    const bad = await gql(a().url, CHECKOUT, { input: { shippingAddress: { ...address, city: ' ', country: '' } } }, carol.token);
    expect(codeOf(bad)).toBe('BAD_USER_INPUT');
    expect((bad.errors![0].extensions!.fields as any[]).map((f) => f.path).sort()).toEqual(['shippingAddress.city', 'shippingAddress.country']);
    expect(codeOf(await gql(a().url, CHECKOUT, { input: { shippingAddress: address } }))).toBe('UNAUTHENTICATED');
  });
});

describe('idempotent checkout', () => {
  it('returns the first order for a retry with the same key, without touching stock or cart again', async () => {
    const shoe = await makeProduct(a(), [{ ...black9, stock: 10 }]);
    const dave = await makeUser(a());
    await gqlOk(a().url, ADD, { p: shoe.id, v: black9, q: 2 }, dave.token);
    const key = `key-${randomUUID()}`;
    const first = (await gqlOk(a().url, CHECKOUT, { input: { shippingAddress: address, idempotencyKey: key } }, dave.token)).checkout;
    await gqlOk(a().url, ADD, { p: shoe.id, v: black9, q: 1 }, dave.token);
    const again = (await gqlOk(b().url, CHECKOUT, { input: { shippingAddress: address, idempotencyKey: key } }, dave.token)).checkout;
    expect(again).toEqual(first);
    expect(await stockOf(a(), shoe.id)).toEqual({ '9/black': 8 });
    expect((await gqlOk(a().url, CART, {}, dave.token)).cart.itemCount).toBe(1);

    // The key is the user's own: another user with the same key gets their own order.
    const erin = await makeUser(a());
    await gqlOk(a().url, ADD, { p: shoe.id, v: black9, q: 1 }, erin.token);
    const hers = (await gqlOk(a().url, CHECKOUT, { input: { shippingAddress: address, idempotencyKey: key } }, erin.token)).checkout;
    expect(hers.id).not.toBe(first.id);
  });

  it('concurrent retries with one key on two instances place one order', async () => {
    const shoe = await makeProduct(a(), [{ ...black9, stock: 10 }]);
    const frank = await makeUser(a());
    await gqlOk(a().url, ADD, { p: shoe.id, v: black9, q: 3 }, frank.token);
    const key = `key-${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      gql((i % 2 ? b() : a()).url, CHECKOUT, { input: { shippingAddress: address, idempotencyKey: key } }, frank.token)));
    const ids = new Set(results.filter((r) => r.data?.checkout).map((r) => r.data!.checkout.id));
    const otherCodes = results.filter((r) => !r.data?.checkout).map(codeOf);
    expect(ids.size).toBe(1);
    expect(otherCodes.every((c) => c === 'CONFLICT')).toBe(true);
    const [{ count }] = await a().orm.em.fork().execute<Array<{ count: string }>>(
      'select count(*) from orders where user_id = ?', [frank.id]);
    expect(Number(count)).toBe(1);
    expect(await stockOf(b(), shoe.id)).toEqual({ '9/black': 7 });
  });
});

describe('checkout under contention', () => {
  it('sells the last 10 units exactly once to 120 concurrent buyers spread over two instances', async () => {
    const shoe = await makeProduct(a(), [{ ...black9, stock: 10 }], { name: 'Last Ten', lowStockThreshold: 2 });
    const adminRec = await adminSocket(a());
    const buyers = await manyCustomers(a(), 120);
    await Promise.all(buyers.map((u, i) => gqlOk((i % 2 ? b() : a()).url, ADD, { p: shoe.id, v: black9, q: 1 }, u.token)));

    const started = Date.now();
    const results = await Promise.all(buyers.map((u, i) =>
      gql((i % 2 ? a() : b()).url, CHECKOUT, { input: { shippingAddress: address } }, u.token)));
    const wallMs = Date.now() - started;

    const placed = results.filter((r) => r.data?.checkout);
    const codes = results.filter((r) => !r.data?.checkout).map(codeOf);
    const finalStock = (await stockOf(b(), shoe.id))['9/black'];
    const [{ count }] = await a().orm.em.fork().execute<Array<{ count: string }>>(
      `select count(*) from order_items i join product_variants v on v.id = i.variant_id where v.product_id = ?`, [shoe.id]);
    // The figures the issue asks to record.
    console.info(`checkout contention: attempts=${results.length} orders=${placed.length} finalStock=${finalStock} ` +
      `insufficient=${codes.filter((c) => c === 'INSUFFICIENT_STOCK').length} wallMs=${wallMs}`);

    expect(placed).toHaveLength(10);
    expect(codes).toHaveLength(110);
    expect(new Set(codes)).toEqual(new Set(['INSUFFICIENT_STOCK']));
    expect(finalStock).toBe(0);
    expect(Number(count)).toBe(10);
    expect(new Set(placed.map((r) => r.data!.checkout.orderNumber)).size).toBe(10);

    // Crossing down to the threshold and to zero each alert once, however many instances sold. The
    // two come from different transactions, possibly on different instances, each published after
    // its own commit: they may arrive in either order (each names the stock it saw).
    await waitFor(() => adminRec.of('low_stock_alert').filter((e) => e.productId === shoe.id).length >= 2, 5000, 'low stock alerts');
    await sleep(200);
    const alerts = adminRec.of('low_stock_alert').filter((e) => e.productId === shoe.id);
    expect(alerts.map((e) => `${e.severity}:${e.currentStock}`).sort()).toEqual(['critical:0', 'warning:2']);
    expect(adminRec.of('new_order').filter((e) => placed.some((p) => p.data!.checkout.id === e.orderId))).toHaveLength(10);
  });
});
