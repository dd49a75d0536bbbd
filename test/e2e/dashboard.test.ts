import { randomUUID } from 'node:crypto';
import { codeOf, collect, emitAck, gql, gqlOk, recordSocket, socketV4, sleep, waitFor, wsClient } from '../support/clients';
import { makeAdmin, makeProduct, makeUser, type TestUser } from '../support/fixtures';
import { useShop } from '../support/use-shop';

const { shop, track } = useShop({ config: { connectionStatsIntervalMs: 200 } });
let customer: TestUser;
let admin: TestUser;

const DASHBOARD = `{ dashboard { ordersToday revenueToday activeConnections pendingReviews openSupportChats timestamp } }`;
const dashboard = async () => (await gqlOk(shop().url, DASHBOARD, {}, admin.token)).dashboard;

beforeAll(async () => {
  [customer, admin] = await Promise.all([makeUser(shop()), makeAdmin(shop())]);
});

let orderSeq = 0;
async function insertOrder(status: string, totalCents: number, createdAt = 'now()') {
  await shop().orm.em.fork().execute(
    `insert into orders (id, order_number, user_id, status, total_cents, item_count, shipping_address, created_at, updated_at)
     values (?, ?, ?, ?, ?, 1, '{}'::jsonb, ${createdAt}, now())`,
    [randomUUID(), `ORD-TEST-${Date.now()}-${orderSeq++}`, customer.id, status, totalCents],
  );
}

async function insertReview(productId: string, userId: string, status: string) {
  await shop().orm.em.fork().execute(
    `insert into reviews (id, product_id, user_id, rating, title, body, status, created_at) values (?, ?, ?, 4, 'Nice', 'Comfortable', ?, now())`,
    [randomUUID(), productId, userId, status],
  );
}

describe('admin dashboard', () => {
  it('answers the dashboard query from the database and the connections, for admins only', async () => {
    const base = await dashboard();
    expect(base).toEqual({
      ordersToday: expect.any(Number), revenueToday: expect.any(Number), activeConnections: expect.any(Number),
      pendingReviews: expect.any(Number), openSupportChats: expect.any(Number), timestamp: expect.any(String),
    });
    const product = await makeProduct(shop());
    const reviewers = await Promise.all([makeUser(shop()), makeUser(shop()), makeUser(shop())]);
    await insertOrder('pending', 10_000);
    await insertOrder('delivered', 5_050);
    await insertOrder('cancelled', 99_900);
    await insertOrder('refunded', 88_800);
    await insertOrder('pending', 77_700, `now() - interval '1 day'`);
    await insertReview(product.id, reviewers[0].id, 'pending');
    await insertReview(product.id, reviewers[1].id, 'pending');
    await insertReview(product.id, reviewers[2].id, 'approved');
    const s = await socketV4(shop().url, admin.token);
    track(s);

    const now = await dashboard();
    expect(now.ordersToday).toBe(base.ordersToday + 2);
    expect(now.revenueToday).toBeCloseTo(base.revenueToday + 150.5, 2);
    expect(now.pendingReviews).toBe(base.pendingReviews + 2);
    expect(now.openSupportChats).toBe(base.openSupportChats);
    const { connectionStats } = await gqlOk(shop().url, `{ connectionStats { totalConnections } }`, {}, admin.token);
    expect(now.activeConnections).toBe(connectionStats.totalConnections);
    expect(now.activeConnections).toBeGreaterThanOrEqual(1);

    expect(codeOf(await gql(shop().url, DASHBOARD, {}, customer.token))).toBe('FORBIDDEN');
    expect(codeOf(await gql(shop().url, DASHBOARD))).toBe('UNAUTHENTICATED');
    expect(codeOf(await gql(shop().url, `{ connectionStats { totalConnections } }`, {}, customer.token))).toBe('FORBIDDEN');
  });

  it('publishes dashboard_metric_update to admins when a support chat opens, and when asked for named metrics', async () => {
    const s = await socketV4(shop().url, admin.token);
    track(s);
    const rec = recordSocket(s);
    await emitAck(s, 'join_room', { room: 'admin' });
    const cust = await socketV4(shop().url, customer.token);
    track(cust);
    const custRec = recordSocket(cust);
    const c = wsClient(shop().wsUrl, customer.token);
    track(c);
    const refused = collect(c, `subscription { dashboardMetricUpdate { metric value timestamp } }`);
    await waitFor(() => refused.errors.length > 0);
    expect(JSON.stringify(refused.errors)).toContain('FORBIDDEN');

    const before = await dashboard();
    const open = await emitAck(cust, 'join_support_chat', { issue: 'Where is my parcel?' });
    expect(open.ok).toBe(true);
    const update = (metric: string) => rec.of('dashboard_metric_update').filter((u) => u.metric === metric);
    await waitFor(() => update('openSupportChats').length === 1, 5000, 'openSupportChats update');
    expect(update('openSupportChats')[0]).toEqual({ metric: 'openSupportChats', value: before.openSupportChats + 1, timestamp: expect.any(String) });
    expect((await dashboard()).openSupportChats).toBe(before.openSupportChats + 1);

    // What the order and review services call after their commits.
    // A burst of changes (say 20 checkouts) is coalesced: one update per metric, with the final value.
    await insertOrder('confirmed', 1_234);
    for (let i = 0; i < 20; i++) await shop().app.services.dashboard.publishMetrics(['ordersToday', 'revenueToday', 'pendingReviews']);
    await waitFor(() => update('revenueToday').length === 1 && update('pendingReviews').length === 1 && update('ordersToday').length === 1, 5000, 'metric updates');
    await sleep(500);
    expect([update('ordersToday').length, update('revenueToday').length, update('pendingReviews').length]).toEqual([1, 1, 1]);
    const now = await dashboard();
    expect(update('ordersToday')[0].value).toBe(now.ordersToday);
    expect(update('revenueToday')[0].value).toBeCloseTo(now.revenueToday, 2);
    expect(update('pendingReviews')[0].value).toBe(now.pendingReviews);

    // The connection count follows on the stats interval.
    await waitFor(() => update('activeConnections').length > 0, 5000, 'activeConnections update');
    const { connectionStats } = await gqlOk(shop().url, `{ connectionStats { totalConnections } }`, {}, admin.token);
    await waitFor(() => update('activeConnections').at(-1)!.value === connectionStats.totalConnections, 5000, 'current activeConnections');

    await emitAck(cust, 'join_room', { room: `user_${customer.id}` });
    expect(custRec.of('dashboard_metric_update')).toEqual([]);
  });
});
