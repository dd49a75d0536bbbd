/**
 * The cross-transport contract suite: for EVERY catalogue event, a graphql-ws subscriber
 * with a full selection and a Socket.IO client in the right room receive deep-equal payloads, and
 * clients outside the audience receive nothing on either transport.
 */
import { getNamedType, type GraphQLObjectType } from 'graphql';
import { isDeepStrictEqual } from 'node:util';
import type { Socket } from 'socket.io-client';
import { fullSubscriptionDocument } from '../../../src/bridge/bridge';
import { catalogue, eventList, type EventDefinition, type EventName } from '../../../src/events/catalogue';
import { buildShopSchema } from '../../../src/schema/build-schema';
import { collect, emitAck, gqlOk, recordSocket, sleep, socketV4, waitFor, wsClient } from '../../support/clients';
import { makeAdmin, makeProduct, makeUser, type TestUser } from '../../support/fixtures';
import { useShop } from '../../support/use-shop';

const { shop, track } = useShop({ config: { connectionStatsIntervalMs: 400, flashSaleTickMs: 100 } });
let admin: TestUser;

beforeAll(async () => {
  admin = await makeAdmin(shop());
});

const as = (user: TestUser | null) => (query: string, variables?: Record<string, unknown>) => gqlOk(shop().url, query, variables, user?.token);
const V = { size: '9', color: 'black' };
const SHIP = { name: 'Ann Buyer', line1: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };
const soon = (ms: number) => new Date(Date.now() + ms).toISOString();

/** Who is inside and outside an event's audience, and how to raise the event once. */
interface Scenario {
  /** The receiver: GraphQL viewer and Socket.IO user (null = anonymous). */
  insider: TestUser | null;
  /** Someone outside the audience (null = an anonymous client). */
  outsider: TestUser | null;
  /** GraphQL subscription variables of the insider (and of the outsider unless outsiderVars). */
  vars?: Record<string, unknown>;
  outsiderVars?: Record<string, unknown>;
  /** What the insider's socket joins: a join_room room, 'cart' for join_cart, or nothing. */
  room?: string | 'cart';
  /** The outsider's GraphQL subscription is refused with this code instead of staying silent. */
  outsiderRefused?: 'FORBIDDEN' | 'UNAUTHENTICATED';
  fire(): Promise<unknown>;
  /** Periodic events: compare what both transports got in the same window, not one delivery. */
  periodic?: boolean;
}

const customer = () => makeUser(shop());

async function orderFor(user: TestUser) {
  const p = await makeProduct(shop(), [{ ...V, stock: 20 }]);
  await as(user)('mutation($p: ID!, $v: VariantInput!) { addToCart(productId: $p, variant: $v, quantity: 1) { id } }', { p: p.id, v: V });
  const r = await as(user)('mutation($i: CheckoutInput!) { checkout(input: $i) { id } }', { i: { shippingAddress: SHIP } });
  return { productId: p.id, orderId: r.checkout.id as string };
}

async function chatOf(user: TestUser) {
  const r = await as(user)('mutation { openSupportChat(issue: "Where is my order?", priority: "normal") { id } }');
  return r.openSupportChat.id as string;
}

const ADJUST = 'mutation($p: ID!, $v: VariantInput!, $d: Int!) { adjustStock(productId: $p, variant: $v, delta: $d) { id } }';
const SALE = 'mutation($i: CreateFlashSaleInput!) { createFlashSale(input: $i) { id } }';

