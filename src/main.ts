import 'reflect-metadata';
import { loadConfig } from './config';
import { createLogger } from './logger';
import { startTracing, stopTracing } from './tracing';

async function main() {
  const started = Date.now();
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  // Before the shop's modules load: the instrumentations patch HTTP, Express, GraphQL, pg, ioredis
  // and Socket.IO as they are required.
  if (startTracing()) logger.info('tracing on: spans are exported over OTLP/HTTP');
  const { startShop } = require('./bootstrap') as typeof import('./bootstrap');
  const shop = await startShop(config, logger);
  const base = `http://localhost:${shop.port}`;
  const lines = [
    '',
    `Shoe Store API ready in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    `  GraphQL + GraphiQL  ${base}/graphql`,
    `  Subscriptions       ws://localhost:${shop.port}/graphql (graphql-transport-ws)`,
    `  Socket.IO           ${base}/socket.io/ (v4, and v2 clients)`,
    `  Health              ${base}/healthz  ${base}/readyz`,
    `  Database            ${shop.embedded ? `embedded PostgreSQL, data in ${shop.embedded.dataDir}` : 'DATABASE_URL'}`,
    `  Pub/sub             ${config.redisUrl ? 'Redis (REDIS_URL)' : 'in-process (single instance)'}`,
  ];
  if (shop.seed) {
    lines.push('  Demo accounts (password for both: ' + shop.seed.password + ')');
    lines.push(`    admin     ${shop.seed.adminEmail}`);
    lines.push(`    customer  ${shop.seed.customerEmail}`);
    if (shop.seed.created) lines.push(`  Demo catalogue loaded: ${shop.seed.products} products`);
  }
  process.stdout.write(lines.join('\n') + '\n\n');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, drainMs: config.shutdownDrainMs }, 'shutting down');
    const force = setTimeout(() => process.exit(1), config.shutdownDrainMs + 15_000);
    force.unref();
    shop.shutdown(config.shutdownDrainMs).then(stopTracing).then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`Shoe Store API failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
