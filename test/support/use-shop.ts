import { randomUUID } from 'node:crypto';
import type { Client as WsClient } from 'graphql-ws';
import type { Socket } from 'socket.io-client';
import type { AppConfig } from '../../src/config';
import { socketV4, wsClient } from './clients';
import { ensureBuilt, ready, start, type Proc } from './process';
import { freePort, startRedis } from './redis-server';
import { createTestDatabase, startTestShop, type TestShop } from './shop';

export type { TestShop };

/** Anything a test opens and must close: a Socket.IO socket, a graphql-ws client, a proxy, a server… */
export type Closable = { close(): unknown } | { dispose(): unknown } | { terminate(): unknown } | { stop(): unknown };

const closeOne = (c: Closable) =>
  'dispose' in c ? c.dispose() : 'terminate' in c ? c.terminate() : 'close' in c ? c.close() : c.stop();

/**
 * What a test file opened, closed together at its end, the last opened first; one that fails to
 * close does not keep the others open.
 */
export function openedByTests() {
  const closers: Array<() => unknown> = [];
  return {
    /** Remembers `c` to be closed at the end; returns it. */
    track<T extends Closable>(c: T): T {
      closers.push(() => closeOne(c));
      return c;
    },
    /** Runs `fn` at the end, with the closes. */
    defer(fn: () => unknown): void {
      closers.push(fn);
    },
    async closeAll(): Promise<void> {
      const failures: unknown[] = [];
      while (closers.length) {
        try {
          await closers.pop()!();
        } catch (err) {
          failures.push(err);
        }
      }
      if (failures.length) throw failures[0];
    },
  };
}

/** A redis-server of a test file's own, which its tests may stop and start again on the same port. */
async function ownRedisServer() {
  let server = await startRedis();
  let running = true;
  const { url, port } = server;
  return {
    url,
    port,
    async stop(): Promise<void> {
      if (!running) return;
      running = false;
      await server.stop();
    },
    async start(): Promise<void> {
      if (running) return;
      server = await startRedis(port);
      running = true;
    },
  };
}

export interface UseShopOptions {
  /** Instances of one shop: one database, one Redis namespace (1 unless given). */
  instances?: number;
  /** The run's real Redis (default) or the in-process pub/sub. */
  redis?: boolean;
  /** A redis-server of the file's own (`redis()`: `stop()`, `start()` on the same port). */
  ownRedis?: boolean;
  /** The same for every instance. */
  config?: Partial<AppConfig>;
}

/**
 * The shop a test file runs against, started in a `beforeAll` and closed in an `afterAll` that this
 * call registers (in the enclosing `describe`, if any). The accessors read it lazily, so they are
 * called inside tests and hooks: `const { shop } = useShop()`, then `shop().url`; with
 * `useShop({ instances: 2 })`, `a()` and `b()`.
 * Every client opened through it, or passed to `track`, is closed before the instances; the file's
 * own `afterAll` hooks, declared after this call, run after that (jest runs them in order).
 */
export function useShop(opts: UseShopOptions = {}) {
  const count = opts.instances ?? 1;
  const opened = openedByTests();
  const namespace = `test-${randomUUID()}`;
  let instances: TestShop[] = [];
  let redis: Awaited<ReturnType<typeof ownRedisServer>> | undefined;

  beforeAll(async () => {
    if (opts.ownRedis) redis = await ownRedisServer();
    const databaseUrl = await createTestDatabase();
    const config = { ...opts.config, ...(redis ? { redisUrl: redis.url } : {}) };
    for (let i = 0; i < count; i++) instances.push(await startTestShop({ databaseUrl, namespace, redis: opts.redis, config }));
  });
  afterAll(async () => {
    try {
      await opened.closeAll();
    } finally {
      await Promise.all(instances.map((s) => s.close()));
      instances = [];
      await redis?.stop();
    }
  });

  const instance = (i: number) => () => {
    const s = instances[i];
    if (!s) throw new Error(`useShop: instance ${i} is not running (read it inside a test or hook, of a file that asked for ${i + 1} instances)`);
    return s;
  };
  return {
    /** The first (or only) instance. */
    shop: instance(0),
    a: instance(0),
    b: instance(1),
    /** The file's own redis-server (`ownRedis: true`). */
    redis: () => {
      if (!redis) throw new Error('useShop: no redis-server of its own (pass ownRedis: true)');
      return redis;
    },
    track: opened.track,
    defer: opened.defer,
    /** A connected Socket.IO v4 client of `shop` (see `socketV4`), closed at the end. */
    socket: async (shop: TestShop, token?: string, options: Record<string, unknown> = {}): Promise<Socket> =>
      opened.track(await socketV4(shop.url, token, options)),
    /** A lazy graphql-ws client of `shop` (see `wsClient`), disposed at the end. */
    ws: (shop: TestShop, token?: string, extra: Record<string, unknown> = {}): WsClient => opened.track(wsClient(shop.wsUrl, token, extra)),
  };
}

export interface ShopProcess {
  p: Proc;
  url: string;
  wsUrl: string;
}

/**
 * The shop as real processes (`node dist/src/main.js`, built if stale) on one fresh database and one
 * Redis namespace: `launch(env)` starts one more and waits for its banner. Processes still running
 * at the end are killed (SIGKILL), after everything tracked is closed.
 */
export function useShopProcesses(env: Record<string, string>) {
  const opened = openedByTests();
  const namespace = `test-${randomUUID()}`;
  const procs: Proc[] = [];
  let databaseUrl: string | undefined;

  beforeAll(async () => {
    ensureBuilt();
    databaseUrl = await createTestDatabase();
  }, 180_000);
  afterAll(async () => {
    try {
      await opened.closeAll();
    } finally {
      for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    }
  });

  const dbUrl = () => {
    if (!databaseUrl) throw new Error('useShopProcesses: the database is made in beforeAll (read it inside a test or hook)');
    return databaseUrl;
  };
  return {
    databaseUrl: dbUrl,
    track: opened.track,
    defer: opened.defer,
    async launch(extra: Record<string, string> = {}): Promise<ShopProcess> {
      const port = await freePort();
      const p = start({
        DATABASE_URL: dbUrl(), REDIS_URL: process.env.TEST_REDIS_URL, REDIS_NAMESPACE: namespace, PORT: String(port),
        NODE_ENV: 'test', SEED_DEMO_DATA: 'false', LOG_LEVEL: 'error', ...env, ...extra,
      });
      procs.push(p);
      await ready(p);
      return { p, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/graphql` };
    },
  };
}