const scenarios: Record<EventName, () => Promise<Scenario>> = {
  async cart_updated() {
    const [me, other] = [await customer(), await customer()];
    const p = await makeProduct(shop(), [{ ...V, stock: 10 }]);
    return { insider: me, outsider: other, room: 'cart',
      fire: () => as(me)('mutation($p: ID!, $v: VariantInput!) { addToCart(productId: $p, variant: $v, quantity: 2) { id } }', { p: p.id, v: V }) };
  },
  async cart_sync() {
    const [me, other] = [await customer(), await customer()];
    const p = await makeProduct(shop(), [{ ...V, stock: 10 }]);
    return { insider: me, outsider: other, room: 'cart',
      fire: () => as(me)('mutation($items: [CartBatchItemInput!]!) { updateCart(items: $items) { id } }',
        { items: [{ action: 'add', productId: p.id, variant: V, quantity: 1 }] }) };
  },
  async inventory_update() {
    const p = await makeProduct(shop(), [{ ...V, stock: 10 }]);
    const elsewhere = await makeProduct(shop());
    return { insider: null, outsider: null, vars: { productIds: [p.id] }, outsiderVars: { productIds: [elsewhere.id] },
      fire: () => as(admin)(ADJUST, { p: p.id, v: V, d: 3 }) };
  },
  async product_stock_update() {
    const p = await makeProduct(shop(), [{ ...V, stock: 10 }]);
    const elsewhere = await makeProduct(shop());
    return { insider: null, outsider: null, vars: { productId: p.id }, outsiderVars: { productId: elsewhere.id }, room: `product_${p.id}`,
      fire: () => as(admin)(ADJUST, { p: p.id, v: V, d: -1 }) };
  },
  async low_stock_alert() {
    const p = await makeProduct(shop(), [{ ...V, stock: 6 }], { lowStockThreshold: 5 });
    return { insider: admin, outsider: await customer(), room: 'admin', outsiderRefused: 'FORBIDDEN',
      fire: () => as(admin)(ADJUST, { p: p.id, v: V, d: -1 }) };
  },
  async order_status_update() {
    const [me, other] = [await customer(), await customer()];
    const { orderId } = await orderFor(me);
    return { insider: me, outsider: other,
      fire: () => as(admin)(`mutation($o: ID!) { updateOrderStatus(orderId: $o, status: confirmed, note: "paid") { id } }`, { o: orderId }) };
  },
  async new_order() {
    const buyer = await customer();
    const p = await makeProduct(shop(), [{ ...V, stock: 10 }]);
    await as(buyer)('mutation($p: ID!, $v: VariantInput!) { addToCart(productId: $p, variant: $v, quantity: 1) { id } }', { p: p.id, v: V });
    return { insider: admin, outsider: buyer, room: 'admin', outsiderRefused: 'FORBIDDEN',
      fire: () => as(buyer)('mutation($i: CheckoutInput!) { checkout(input: $i) { id } }', { i: { shippingAddress: SHIP } }) };
  },
  async flash_sale_start() {
    const p = await makeProduct(shop());
    return { insider: null, outsider: null,
      fire: () => as(admin)(SALE, { i: { name: 'Start', discountPercentage: 20, startTime: soon(200), endTime: soon(3_600_000), productIds: [p.id] } }) };
  },
  async flash_sale_update() {
    const p = await makeProduct(shop());
    const sale = await as(admin)(SALE, { i: { name: 'Later', discountPercentage: 10, startTime: soon(3_600_000), endTime: soon(7_200_000), productIds: [p.id] } });
    return { insider: null, outsider: null,
      fire: () => as(admin)('mutation($id: ID!) { updateFlashSale(id: $id, input: { name: "Later, bigger", discountPercentage: 30 }) { id } }', { id: sale.createFlashSale.id }) };
  },
  async flash_sale_end() {
    const p = await makeProduct(shop());
    const sale = await as(admin)(SALE, { i: { name: 'Short', discountPercentage: 15, startTime: soon(0), endTime: soon(3_600_000), productIds: [p.id] } });
    await sleep(300);
    return { insider: null, outsider: null,
      fire: () => as(admin)('mutation($id: ID!) { endFlashSale(id: $id) { id } }', { id: sale.createFlashSale.id }) };
  },
  async new_review_notification() {
    const author = await customer();
    const p = await makeProduct(shop());
    return { insider: admin, outsider: author, room: 'admin', outsiderRefused: 'FORBIDDEN',
      fire: () => as(author)('mutation($i: CreateReviewInput!) { createReview(input: $i) { id } }', { i: { productId: p.id, rating: 4, title: 'Good', body: 'Comfy and light.' } }) };
  },
  async product_review_added() {
    const author = await customer();
    const p = await makeProduct(shop());
    const elsewhere = await makeProduct(shop());
    const r = await as(author)('mutation($i: CreateReviewInput!) { createReview(input: $i) { id } }', { i: { productId: p.id, rating: 5, title: 'Great', body: 'Best pair I own.' } });
    return { insider: null, outsider: null, vars: { productId: p.id }, outsiderVars: { productId: elsewhere.id }, room: `product_${p.id}`,
      fire: () => as(admin)('mutation($id: ID!) { moderateReview(reviewId: $id, approve: true) { id } }', { id: r.createReview.id }) };
  },
  async wishlist_updated() {
    const [me, other] = [await customer(), await customer()];
    const p = await makeProduct(shop());
    return { insider: me, outsider: other,
      fire: () => as(me)('mutation($p: ID!) { addToWishlist(productId: $p) { id } }', { p: p.id }) };
  },
  async price_drop_alert() {
    const [me, other] = [await customer(), await customer()];
    const p = await makeProduct(shop(), [{ ...V, stock: 5 }], { price: 120 });
    await as(me)('mutation($p: ID!) { addToWishlist(productId: $p) { id } }', { p: p.id });
    return { insider: me, outsider: other,
      fire: () => as(admin)('mutation($id: ID!) { updateProduct(id: $id, input: { price: 99.5 }) { id } }', { id: p.id }) };
  },
  async back_in_stock_alert() {
    const [me, other] = [await customer(), await customer()];
    const p = await makeProduct(shop(), [{ ...V, stock: 0 }]);
    await as(me)('mutation($p: ID!) { addToWishlist(productId: $p) { id } }', { p: p.id });
    return { insider: me, outsider: other, fire: () => as(admin)(ADJUST, { p: p.id, v: V, d: 4 }) };
  },
  async user_offline() {
    const leaver = await customer();
    const s = await socketV4(shop().url, leaver.token);
    await sleep(100);
    return { insider: admin, outsider: await customer(), room: 'admin', outsiderRefused: 'FORBIDDEN', fire: async () => s.close() };
  },
  async support_message_received() {
    const [me, other] = [await customer(), await customer()];
    const chatId = await chatOf(me);
    return { insider: me, outsider: other, vars: { chatId }, room: `support_${chatId}`, outsiderRefused: 'FORBIDDEN',
      fire: () => as(admin)('mutation($c: ID!) { sendSupportMessage(chatId: $c, message: "Hello, how can I help you?") { id } }', { c: chatId }) };
  },
  async new_support_request() {
    const asker = await customer();
    return { insider: admin, outsider: asker, room: 'admin', outsiderRefused: 'FORBIDDEN', fire: () => chatOf(asker) };
  },
  async user_typing() {
    const [me, other] = [await customer(), await customer()];
    const chatId = await chatOf(me);
    return { insider: me, outsider: other, vars: { chatId }, room: `support_${chatId}`, outsiderRefused: 'FORBIDDEN',
      fire: () => as(admin)('mutation($r: String!) { setTyping(room: $r, isTyping: true) }', { r: `support_${chatId}` }) };
  },
  async connection_stats() {
    return { insider: admin, outsider: await customer(), room: 'admin', outsiderRefused: 'FORBIDDEN', periodic: true, fire: () => sleep(900) };
  },
  async dashboard_metric_update() {
    const asker = await customer();
    return { insider: admin, outsider: asker, room: 'admin', outsiderRefused: 'FORBIDDEN', fire: () => chatOf(asker) };
  },
  async admin_notification() {
    const p = await makeProduct(shop(), [{ ...V, stock: 1 }]);
    return { insider: admin, outsider: await customer(), room: 'admin', outsiderRefused: 'FORBIDDEN',
      fire: () => as(admin)(ADJUST, { p: p.id, v: V, d: -1 }) };
  },
  async product_view_tracked() {
    const viewer = await customer();
    const p = await makeProduct(shop());
    return { insider: admin, outsider: viewer, room: 'admin', outsiderRefused: 'FORBIDDEN',
      fire: () => as(viewer)('mutation($p: ID!) { trackProductView(productId: $p, category: "running", duration: 30000) { productId } }', { p: p.id }) };
  },
  async user_activity_tracked() {
    const active = await customer();
    return { insider: admin, outsider: active, room: 'admin', outsiderRefused: 'FORBIDDEN',
      fire: () => as(active)('mutation { recordActivity { userId } }') };
  },
};

