import type { Socket } from 'socket.io-client';
import { codeOf, collect, emitAck, gql, gqlOk, recordSocket, sleep, socketV4, waitFor, wsClient } from '../support/clients';
import { makeAdmin, makeProduct, makeUser, type TestUser } from '../support/fixtures';
import { useShop } from '../support/use-shop';

const { shop, track } = useShop();
let admin: TestUser;

beforeAll(async () => {
  admin = await makeAdmin(shop());
});

const WISHLIST_FIELDS = 'id userId itemCount updatedAt items { productId productName variant { size color } price inStock addedAt }';
const WISHLIST_UPDATED = `subscription { wishlistUpdated { eventId action timestamp wishlist { ${WISHLIST_FIELDS} } } }`;
const ADD = `mutation($id: ID!, $variant: VariantInput) { addToWishlist(productId: $id, variant: $variant) { ${WISHLIST_FIELDS} } }`;
const REMOVE = `mutation($id: ID!, $variant: VariantInput) { removeFromWishlist(productId: $id, variant: $variant) { ${WISHLIST_FIELDS} } }`;

/** A user listening on both transports: a Socket.IO client (in its user room) and a graphql-ws subscription. */
async function listener(user: TestUser, subscription: string) {
  const socket = await socketV4(shop().url, user.token);
  track(socket);
  const ws = wsClient(shop().wsUrl, user.token);
  track(ws);
  const sub = collect(ws, subscription);
  await sleep(300);
  return { socket: recordSocket(socket), sub, raw: socket };
}

