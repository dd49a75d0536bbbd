import { randomUUID } from 'node:crypto';
import type { Client as WsClient } from 'graphql-ws';
import type { Socket } from 'socket.io-client';
import { collect, emitAck, gqlOk, recordSocket, socketV4, waitFor, wsClient } from '../support/clients';
import { makeAdmin, makeUser, type TestUser } from '../support/fixtures';
import { createTestDatabase, startTestShop, type TestShopOptions } from '../support/shop';

type Shop = Awaited<ReturnType<typeof startTestShop>>;
type Stats = { totalConnections: number; authenticatedUsers: number; adminConnections: number; timestamp: string };

const shops: Shop[] = [];
const sockets: Socket[] = [];
const clients: WsClient[] = [];

afterAll(async () => {
  sockets.forEach((s) => s.close());
  await Promise.all(clients.map((c) => c.dispose()));
  await Promise.all(shops.map((s) => s.close()));
});

/** Two instances on one database, one Redis and one namespace: one shop to their users. */
async function cluster(config: TestShopOptions['config']): Promise<[Shop, Shop]> {
  const databaseUrl = await createTestDatabase();
  const namespace = `presence-${randomUUID()}`;
  const a = await startTestShop({ databaseUrl, namespace, config });
  const b = await startTestShop({ databaseUrl, namespace, config });
  shops.push(a, b);
  return [a, b];
}

async function single(opts: TestShopOptions): Promise<Shop> {
  const s = await startTestShop(opts);
  shops.push(s);
  return s;
}

const socket = async (shop: Shop, token?: string) => {
  const s = await socketV4(shop.url, token);
  sockets.push(s);
  return s;
};
/** A graphql-ws connection (opened by its first subscription). */
const wsConnection = (shop: Shop, token?: string) => {
  const c = wsClient(shop.wsUrl, token);
  clients.push(c);
  collect(c, token ? 'subscription { cartUpdated { action } }' : 'subscription { inventoryUpdate { productId } }');
  return c;
};
const closeSocket = (s: Socket) => s.close();

const STATS = `{ connectionStats { totalConnections authenticatedUsers adminConnections timestamp } }`;
const stats = async (shop: Shop, admin: TestUser): Promise<Stats> => (await gqlOk(shop.url, STATS, {}, admin.token)).connectionStats;
/** Waits until the cluster-wide counts (seen from `shop`) satisfy `ok`: the servers have processed opens and closes. */
const statsUntil = (shop: Shop, admin: TestUser, ok: (s: Stats) => boolean, what: string) =>
  waitFor(async () => ok(await stats(shop, admin)), 5000, what);

/** An admin socket in the `admin` room, recording `user_offline` per user; `marker` is a user for `marker()`. */
async function adminWatcher(shop: Shop, admin: TestUser) {
  const [s, markerUser] = await Promise.all([socket(shop, admin.token), makeUser(shop, undefined, 'Marker')]);
  const rec = recordSocket(s);
  expect(await emitAck(s, 'join_room', { room: 'admin' })).toMatchObject({ ok: true });
  return { s, rec, markerUser, offline: (userId: string) => rec.of('user_offline').filter((e) => e.userId === userId) };
}

/**
 * A user connects to `shop` and leaves; its user_offline, once seen, comes after every user_offline
 * that `shop` published before (one publisher connection, one subscriber, one admin socket).
 */
async function marker(shop: Shop, watcher: Awaited<ReturnType<typeof adminWatcher>>) {
  const m = watcher.markerUser;
  const before = watcher.offline(m.id).length;
  const s = await socket(shop, m.token);
  closeSocket(s);
  await waitFor(() => watcher.offline(m.id).length === before + 1, 5000, 'marker user_offline');
}

