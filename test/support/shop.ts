import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { startShop, type Shop } from '../../src/bootstrap';
import { loadConfig, type AppConfig } from '../../src/config';
import { createLogger } from '../../src/logger';

export const TEST_JWT_SECRET = 'test-secret-0123456789-0123456789-0123456789';

/** A fresh database cloned from the migrated template: every test file gets its own shop data. */
export async function createTestDatabase(): Promise<string> {
  const template = process.env.TEST_TEMPLATE_DATABASE_URL;
  if (!template) throw new Error('TEST_TEMPLATE_DATABASE_URL is not set: run the tests through jest (globalSetup)');
  const admin = new URL(template);
  admin.pathname = '/postgres';
  const name = `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE ${name} TEMPLATE shop_template`);
        break;
      } catch (err) {
        // Two clones of one template at the same instant collide; try again shortly.
        if (attempt > 20) throw err;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
  } finally {
    await client.end();
  }
  const url = new URL(template);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * An empty database (from template0: no tables, no types) on the test server, named `<prefix>_…`:
 * its URL, and `create` / `drop` for a suite's beforeAll / afterAll.
 */
export function blankDatabase(prefix: string): { url: string; create(): Promise<void>; drop(): Promise<void> } {
  const server = process.env.TEST_TEMPLATE_DATABASE_URL;
  if (!server) throw new Error('TEST_TEMPLATE_DATABASE_URL is not set: run the tests through jest (globalSetup)');
  const name = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const at = (db: string) => Object.assign(new URL(server), { pathname: `/${db}` }).toString();
  const admin = async (sql: string) => {
    const c = new Client({ connectionString: at('postgres') });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  return {
    url: at(name),
    create: () => admin(`CREATE DATABASE ${name} TEMPLATE template0`),
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

export interface TestShopOptions {
  databaseUrl?: string;
  /** Use the run's real Redis (default) or the in-process pub/sub. */
  redis?: boolean;
  /** Shops that must see each other's events share a namespace. */
  namespace?: string;
  config?: Partial<AppConfig>;
}

/** An instance started by `startTestShop`, with the addresses its clients use. */
export type TestShop = Shop & { url: string; wsUrl: string; databaseUrl: string };

/** Starts a whole instance as `npm start` would, on 127.0.0.1 and a free port. */
export async function startTestShop(opts: TestShopOptions = {}): Promise<TestShop> {
  const databaseUrl = opts.databaseUrl ?? (await createTestDatabase());
  const useRedis = opts.redis ?? true;
  const config = loadConfig(
    { NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET, DATABASE_URL: databaseUrl, SEED_DEMO_DATA: 'false' },
    {
      port: 0,
      host: '127.0.0.1',
      redisUrl: useRedis ? process.env.TEST_REDIS_URL : undefined,
      redisNamespace: opts.namespace ?? `test-${randomUUID()}`,
      logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...opts.config,
    },
  );
  const shop = await startShop(config, createLogger(config.logLevel));
  const url = `http://127.0.0.1:${shop.port}`;
  return Object.assign(shop, { url, wsUrl: `ws://127.0.0.1:${shop.port}/graphql`, databaseUrl });
}
