import { codeOf, collect, emitAck, gql, gqlOk, recordSocket, sleep, socketV4, waitFor, wsClient } from '../support/clients';
import { makeProduct, makeUser, type TestUser } from '../support/fixtures';
import { useShop } from '../support/use-shop';

const { shop, track } = useShop();

const CART = 'id userId items { productId productName variant { size color } sku quantity unitPrice lineTotal available } itemCount subtotal updatedAt';
const Q_CART = `{ cart { ${CART} } }`;
const ADD = `mutation($p: ID!, $v: VariantInput!, $q: Int) { addToCart(productId: $p, variant: $v, quantity: $q) { ${CART} } }`;
const UPDATE = `mutation($p: ID!, $v: VariantInput!, $q: Int!) { updateCartItem(productId: $p, variant: $v, quantity: $q) { ${CART} } }`;
const REMOVE = `mutation($p: ID!, $v: VariantInput!) { removeFromCart(productId: $p, variant: $v) { ${CART} } }`;
const CLEAR = `mutation { clearCart { ${CART} } }`;
const BATCH = `mutation($items: [CartBatchItemInput!]!) { updateCart(items: $items) { ${CART} } }`;
const SUB_UPDATED = `subscription { cartUpdated { eventId action cart { ${CART} } timestamp } }`;
const SUB_SYNC = `subscription { cartSync { eventId cart { ${CART} } timestamp } }`;

const black9 = { size: '9', color: 'black' };
const white10 = { size: '10', color: 'white' };

/** A signed-in socket that joined its cart room; resolves with the `cart_sync` it was answered with. */
async function cartSocket(user: TestUser) {
  const s = track(await socketV4(shop().url, user.token));
  const rec = recordSocket(s);
  const ack = await emitAck(s, 'join_cart');
  expect(ack.ok).toBe(true);
  await waitFor(() => rec.of('cart_sync').length === 1, 3000, 'cart_sync on join_cart');
  return { s, rec, sync: rec.of('cart_sync')[0] };
}

/** Another user's own change: once they see its event, every earlier cart event has been routed. */
async function fence(other: { user: TestUser; rec: ReturnType<typeof recordSocket> }, productId: string) {
  const before = other.rec.of('cart_updated').length;
  await gqlOk(shop().url, ADD, { p: productId, v: black9, q: 1 }, other.user.token);
  await waitFor(() => other.rec.of('cart_updated').length === before + 1, 3000, 'fence event');
}

const dbCart = async (userId: string) =>
  shop().orm.em.fork().execute<Array<{ size: string; color: string; quantity: number }>>(
    `select v.size, v.color, i.quantity from cart_items i join carts c on c.id = i.cart_id join product_variants v on v.id = i.variant_id
      where c.user_id = ? order by v.size, v.color`, [userId]);