describe('presence across two instances (Redis)', () => {
  let a: Shop;
  let b: Shop;
  let admin: TestUser;

  beforeAll(async () => {
    [a, b] = await cluster({ connectionStatsIntervalMs: 200 });
    admin = await makeAdmin(a);
  });

  it('fires user_offline once, when the last connection on any instance closes', async () => {
    const watcher = await adminWatcher(a, admin);
    const user = await makeUser(a);
    const base = await stats(a, admin);
    const onA = await socket(a, user.token);
    const onB = wsConnection(b, user.token);
    await statsUntil(a, admin, (s) => s.totalConnections === base.totalConnections + 2 && s.authenticatedUsers === base.authenticatedUsers + 1, 'both connections counted');

    closeSocket(onA);
    await statsUntil(a, admin, (s) => s.totalConnections === base.totalConnections + 1, 'socket on A closed');
    await marker(a, watcher);
    expect(watcher.offline(user.id)).toEqual([]);

    await onB.dispose();
    await waitFor(() => watcher.offline(user.id).length === 1, 5000, 'user_offline');
    expect(watcher.offline(user.id)[0]).toEqual({ userId: user.id, timestamp: expect.any(String) });
    await marker(a, watcher);
    await marker(b, watcher);
    expect(watcher.offline(user.id)).toHaveLength(1);
  });

  it('publishes connection_stats once per interval with the Socket.IO and graphql-ws connections of both instances', async () => {
    const customer = await makeUser(a);
    const base = await stats(a, admin);
    // On A: an admin socket and a customer socket + graphql-ws; on B: an anonymous socket and an admin graphql-ws.
    const adminSocket = await socket(a, admin.token);
    const rec = recordSocket(adminSocket);
    await emitAck(adminSocket, 'join_room', { room: 'admin' });
    await socket(a, customer.token);
    wsConnection(a, customer.token);
    await socket(b);
    const adminWs = wsClient(b.wsUrl, admin.token);
    clients.push(adminWs);
    const sub = collect<{ connectionStats: Stats }>(adminWs, `subscription { connectionStats { totalConnections authenticatedUsers adminConnections timestamp } }`);
    const expected = {
      totalConnections: base.totalConnections + 5,
      // The admin already counted if it had connections before; the customer is new.
      authenticatedUsers: base.authenticatedUsers + 1 + (base.adminConnections > 0 ? 0 : 1),
      adminConnections: base.adminConnections + 2,
    };
    const matches = (s: Stats) => s.totalConnections === expected.totalConnections && s.authenticatedUsers === expected.authenticatedUsers && s.adminConnections === expected.adminConnections;
    await waitFor(() => rec.of('connection_stats').some(matches), 5000, 'connection_stats with every connection');
    expect(await stats(b, admin)).toMatchObject(expected);
    expect(await stats(a, admin)).toMatchObject(expected);

    // Several intervals later: one event per interval, the same on a socket of A and a subscriber on B.
    const from = rec.of('connection_stats').findIndex(matches);
    await waitFor(() => rec.of('connection_stats').length >= from + 6, 5000, 'six more intervals');
    const times = rec.of('connection_stats').slice(from).map((e: Stats) => Date.parse(e.timestamp));
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(100);
    await waitFor(() => sub.events.some((e) => e.connectionStats.timestamp === rec.of('connection_stats')[from + 3].timestamp), 5000, 'GraphQL connection_stats');
    const onSocket = rec.of('connection_stats').slice(from + 3, from + 6);
    const start = sub.events.findIndex((e) => e.connectionStats.timestamp === onSocket[0].timestamp);
    expect(sub.events.slice(start, start + 3).map((e) => e.connectionStats)).toEqual(onSocket);

    // A customer may not watch them.
    const refused = collect(wsConnection(a, customer.token), STATS.replace('{ connectionStats', 'subscription { connectionStats'));
    await waitFor(() => refused.errors.length > 0);
    expect(JSON.stringify(refused.errors)).toContain('FORBIDDEN');
  });
});

describe('heartbeat lapse across two instances (Redis)', () => {
  it('fires user_offline exactly once when the heartbeat lapses, and again only after the user came back', async () => {
    const [a, b] = await cluster({ presenceTimeoutMs: 500, connectionStatsIntervalMs: 200 });
    const admin = await makeAdmin(a);
    const watcher = await adminWatcher(a, admin);
    const [idle, busy, late] = await Promise.all([makeUser(a), makeUser(a), makeUser(a)]);
    const idleSocket = await socket(a, idle.token);
    const idleWs = wsConnection(b, idle.token);
    const busySocket = await socket(b, busy.token);
    // The busy user beats well inside the timeout and stays online.
    const beat = setInterval(() => busySocket.emit('user_activity'), 200);
    try {
      await waitFor(() => watcher.offline(idle.id).length === 1, 5000, 'idle user lapsed');
      // A user who connects now lapses after every sweep that could have repeated the first event.
      await marker(b, watcher);
      await socket(b, late.token);
      await waitFor(() => watcher.offline(late.id).length === 1, 5000, 'late user lapsed');
      expect(watcher.offline(idle.id)).toHaveLength(1);
      expect(watcher.offline(busy.id)).toEqual([]);
    } finally {
      clearInterval(beat);
    }
    await waitFor(() => watcher.offline(busy.id).length === 1, 5000, 'busy user lapsed after its last beat');

    // The idle user comes back with a heartbeat, then leaves: a second transition, a second event.
    expect((await emitAck(idleSocket, 'user_activity')).ok).toBe(true);
    closeSocket(idleSocket);
    await idleWs.dispose();
    await waitFor(() => watcher.offline(idle.id).length === 2, 5000, 'second transition');
    await marker(a, watcher);
    await marker(b, watcher);
    expect(watcher.offline(idle.id)).toHaveLength(2);
  });
});

describe('presence on a single instance without Redis', () => {
  it('fires user_offline once, when the last of a user’s connections closes', async () => {
    const shop = await single({ redis: false });
    const admin = await makeAdmin(shop);
    const watcher = await adminWatcher(shop, admin);
    const user = await makeUser(shop);
    const base = await stats(shop, admin);
    const s1 = await socket(shop, user.token);
    const ws = wsConnection(shop, user.token);
    await statsUntil(shop, admin, (s) => s.totalConnections === base.totalConnections + 2 && s.authenticatedUsers === base.authenticatedUsers + 1, 'connections counted');
    closeSocket(s1);
    await statsUntil(shop, admin, (s) => s.totalConnections === base.totalConnections + 1, 'socket closed');
    await marker(shop, watcher);
    expect(watcher.offline(user.id)).toEqual([]);
    await ws.dispose();
    await waitFor(() => watcher.offline(user.id).length === 1, 5000, 'user_offline');
    await marker(shop, watcher);
    expect(watcher.offline(user.id)).toHaveLength(1);
  });

  it('fires user_offline once when the heartbeat lapses', async () => {
    const shop = await single({ redis: false, config: { presenceTimeoutMs: 500 } });
    const admin = await makeAdmin(shop);
    const watcher = await adminWatcher(shop, admin);
    const user = await makeUser(shop);
    const base = await stats(shop, admin);
    const s = await socket(shop, user.token);
    await waitFor(() => watcher.offline(user.id).length === 1, 5000, 'lapse');
    await marker(shop, watcher);
    closeSocket(s);
    await statsUntil(shop, admin, (st) => st.totalConnections === base.totalConnections, 'socket closed');
    await marker(shop, watcher);
    expect(watcher.offline(user.id)).toHaveLength(1);
  });
});
