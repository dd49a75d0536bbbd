import type { Socket } from 'socket.io-client';
import { codeOf, collect, emitAck, gql, gqlOk, recordSocket, waitFor } from '../support/clients';
import { makeAdmin, makeProduct, makeUser, type TestUser } from '../support/fixtures';
import { useShop } from '../support/use-shop';

const { shop, socket, ws: wsOf } = useShop({ redis: false });
let customer: TestUser;
let admin: TestUser;
let product: Awaited<ReturnType<typeof makeProduct>>;
/** A Socket.IO client of the shop with its event recorder, and a graphql-ws client: closed at the end. */
const connect = async (token?: string) => {
  const s = await socket(shop(), token);
  return { s, rec: recordSocket(s) };
};
const ws = (token?: string) => wsOf(shop(), token);
const wsCode = (errors: unknown[]) => JSON.stringify(errors).match(/"code":"([A-Z_]+)"/)?.[1];
const count = async (sql: string, params: unknown[]) => Number((await shop().orm.em.fork().execute<Array<{ n: number }>>(sql, params))[0].n);
const viewsOf = (productId: string) => count('select count(*)::int as n from product_views where product_id = ?', [productId]);

const VIEW_SUB = `subscription { productViewTracked { productId productName category duration userId timestamp } }`;
const ACTIVITY_SUB = `subscription { userActivityTracked { userId user { id name role } activity timestamp } }`;

beforeAll(async () => {
  [customer, admin] = await Promise.all([makeUser(shop(), undefined, 'Vera Viewer'), makeAdmin(shop())]);
  product = await makeProduct(shop(), undefined, { name: 'Trail Blazer', category: 'trail' });
});