async function socketFor(user: TestUser | null, room?: string): Promise<Socket> {
  const s = await socketV4(shop().url, user?.token);
  track(s);
  if (room === 'cart') expect((await emitAck(s, 'join_cart')).ok).toBe(true);
  else if (room) expect(await emitAck(s, 'join_room', { room })).toMatchObject({ ok: true });
  return s;
}

const countOf = (list: unknown[], item: unknown) => list.filter((x) => isDeepStrictEqual(x, item)).length;
const sameMultiset = (a: unknown[], b: unknown[]) => a.length === b.length && a.every((x) => countOf(a, x) === countOf(b, x));

describe('every catalogue event on both transports', () => {
  it('has a scenario for each of the 24 events of the events document', () => {
    expect(eventList).toHaveLength(24);
    expect(Object.keys(scenarios).sort()).toEqual(Object.keys(catalogue).sort());
  });

  it.each(eventList.map((d) => [d.name, d] as [string, EventDefinition]))('%s', async (_name, def) => {
    const schema = await buildShopSchema();
    const document = fullSubscriptionDocument(schema, def);
    const sc = await scenarios[def.name as EventName]();

    const inWs = wsClient(shop().wsUrl, sc.insider?.token);
    const outWs = wsClient(shop().wsUrl, sc.outsider?.token);
    track(inWs);
    track(outWs);
    const gqlIn = collect(inWs, document, sc.vars ?? {});
    const gqlOut = collect(outWs, document, sc.outsiderVars ?? sc.vars ?? {});
    const inSocket = await socketFor(sc.insider, sc.room);
    const outSocket = await socketFor(sc.outsider);
    const strayAdmin = def.audience.kind === 'admin' ? await socketFor(admin) : null; // an admin who did not join `admin`
    const recIn = recordSocket(inSocket);
    const recOut = recordSocket(outSocket);
    const recStray = strayAdmin ? recordSocket(strayAdmin) : null;
    await sleep(250);
    // Only what the firing causes counts: setup may raise events of its own (e.g. a refused
    // outsider's connection closing is a user going offline).
    for (const list of [gqlIn.events, recIn.got, recOut.got, gqlOut.events, recStray?.got ?? []]) list.length = 0;

    await sc.fire();
    await waitFor(() => gqlIn.events.length > 0 && recIn.of(def.name).length > 0, 8000, `${def.name} on both transports`);
    await sleep(sc.periodic ? 0 : 400);

    const viaGraphql = gqlIn.events.map((e) => e[def.field]);
    const viaSocket = recIn.of(def.name);
    expect(gqlIn.errors).toEqual([]);
    if (sc.periodic) {
      // Both transports carry each published value: the first GraphQL one arrived on the socket too.
      await waitFor(() => viaSocket.some((s) => isDeepStrictEqual(s, viaGraphql[0])), 3000, 'same periodic payload');
    } else {
      expect({ viaGraphql, same: sameMultiset(viaGraphql, viaSocket) }).toEqual({ viaGraphql: viaSocket, same: true });
    }
    // The full selection is exactly the payload type's fields, all present.
    const payloadType = getNamedType(schema.getSubscriptionType()!.getFields()[def.field].type) as GraphQLObjectType;
    expect(Object.keys(viaGraphql[0] as object).sort()).toEqual(Object.keys(payloadType.getFields()).sort());

    // Everyone-events reach every socket by definition; all others must not leak.
    if (def.audience.kind !== 'everyone') expect(recOut.of(def.name)).toEqual([]);
    if (recStray) expect(recStray.of(def.name)).toEqual([]);
    if (sc.outsiderRefused) {
      await waitFor(() => gqlOut.errors.length > 0, 3000, 'outsider refusal');
      expect(JSON.stringify(gqlOut.errors)).toContain(sc.outsiderRefused);
    } else if (def.audience.kind !== 'everyone' || sc.outsiderVars) {
      expect(gqlOut.events).toEqual([]);
    }
  });
});
