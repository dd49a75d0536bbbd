import 'reflect-metadata';
import type { MikroORM } from '@mikro-orm/postgresql';
import path from 'node:path';
import { createApp, type App } from './app';
import type { AppConfig } from './config';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded';
import { initOrm } from './db/orm';
import { seedDemoData, type SeedResult } from './db/seed';
import { EventLog } from './events/event-log';
import { EventHub, MemoryBackend, RedisBackend } from './events/hub';
import { Outbox } from './events/outbox';
import type { Logger } from './logger';

export interface Shop {
  app: App;
  orm: MikroORM;
  hub: EventHub;
  outbox: Outbox;
  log: EventLog;
  config: AppConfig;
  embedded?: EmbeddedDatabase;
  seed?: SeedResult;
  port: number;
  close(): Promise<void>;
  /** The signal path: fail /readyz, keep serving for `drainMs` (in-flight work, a balancer's next
   * health checks), then close. */
  shutdown(drainMs: number): Promise<void>;
}

/**
 * Starts a whole instance the way `npm start` does: database (embedded when DATABASE_URL is unset),
 * migrations, pub/sub (Redis when REDIS_URL is set), admin bootstrap, demo data, HTTP server.
 */
export async function startShop(config: AppConfig, logger: Logger, opts: { listen?: boolean } = {}): Promise<Shop> {
  let embedded: EmbeddedDatabase | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, 'postgres'), logger });
    url = embedded.url;
  }
  const orm = await initOrm(url);
  const redisBackend = config.redisUrl ? new RedisBackend(config.redisUrl, logger) : undefined;
  const hub = new EventHub(redisBackend ?? new MemoryBackend(), logger, config.redisNamespace);
  const outbox = new Outbox();
  const log = new EventLog({
    orm, hub, outbox, logger, databaseUrl: url, retentionSeconds: config.eventRetentionSeconds,
    pollMs: config.eventPollMs, faultPoint: config.faultPoint,
  });
  const app = await createApp({ config, orm, hub, outbox, log, logger, redis: redisBackend?.publisher });
  if (config.adminEmail && config.adminPassword) await app.services.users.ensureAdmin(config.adminEmail, config.adminPassword);
  const seed = config.seedDemoData ? await seedDemoData(app.services, orm, logger) : undefined;
  await log.start();
  const port = opts.listen === false ? 0 : await app.listen();
  await app.services.startBackground?.();
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await app.services.stopBackground?.();
      await app.close();
      await log.close();
      await hub.close();
      await orm.close(true);
      await embedded?.stop();
    })());
  return {
    app, orm, hub, outbox, log, config, embedded, seed, port, close,
    async shutdown(drainMs) {
      app.drain();
      if (drainMs > 0 && !closing) await new Promise((r) => setTimeout(r, drainMs));
      await close();
    },
  };
}