describe('product views', () => {
  it('stores a product_view and tells admins only, with the same payload on both transports', async () => {
    const adm = await connect(admin.token);
    await emitAck(adm.s, 'join_room', { room: 'admin' });
    const cust = await connect(customer.token);
    const refused = collect(ws(customer.token), VIEW_SUB);
    await waitFor(() => refused.errors.length > 0, 5000, 'customer subscription refused');
    expect(wsCode(refused.errors)).toBe('FORBIDDEN');
    const adminSub = collect(ws(admin.token), VIEW_SUB);
    // Live once a view reaches it.
    await waitFor(async () => {
      await gqlOk(shop().url, `mutation($id: ID!) { trackProductView(productId: $id) { productId } }`, { id: product.id });
      return adminSub.events.length > 0;
    }, 5000, 'admin subscription live');
    const before = await viewsOf(product.id);
    const seen = adminSub.events.length;

    const ack = await emitAck(cust.s, 'product_view', { productId: product.id, category: 'running', duration: 30000 });
    const expected = { productId: product.id, productName: 'Trail Blazer', category: 'running', duration: 30000, userId: customer.id, timestamp: expect.any(String) };
    expect(ack).toEqual({ ok: true, data: expected });
    await waitFor(() => adm.rec.of('product_view_tracked').some((e) => e.userId === customer.id), 5000, 'product_view_tracked');
    const onSocket = adm.rec.of('product_view_tracked').find((e) => e.userId === customer.id);
    expect(onSocket).toEqual({ ...expected, timestamp: ack.data.timestamp });
    await waitFor(() => adminSub.events.length === seen + 1, 5000, 'GraphQL product_view_tracked');
    expect(adminSub.events[seen].productViewTracked).toEqual(onSocket);
    expect(await viewsOf(product.id)).toBe(before + 1);

    // The customer is told nothing (a round trip later, nothing has arrived).
    await emitAck(cust.s, 'join_room', { room: `user_${customer.id}` });
    expect(cust.rec.of('product_view_tracked')).toEqual([]);
  });

  it('accepts anonymous views and defaults the category to the product’s', async () => {
    const adm = await connect(admin.token);
    await emitAck(adm.s, 'join_room', { room: 'admin' });
    const anon = await connect();
    const ack = await emitAck(anon.s, 'product_view', { productId: product.id });
    expect(ack).toMatchObject({ ok: true, data: { userId: null, category: 'trail', duration: null } });
    await waitFor(() => adm.rec.of('product_view_tracked').some((e) => e.timestamp === ack.data.timestamp && e.userId === null));
    const viaHttp = await gqlOk(shop().url, `mutation($id: ID!) { trackProductView(productId: $id, category: "sale", duration: 1500) { productId category duration userId } }`, { id: product.id });
    expect(viaHttp.trackProductView).toEqual({ productId: product.id, category: 'sale', duration: 1500, userId: null });
    const stored = await shop().orm.em.fork().execute<Array<{ user_id: string | null; category: string; duration_ms: number }>>(
      'select user_id, category, duration_ms from product_views where product_id = ? and category = ?', [product.id, 'sale']);
    expect(stored).toEqual([{ user_id: null, category: 'sale', duration_ms: 1500 }]);
  });

  it('refuses bad views with a coded error and stores nothing', async () => {
    const cust = await connect(customer.token);
    const before = await viewsOf(product.id);
    for (const bad of [
      { productId: product.id, duration: -1 },
      { productId: product.id, duration: 86_400_001 },
      { productId: product.id, duration: 1.5 },
      { productId: product.id, duration: 'long' },
      { productId: 'nope' },
      {},
    ]) {
      expect(await emitAck(cust.s, 'product_view', bad)).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
    }
    expect(await emitAck(cust.s, 'product_view', { productId: '00000000-0000-4000-8000-000000000000' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(codeOf(await gql(shop().url, `mutation($id: ID!) { trackProductView(productId: $id, duration: -5) { productId } }`, { id: product.id }))).toBe('BAD_USER_INPUT');
    expect(await viewsOf(product.id)).toBe(before);
    expect(cust.s.connected).toBe(true);
  });

  it('refuses a non-uuid productId with the same code and reason on both transports', async () => {
    const cust = await connect(customer.token);
    const onSocket = await emitAck(cust.s, 'product_view', { productId: 'not-a-uuid' });
    const viaHttp = await gql(shop().url, `mutation($id: ID!) { trackProductView(productId: $id) { productId } }`, { id: 'not-a-uuid' });
    expect(codeOf(viaHttp)).toBe('BAD_USER_INPUT');
    expect(onSocket).toMatchObject({ ok: false, error: { code: codeOf(viaHttp), message: expect.stringContaining('productId: must be a valid id') } });
    expect(JSON.stringify(viaHttp)).toContain('productId: must be a valid id');
  });
});

describe('user activity', () => {
  it('turns a user_activity heartbeat into user_activity_tracked for admins, on both transports', async () => {
    const adm = await connect(admin.token);
    await emitAck(adm.s, 'join_room', { room: 'admin' });
    const adminSub = collect(ws(admin.token), ACTIVITY_SUB);
    const refused = collect(ws(customer.token), ACTIVITY_SUB);
    await waitFor(() => refused.errors.length > 0);
    expect(wsCode(refused.errors)).toBe('FORBIDDEN');
    const prober = await makeUser(shop());
    await waitFor(async () => {
      await gqlOk(shop().url, `mutation { recordActivity { userId } }`, {}, prober.token);
      return adminSub.events.length > 0;
    }, 5000, 'admin subscription live');

    const cust = await connect(customer.token);
    // The documented form: no payload (an acknowledgement only), then one naming the activity.
    const ack = await emitAck(cust.s, 'user_activity');
    expect(ack).toEqual({ ok: true, data: { userId: customer.id, user: { id: customer.id, name: 'Vera Viewer', role: 'CUSTOMER' }, activity: 'heartbeat', timestamp: expect.any(String) } });
    await waitFor(() => adm.rec.of('user_activity_tracked').some((e) => e.userId === customer.id), 5000, 'user_activity_tracked');
    const onSocket = adm.rec.of('user_activity_tracked').find((e) => e.userId === customer.id);
    expect(onSocket).toEqual(ack.data);
    await waitFor(() => adminSub.events.some((e) => e.userActivityTracked.userId === customer.id));
    expect(adminSub.events.find((e) => e.userActivityTracked.userId === customer.id).userActivityTracked).toEqual(onSocket);

    expect(await emitAck(cust.s, 'user_activity', { activity: 'browsing' })).toMatchObject({ ok: true, data: { activity: 'browsing' } });
    expect(await emitAck(cust.s, 'user_activity', { activity: 'x'.repeat(65) })).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
    const anon = await connect();
    expect(await emitAck(anon.s, 'user_activity')).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    expect(codeOf(await gql(shop().url, `mutation { recordActivity { userId } }`))).toBe('UNAUTHENTICATED');
    await emitAck(cust.s, 'join_room', { room: `user_${customer.id}` });
    expect(cust.rec.of('user_activity_tracked')).toEqual([]);
  });

  it('stores at most one heartbeat row per user per 10 s, but reports every one', async () => {
    const user = await makeUser(shop());
    const adm = await connect(admin.token);
    await emitAck(adm.s, 'join_room', { room: 'admin' });
    const s = await connect(user.token);
    for (let i = 0; i < 3; i++) expect((await emitAck(s.s, 'user_activity')).ok).toBe(true);
    await gqlOk(shop().url, `mutation { recordActivity { activity } }`, {}, user.token);
    await waitFor(() => adm.rec.of('user_activity_tracked').filter((e) => e.userId === user.id).length === 4, 5000, 'four reports');
    const rows = await count(`select count(*)::int as n from user_activities where user_id = ? and kind = 'heartbeat'`, [user.id]);
    expect(rows).toBe(1);
  });
});
