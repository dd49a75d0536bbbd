import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io as ioClient } from 'socket.io-client';
import { collect, gql, gqlOk, waitFor, wsClient } from '../support/clients';
import { ensureBuilt, exitWithin, ready, start, type Proc } from '../support/process';
import { freePort } from '../support/redis-server';
import { blankDatabase } from '../support/shop';

/**
 * The real process, as `npm start` runs it: `node dist/src/main.js` against a fresh database.
 * Start-up (migrations, demo data once, printed URLs and credentials), SIGTERM/SIGINT draining to
 * exit 0 (after failing /readyz for SHUTDOWN_DRAIN_MS), and the production refusal without JWT_SECRET.
 */
const SECRET = 'lifecycle-secret-0123456789-0123456789-abcdef';

describe('process lifecycle (node dist/src/main.js)', () => {
  const blank = blankDatabase('life');
  const databaseUrl = blank.url;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'shoe-life-'));
  const running: Proc[] = [];
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    const t = Date.now();
    ensureBuilt();
    timings.buildCheckMs = Date.now() - t;
    // An empty database: the process migrates it itself.
    await blank.create();
  }, 180_000);

  afterAll(async () => {
    for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await blank.drop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    if (process.env.LIFECYCLE_TIMINGS) process.stderr.write(`[lifecycle] ${JSON.stringify(timings)}\n`);
  });

  const launch = async (extra: Record<string, string> = {}) => {
    const port = await freePort();
    const t = Date.now();
    const p = start({ DATABASE_URL: databaseUrl, PORT: String(port), SEED_DEMO_DATA: 'true', JWT_SECRET: SECRET, NODE_ENV: 'development', DATA_DIR: dataDir, ...extra });
    running.push(p);
    await ready(p);
    return { p, port, url: `http://127.0.0.1:${port}`, ms: Date.now() - t };
  };

  const demoCredentials = (out: string) => {
    const password = /password for both: (\S+?)\)/.exec(out)?.[1];
    const admin = /^\s+admin\s+(\S+@\S+)/m.exec(out)?.[1];
    const customer = /^\s+customer\s+(\S+@\S+)/m.exec(out)?.[1];
    return { password: password!, admin: admin!, customer: customer! };
  };

  const LOGIN = 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { email role } } }';

  it('starts on an empty database: migrates, seeds 20 products once, prints URLs and demo credentials; SIGTERM exits 0', async () => {
    const { p, port, url, ms } = await launch();
    timings.firstStartMs = ms;
    const out = p.out();
    expect(out).toContain(`http://localhost:${port}/graphql`);
    expect(out).toContain(`ws://localhost:${port}/graphql`);
    expect(out).toContain(`http://localhost:${port}/healthz`);
    expect(out).toMatch(/Demo catalogue loaded: 20 products/);

    const r = await gqlOk(url, '{ products(first: 100) { totalCount edges { node { brand category variants { stock } } } } }');
    expect(r.products.totalCount).toBe(20);
    const nodes = r.products.edges.map((e: { node: { brand: string; category: string; variants: Array<{ stock: number }> } }) => e.node);
    expect(new Set(nodes.map((n: { brand: string }) => n.brand)).size).toBeGreaterThanOrEqual(5);
    expect(new Set(nodes.map((n: { category: string }) => n.category)).size).toBeGreaterThanOrEqual(3);
    const stocks = nodes.flatMap((n: { variants: Array<{ stock: number }> }) => n.variants.map((v) => v.stock));
    expect(stocks).toContain(0);
    expect(stocks.some((s: number) => s > 0 && s <= 5)).toBe(true);

    const creds = demoCredentials(out);
    const admin = await gqlOk(url, LOGIN, { e: creds.admin, p: creds.password });
    expect(admin.login.user.role).toBe('ADMIN');
    const customer = await gqlOk(url, LOGIN, { e: creds.customer, p: creds.password });
    expect(customer.login.user.role).toBe('CUSTOMER');
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    // Open connections on both realtime transports must not hold the process up.
    const socket = ioClient(url, { transports: ['websocket'], auth: { token: admin.login.token }, reconnection: false, forceNew: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const ws = wsClient(`ws://127.0.0.1:${port}/graphql`, admin.login.token);
    const sub = collect(ws, 'subscription { inventoryUpdate { productId stockChange } }');
    await waitFor(async () => {
      // The subscription is live once a stock change reaches it.
      const firstId = (await gqlOk(url, '{ products(first: 1) { edges { node { id variants { size color } } } } }')).products.edges[0].node;
      await gql(url, 'mutation($id: ID!, $v: VariantInput!) { adjustStock(productId: $id, variant: $v, delta: 1) { id } }', { id: firstId.id, v: firstId.variants[0] }, admin.login.token);
      return sub.events.length > 0;
    }, 10_000, 'a subscription event before shutdown');
    let socketClosed = false;
    socket.on('disconnect', () => (socketClosed = true));

    const t = Date.now();
    p.child.kill('SIGTERM');
    const exit = await exitWithin(p, 10_000);
    timings.sigtermExitMs = Date.now() - t;
    expect(exit).toEqual({ code: 0, signal: null });
    // Both clients are told: Socket.IO disconnects, the graphql-ws socket closes.
    await waitFor(() => socketClosed && (sub.completed || sub.errors.length > 0), 5_000, 'clients to see the shutdown');
    socket.close();
    await ws.dispose();
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  }, 90_000);

  it('a restart on the same database reuses it and does not seed twice; ADMIN_EMAIL is promoted; SIGINT exits 0', async () => {
    const { p, url, ms } = await launch({ ADMIN_EMAIL: 'Boss@Example.com', ADMIN_PASSWORD: 'boss-password-123' });
    timings.restartMs = ms;
    expect(p.out()).not.toMatch(/Demo catalogue loaded/);
    const r = await gqlOk(url, '{ products(first: 100) { totalCount } }');
    expect(r.products.totalCount).toBe(20);
    const boss = await gqlOk(url, LOGIN, { e: 'boss@example.com', p: 'boss-password-123' });
    expect(boss.login.user).toEqual({ email: 'boss@example.com', role: 'ADMIN' });
    // Demo accounts are still there (not duplicated: emails are unique) and still work.
    const creds = demoCredentials(p.out());
    expect((await gqlOk(url, LOGIN, { e: creds.customer, p: creds.password })).login.user.role).toBe('CUSTOMER');
    p.child.kill('SIGINT');
    expect(await exitWithin(p, 10_000)).toEqual({ code: 0, signal: null });
  }, 90_000);

  it('refuses to start in production without JWT_SECRET (or with a short one), with a clear message', async () => {
    const port = await freePort();
    const missing = start({ DATABASE_URL: databaseUrl, PORT: String(port), NODE_ENV: 'production', DATA_DIR: dataDir });
    running.push(missing);
    const m = await exitWithin(missing, 20_000);
    expect(m.code).not.toBe(0);
    expect(missing.out()).toMatch(/JWT_SECRET is required when NODE_ENV=production/);
    expect(missing.out()).not.toMatch(/Shoe Store API ready/);

    const short = start({ DATABASE_URL: databaseUrl, PORT: String(port), NODE_ENV: 'production', JWT_SECRET: 'too-short', DATA_DIR: dataDir });
    running.push(short);
    const s = await exitWithin(short, 20_000);
    expect(s.code).not.toBe(0);
    expect(short.out()).toMatch(/JWT_SECRET must be at least 32 characters/);
    // Nothing was listening on the port.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  }, 60_000);

  it('with SHUTDOWN_DRAIN_MS, SIGTERM fails /readyz at once, keeps serving for the drain, then exits 0', async () => {
    const { p, url } = await launch({ SHUTDOWN_DRAIN_MS: '1500' });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const signalled = Date.now();
    p.child.kill('SIGTERM');
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 503, 1000, '/readyz 503 after SIGTERM');
    const draining = await fetch(`${url}/readyz`);
    expect(await draining.json()).toEqual({ status: 'draining' });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await gqlOk(url, '{ products(first: 1) { totalCount } }')).products.totalCount).toBe(20);
    expect(await exitWithin(p, 15_000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(1500);
  }, 60_000);
});