describe('wishlists', () => {
  it('adds and removes through the mutations, with wishlist_updated to the owner only on both transports', async () => {
    const alice = await makeUser(shop());
    const bob = await makeUser(shop());
    const p1 = await makeProduct(shop(), [{ size: '9', color: 'black', stock: 3 }, { size: '10', color: 'white', stock: 0 }], { price: 80 });
    const p2 = await makeProduct(shop());
    const a = await listener(alice, WISHLIST_UPDATED);
    const b = await listener(bob, WISHLIST_UPDATED);

    const first = await gqlOk(shop().url, ADD, { id: p1.id }, alice.token);
    expect(first.addToWishlist).toMatchObject({ userId: alice.id, itemCount: 1, items: [{ productId: p1.id, variant: null, price: 80, inStock: true }] });
    const second = await gqlOk(shop().url, ADD, { id: p2.id, variant: { size: '9', color: 'black' } }, alice.token);
    expect(second.addToWishlist.itemCount).toBe(2);
    expect(second.addToWishlist.items[1]).toMatchObject({ productId: p2.id, variant: { size: '9', color: 'black' } });
    // The same add again changes nothing: no duplicate, no event.
    const again = await gqlOk(shop().url, ADD, { id: p2.id, variant: { size: '9', color: 'black' } }, alice.token);
    expect(again.addToWishlist.itemCount).toBe(2);
    const removed = await gqlOk(shop().url, REMOVE, { id: p1.id }, alice.token);
    expect(removed.removeFromWishlist.items.map((i: { productId: string }) => i.productId)).toEqual([p2.id]);

    await waitFor(() => a.sub.events.length >= 3 && a.socket.of('wishlist_updated').length >= 3, 5000, 'wishlist events');
    await sleep(300);
    const viaWs = a.sub.events.map((e) => e.wishlistUpdated);
    // The add that created the wishlist is announced once, as wishlist_created (the item already in it).
    expect(viaWs.map((e) => e.action)).toEqual(['wishlist_created', 'item_added', 'item_removed']);
    expect(viaWs[0].wishlist.items).toHaveLength(1);
    expect(viaWs[2].wishlist).toEqual(removed.removeFromWishlist);
    expect(a.socket.of('wishlist_updated')).toEqual(viaWs);
    expect(b.sub.events).toHaveLength(0);
    expect(b.socket.of('wishlist_updated')).toHaveLength(0);

    const q = await gqlOk(shop().url, `{ wishlist { ${WISHLIST_FIELDS} } }`, {}, alice.token);
    expect(q.wishlist).toEqual(removed.removeFromWishlist);
  });

  it('runs the wishlist_updated socket command through the same service, naming the wishlist or not', async () => {
    const carol = await makeUser(shop());
    const dave = await makeUser(shop());
    const product = await makeProduct(shop(), [{ size: '8', color: 'red', stock: 0 }]);
    const c = await listener(carol, WISHLIST_UPDATED);
    // The query creates the wishlist on first use.
    const created = (await gqlOk(shop().url, `{ wishlist { id itemCount } }`, {}, carol.token)).wishlist;
    expect(created.itemCount).toBe(0);

    const add = await emitAck(c.raw, 'wishlist_updated', { action: 'item_added', productId: product.id, variant: { size: '8', color: 'red' }, wishlistId: created.id });
    expect(add).toMatchObject({ ok: true, data: { id: created.id, itemCount: 1, items: [{ productId: product.id, variant: { size: '8', color: 'red' }, inStock: false }] } });
    const remove = await emitAck(c.raw, 'wishlist_updated', { action: 'item_removed', productId: product.id });
    expect(remove).toMatchObject({ ok: true, data: { id: created.id, itemCount: 0 } });

    await waitFor(() => c.socket.of('wishlist_updated').length >= 3 && c.sub.events.length >= 3, 5000, 'command events');
    expect(c.socket.of('wishlist_updated').map((e) => e.action)).toEqual(['wishlist_created', 'item_added', 'item_removed']);
    expect(c.sub.events.map((e) => e.wishlistUpdated)).toEqual(c.socket.of('wishlist_updated'));

    const daveSocket = await socketV4(shop().url, dave.token);
    track(daveSocket);
    const daveList = (await gqlOk(shop().url, `{ wishlist { id } }`, {}, dave.token)).wishlist;
    // Someone else's wishlist id is refused and changes nothing.
    expect(await emitAck(daveSocket, 'wishlist_updated', { action: 'item_added', productId: product.id, wishlistId: created.id }))
      .toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await emitAck(daveSocket, 'wishlist_updated', { action: 'item_added', productId: product.id, wishlistId: 'nope' }))
      .toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await emitAck(daveSocket, 'wishlist_updated', { action: 'item_added', productId: '00000000-0000-4000-8000-000000000000' }))
      .toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await emitAck(daveSocket, 'wishlist_updated', { action: 'item_added', productId: product.id, variant: { size: '99', color: 'red' } }))
      .toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await emitAck(daveSocket, 'wishlist_updated', { action: 'wishlist_created', productId: product.id }))
      .toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
    expect((await gqlOk(shop().url, `{ wishlist { id itemCount } }`, {}, dave.token)).wishlist).toEqual({ id: daveList.id, itemCount: 0 });

    const anon = await socketV4(shop().url);
    track(anon);
    expect(await emitAck(anon, 'wishlist_updated', { action: 'item_added', productId: product.id }))
      .toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    await sleep(200);
    expect(c.socket.of('wishlist_updated')).toHaveLength(3);
  });

  it('refuses unknown products with NOT_FOUND and anonymous callers with UNAUTHENTICATED', async () => {
    const erin = await makeUser(shop());
    expect(codeOf(await gql(shop().url, ADD, { id: '00000000-0000-4000-8000-000000000000' }, erin.token))).toBe('NOT_FOUND');
    expect(codeOf(await gql(shop().url, REMOVE, { id: '00000000-0000-4000-8000-000000000000' }, erin.token))).toBe('NOT_FOUND');
    const product = await makeProduct(shop());
    expect(codeOf(await gql(shop().url, ADD, { id: product.id }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await gql(shop().url, `{ wishlist { id } }`))).toBe('UNAUTHENTICATED');
  });

  it('sends back_in_stock_alert to wishlisters when an admin restocks a sold-out variant, and to no one else', async () => {
    const fay = await makeUser(shop());
    const gus = await makeUser(shop());
    const hal = await makeUser(shop());
    const product = await makeProduct(shop(), [{ size: '9', color: 'black', stock: 0 }, { size: '10', color: 'black', stock: 0 }]);
    await gqlOk(shop().url, ADD, { id: product.id }, fay.token);
    // Gus wants another size only: restocking size 9 is not his news.
    await gqlOk(shop().url, ADD, { id: product.id, variant: { size: '10', color: 'black' } }, gus.token);
    const sub = 'subscription { backInStockAlert { eventId productId productName variant { size color } stock timestamp } }';
    const f = await listener(fay, sub);
    const g = await listener(gus, sub);
    const h = await listener(hal, sub);

    await gqlOk(shop().url, `mutation($id: ID!) { adjustStock(productId: $id, variant: { size: "9", color: "black" }, delta: 4) { id } }`, { id: product.id }, admin.token);
    await waitFor(() => f.socket.of('back_in_stock_alert').length === 1 && f.sub.events.length === 1, 5000, 'back_in_stock_alert');
    // A further restock of a variant already in stock is not "back in stock".
    await gqlOk(shop().url, `mutation($id: ID!) { adjustStock(productId: $id, variant: { size: "9", color: "black" }, delta: 2) { id } }`, { id: product.id }, admin.token);
    await sleep(400);
    expect(f.socket.of('back_in_stock_alert')).toEqual([
      expect.objectContaining({ productId: product.id, productName: product.name, variant: { size: '9', color: 'black' }, stock: 4 }),
    ]);
    expect(f.sub.events.map((e) => e.backInStockAlert)).toEqual(f.socket.of('back_in_stock_alert'));
    for (const other of [g, h]) {
      expect(other.socket.of('back_in_stock_alert')).toHaveLength(0);
      expect(other.sub.events).toHaveLength(0);
    }
    const list = await gqlOk(shop().url, `{ wishlist { items { inStock } } }`, {}, fay.token);
    expect(list.wishlist.items).toEqual([{ inStock: true }]);
  });

  it('sends price_drop_alert to wishlisters when an admin lowers the price, and not when it rises', async () => {
    const ida = await makeUser(shop());
    const jon = await makeUser(shop());
    const product = await makeProduct(shop(), [{ size: '9', color: 'black', stock: 5 }], { price: 150 });
    await gqlOk(shop().url, ADD, { id: product.id }, ida.token);
    const sub = 'subscription { priceDropAlert { eventId productId productName oldPrice newPrice discountPercentage timestamp } }';
    const i = await listener(ida, sub);
    const j = await listener(jon, sub);
    const UPDATE = `mutation($id: ID!, $price: Float!) { updateProduct(id: $id, input: { price: $price }) { price } }`;
    await gqlOk(shop().url, UPDATE, { id: product.id, price: 120 }, admin.token);
    await waitFor(() => i.socket.of('price_drop_alert').length === 1 && i.sub.events.length === 1, 5000, 'price_drop_alert');
    await gqlOk(shop().url, UPDATE, { id: product.id, price: 130 }, admin.token);
    await sleep(400);
    expect(i.socket.of('price_drop_alert')).toEqual([
      expect.objectContaining({ productId: product.id, productName: product.name, oldPrice: 150, newPrice: 120, discountPercentage: 20 }),
    ]);
    expect(i.sub.events.map((e) => e.priceDropAlert)).toEqual(i.socket.of('price_drop_alert'));
    expect(j.socket.of('price_drop_alert')).toHaveLength(0);
    expect(j.sub.events).toHaveLength(0);
  });
});