describe('cart over GraphQL', () => {
  it('adds, updates, removes and clears; cart_updated reaches both of the owner’s sockets and her cartUpdated subscriber, never another user', async () => {
    const product = await makeProduct(shop(), [{ ...black9, stock: 5 }, { ...white10, stock: 3 }], { price: 80 });
    const alice = await makeUser(shop(), undefined, 'Alice');
    const bob = await makeUser(shop(), undefined, 'Bob');
    const a1 = await cartSocket(alice);
    const a2 = await cartSocket(alice);
    const b1 = await cartSocket(bob);
    const aliceWs = track(wsClient(shop().wsUrl, alice.token));
    const bobWs = track(wsClient(shop().wsUrl, bob.token));
    const aliceSub = collect(aliceWs, SUB_UPDATED);
    const bobSub = collect(bobWs, SUB_UPDATED);
    await sleep(200);

    const added = await gqlOk(shop().url, ADD, { p: product.id, v: black9, q: 2 }, alice.token);
    expect(added.addToCart).toMatchObject({
      userId: alice.id, itemCount: 2, subtotal: 160,
      items: [{ productId: product.id, productName: product.name, variant: black9, quantity: 2, unitPrice: 80, lineTotal: 160, available: 5 }],
    });
    const more = await gqlOk(shop().url, ADD, { p: product.id, v: white10 }, alice.token);
    expect(more.addToCart.items.map((i: any) => [i.variant.size, i.quantity])).toEqual([['9', 2], ['10', 1]]);
    const updated = await gqlOk(shop().url, UPDATE, { p: product.id, v: black9, q: 4 }, alice.token);
    expect(updated.updateCartItem).toMatchObject({ itemCount: 5, subtotal: 400 });
    const zeroed = await gqlOk(shop().url, UPDATE, { p: product.id, v: white10, q: 0 }, alice.token);
    expect(zeroed.updateCartItem.items).toHaveLength(1);
    await gqlOk(shop().url, ADD, { p: product.id, v: white10, q: 1 }, alice.token);
    const removed = await gqlOk(shop().url, REMOVE, { p: product.id, v: white10 }, alice.token);
    expect(removed.removeFromCart.items.map((i: any) => i.variant)).toEqual([black9]);
    const cleared = await gqlOk(shop().url, CLEAR, {}, alice.token);
    expect(cleared.clearCart).toMatchObject({ items: [], itemCount: 0, subtotal: 0 });
    expect((await gqlOk(shop().url, Q_CART, {}, alice.token)).cart).toEqual(cleared.clearCart);

    const actions = ['item_added', 'item_added', 'updated', 'item_removed', 'item_added', 'item_removed', 'updated'];
    await waitFor(() => [a1.rec, a2.rec].every((r) => r.of('cart_updated').length === actions.length) && aliceSub.events.length === actions.length,
      5000, 'cart_updated on every device of the owner');
    for (const r of [a1.rec, a2.rec]) {
      expect(r.of('cart_updated').map((e) => e.action)).toEqual(actions);
      expect(r.of('cart_updated')).toEqual(aliceSub.events.map((e) => e.cartUpdated));
    }
    expect(a1.rec.of('cart_updated').at(-1).cart).toEqual(cleared.clearCart);
    expect(a1.rec.of('cart_updated')[2].cart).toEqual(updated.updateCartItem);

    await fence({ user: bob, rec: b1.rec }, product.id);
    expect(b1.rec.of('cart_updated')).toHaveLength(1);
    expect(b1.rec.of('cart_updated')[0].cart.userId).toBe(bob.id);
    await waitFor(() => bobSub.events.length === 1, 3000, 'bob subscriber');
    expect(bobSub.events.every((e) => e.cartUpdated.cart.userId === bob.id)).toBe(true);
    expect(aliceSub.events).toHaveLength(actions.length);
    expect(aliceSub.errors).toEqual([]);
  });

  it('checks quantities against stock and names what is wrong; nothing changes on a refusal', async () => {
    const product = await makeProduct(shop(), [{ ...black9, stock: 3 }]);
    const carol = await makeUser(shop());
    await gqlOk(shop().url, ADD, { p: product.id, v: black9, q: 2 }, carol.token);

    const over = await gql(shop().url, ADD, { p: product.id, v: black9, q: 2 }, carol.token);
    expect(codeOf(over)).toBe('INSUFFICIENT_STOCK');
    expect(over.errors![0].message).toContain(product.name);
    expect(over.errors![0].message).toContain('available 3');
    expect(codeOf(await gql(shop().url, UPDATE, { p: product.id, v: black9, q: 4 }, carol.token))).toBe('INSUFFICIENT_STOCK');

    const noVariant = await gql(shop().url, ADD, { p: product.id, v: { size: '13', color: 'pink' }, q: 1 }, carol.token);
    expect(codeOf(noVariant)).toBe('NOT_FOUND');
    expect(noVariant.errors![0].message).toContain('13/pink');
    expect(codeOf(await gql(shop().url, ADD, { p: '00000000-0000-4000-8000-000000000000', v: black9 }, carol.token))).toBe('NOT_FOUND');
    expect(codeOf(await gql(shop().url, ADD, { p: 'not-an-id', v: black9 }, carol.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(shop().url, ADD, { p: product.id, v: black9, q: 0 }, carol.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(shop().url, ADD, { p: product.id, v: black9, q: -1 }, carol.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(shop().url, UPDATE, { p: product.id, v: black9, q: -1 }, carol.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(shop().url, ADD, { p: product.id, v: black9, q: 1 }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await gql(shop().url, Q_CART))).toBe('UNAUTHENTICATED');

    expect(await dbCart(carol.id)).toEqual([{ size: '9', color: 'black', quantity: 2 }]);
  });

  it('reading the cart does not write it', async () => {
    const dave = await makeUser(shop());
    const first = await gqlOk(shop().url, Q_CART, {}, dave.token);
    await sleep(20);
    const second = await gqlOk(shop().url, Q_CART, {}, dave.token);
    expect(second.cart).toEqual(first.cart);
    expect(first.cart).toMatchObject({ userId: dave.id, items: [], itemCount: 0, subtotal: 0 });
  });
});

describe('cart over Socket.IO', () => {
  it('join_cart answers cart_sync with the whole cart', async () => {
    const product = await makeProduct(shop(), [{ ...black9, stock: 9 }], { price: 25.5 });
    const erin = await makeUser(shop());
    await gqlOk(shop().url, ADD, { p: product.id, v: black9, q: 3 }, erin.token);
    const { sync } = await cartSocket(erin);
    const { cart } = await gqlOk(shop().url, Q_CART, {}, erin.token);
    expect(sync.cart).toEqual(cart);
    expect(sync.cart).toMatchObject({ itemCount: 3, subtotal: 76.5, items: [{ productId: product.id, quantity: 3 }] });
    expect(Date.parse(sync.timestamp)).not.toBeNaN();

    const anon = track(await socketV4(shop().url));
    const refused = await emitAck(anon, 'join_cart');
    expect(refused).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
  });

  it('cart_add_item and cart_remove_item ack the cart; cart_updated reaches the sender, the other device and the subscriber, not another user', async () => {
    const product = await makeProduct(shop(), [{ ...black9, stock: 4 }, { ...white10, stock: 4 }], { price: 60 });
    const frank = await makeUser(shop());
    const gina = await makeUser(shop());
    const f1 = await cartSocket(frank);
    const f2 = await cartSocket(frank);
    const g1 = await cartSocket(gina);
    const frankWs = track(wsClient(shop().wsUrl, frank.token));
    const sub = collect(frankWs, SUB_UPDATED);
    await sleep(200);

    const add = await emitAck(f1.s, 'cart_add_item', { productId: product.id, variant: black9 });
    expect(add.ok).toBe(true);
    expect(add.data).toMatchObject({ userId: frank.id, itemCount: 1, items: [{ variant: black9, quantity: 1 }] });
    const add2 = await emitAck(f1.s, 'cart_add_item', { productId: product.id, variant: white10, quantity: 2 });
    expect(add2.data.itemCount).toBe(3);
    const rm = await emitAck(f1.s, 'cart_remove_item', { productId: product.id, variant: black9 });
    expect(rm).toMatchObject({ ok: true, data: { itemCount: 2, items: [{ variant: white10, quantity: 2 }] } });

    const actions = ['item_added', 'item_added', 'item_removed'];
    await waitFor(() => [f1.rec, f2.rec].every((r) => r.of('cart_updated').length === 3) && sub.events.length === 3, 5000, 'cart_updated x3');
    for (const r of [f1.rec, f2.rec]) {
      expect(r.of('cart_updated').map((e) => e.action)).toEqual(actions);
      expect(r.of('cart_updated')).toEqual(sub.events.map((e) => e.cartUpdated));
    }
    expect(f2.rec.of('cart_updated')[2].cart).toEqual(rm.data);
    expect((await gqlOk(shop().url, Q_CART, {}, frank.token)).cart).toEqual(rm.data);

    await fence({ user: gina, rec: g1.rec }, product.id);
    expect(g1.rec.of('cart_updated')).toHaveLength(1);
    expect(f1.rec.of('cart_updated')).toHaveLength(3);
  });

  it('refuses bad cart commands in the ack (or an error event) and changes nothing', async () => {
    const product = await makeProduct(shop(), [{ ...black9, stock: 2 }]);
    const hank = await makeUser(shop());
    const { s, rec } = await cartSocket(hank);
    expect((await emitAck(s, 'cart_add_item', { productId: product.id, variant: black9, quantity: 3 })).error.code).toBe('INSUFFICIENT_STOCK');
    expect((await emitAck(s, 'cart_add_item', { productId: product.id, variant: { size: '1', color: 'x' } })).error.code).toBe('NOT_FOUND');
    expect((await emitAck(s, 'cart_add_item', { productId: product.id })).error.code).toBe('BAD_USER_INPUT');
    expect((await emitAck(s, 'cart_add_item', { productId: product.id, variant: black9, quantity: 1.5 })).error.code).toBe('BAD_USER_INPUT');
    expect((await emitAck(s, 'cart_remove_item', 'nonsense')).error.code).toBe('BAD_USER_INPUT');
    s.emit('cart_add_item', { productId: 42 });
    await waitFor(() => rec.of('error').length === 1, 3000, 'error event');
    expect(rec.of('error')[0]).toMatchObject({ event: 'cart_add_item', code: 'BAD_USER_INPUT' });

    const anon = track(await socketV4(shop().url));
    expect((await emitAck(anon, 'cart_add_item', { productId: product.id, variant: black9 })).error.code).toBe('UNAUTHENTICATED');
    expect(await dbCart(hank.id)).toEqual([]);
    expect(rec.of('cart_updated')).toEqual([]);
    expect(s.connected).toBe(true);
  });
});

describe('cart_batch_update and updateCart', () => {
  const item = (action: string, productId: string, variant: { size: string; color: string }, quantity?: number) =>
    (quantity === undefined ? { action, productId, variant } : { action, productId, variant, quantity });

  it('applies a batch atomically and sends cart_sync with the whole cart to the owner’s other device', async () => {
    const p1 = await makeProduct(shop(), [{ ...black9, stock: 10 }, { ...white10, stock: 10 }], { price: 10 });
    const p2 = await makeProduct(shop(), [{ ...black9, stock: 2 }], { price: 20 });
    const ivy = await makeUser(shop());
    const i1 = await cartSocket(ivy);
    const i2 = await cartSocket(ivy);
    const ivyWs = track(wsClient(shop().wsUrl, ivy.token));
    const syncSub = collect(ivyWs, SUB_SYNC);
    await sleep(200);

    const ok = await emitAck(i1.s, 'cart_batch_update', [
      item('add', p1.id, black9, 3),
      item('add', p1.id, white10, 1),
      item('set', p1.id, black9, 5),
      item('add', p2.id, black9, 2),
      item('remove', p1.id, white10),
    ]);
    expect(ok.ok).toBe(true);
    expect(ok.data.items.map((i: any) => [i.productId, i.variant.size, i.quantity])).toEqual([[p1.id, '9', 5], [p2.id, '9', 2]]);
    expect(ok.data).toMatchObject({ itemCount: 7, subtotal: 90 });
    await waitFor(() => i2.rec.of('cart_sync').length === 2 && syncSub.events.length === 1, 5000, 'cart_sync to the other device');
    expect(i2.rec.of('cart_sync')[1].cart).toEqual(ok.data);
    expect(i2.rec.of('cart_sync')[1]).toEqual(syncSub.events[0].cartSync);
    expect(i1.rec.of('cart_sync')[1].cart).toEqual(ok.data);

    // One bad item (beyond p2's stock) refuses the whole batch: the first items are not applied either.
    const bad = await emitAck(i1.s, 'cart_batch_update', [item('add', p1.id, white10, 4), item('add', p2.id, black9, 1)]);
    expect(bad.ok).toBe(false);
    expect(bad.error.code).toBe('INSUFFICIENT_STOCK');
    expect(bad.error.message).toContain(p2.name);
    const unknown = await emitAck(i1.s, 'cart_batch_update', [item('set', p1.id, black9, 1), item('add', p1.id, { size: '99', color: 'none' }, 1)]);
    expect(unknown.error.code).toBe('NOT_FOUND');
    expect(unknown.error.message).toMatch(/^items\.1: /);
    expect((await emitAck(i1.s, 'cart_batch_update', [item('set', p1.id, black9, 1), item('explode', p1.id, black9, 1)])).error.code).toBe('BAD_USER_INPUT');
    expect((await emitAck(i1.s, 'cart_batch_update', [item('add', p1.id, black9)])).error.code).toBe('BAD_USER_INPUT');
    const tooMany = await emitAck(i1.s, 'cart_batch_update', Array.from({ length: 101 }, () => item('set', p1.id, black9, 1)));
    expect(tooMany.error.code).toBe('BAD_USER_INPUT');
    expect(tooMany.error.message).toContain('100');
    expect((await gqlOk(shop().url, Q_CART, {}, ivy.token)).cart).toEqual(ok.data);

    const hundred = await emitAck(i1.s, 'cart_batch_update', Array.from({ length: 100 }, (_, n) => item('set', p1.id, black9, (n % 9) + 1)));
    expect(hundred.ok).toBe(true);
    expect(hundred.data.items.find((i: any) => i.productId === p1.id).quantity).toBe(1);

    // The GraphQL mutation shares the method: same atomicity, same cart_sync.
    const refused = await gql(shop().url, BATCH, { items: [item('set', p1.id, black9, 2), item('add', p2.id, black9, 5)] }, ivy.token);
    expect(codeOf(refused)).toBe('INSUFFICIENT_STOCK');
    const viaGql = await gqlOk(shop().url, BATCH, { items: [item('set', p1.id, black9, 2), item('remove', p2.id, black9)] }, ivy.token);
    expect(viaGql.updateCart.items.map((i: any) => [i.productId, i.quantity])).toEqual([[p1.id, 2]]);
    await waitFor(() => i2.rec.of('cart_sync').length === 4, 3000, 'cart_sync after updateCart');
    expect(i2.rec.of('cart_sync')[3].cart).toEqual(viaGql.updateCart);
    expect(i2.rec.of('cart_sync').map((e) => e.cart.itemCount)).toEqual([0, 7, 3, 2]);
    expect(i1.rec.of('cart_updated')).toEqual([]);
  });

  it('ignores the quantity of a remove, whatever number it is (a fuzz counterexample was an INTERNAL_SERVER_ERROR)', async () => {
    const p = await makeProduct(shop(), [{ ...black9, stock: 10 }, { ...white10, stock: 10 }], { price: 10 });
    const jay = await makeUser(shop());
    const j = await cartSocket(jay);
    expect((await emitAck(j.s, 'cart_batch_update', [item('add', p.id, black9, 2), item('add', p.id, white10, 1)])).ok).toBe(true);
    const removed = await emitAck(j.s, 'cart_batch_update', [item('remove', p.id, white10, 6.72e-62), item('remove', p.id, black9, -3), item('add', p.id, black9, 2)]);
    expect(removed.ok).toBe(true);
    expect(removed.data.items.map((i: any) => [i.variant.color, i.quantity])).toEqual([['black', 2]]);
    expect((await gqlOk(shop().url, Q_CART, {}, jay.token)).cart).toEqual(removed.data);
  });
});
