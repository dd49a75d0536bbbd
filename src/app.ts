import 'reflect-metadata';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import type { MikroORM } from '@mikro-orm/postgresql';
import compression from 'compression';
import express from 'express';
import { GraphQLError } from 'graphql';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { useSocketAuth } from './bridge/auth';
import { startBridge, type Bridge } from './bridge/bridge';
import { MemorySessionStore, recoveryAdapter, RedisSessionStore } from './bridge/recovery';
import { commands } from './bridge/commands';
import { createSocketServer, handleConnections, type ShopIo } from './bridge/socket-server';
import type { AppConfig } from './config';
import { toClientError } from './errors';
import type { EventLog } from './events/event-log';
import type { EventHub } from './events/hub';
import type { Outbox } from './events/outbox';
import { graphiqlPage, graphiqlRouter } from './http/graphiql';
import { answerClientErrors, errorHandler, notFoundHandler } from './http/http-errors';
import type { FanoutEngine } from './http/fanout';
import { MEDIA_TYPES, requireJsonPost, statusByMediaTypePlugin, type ResponseMediaType } from './http/graphql-http';
import { attachGraphqlWs, GRAPHQL_PATH } from './http/graphql-ws';
import type { Logger } from './logger';
import { buildShopSchema } from './schema/build-schema';
import type { GqlContext } from './schema/context';
import { makeFormatError } from './schema/format-error';
import { httpSubscriptionGuard, operationCheck } from './schema/admission';
import { graphqlMetricsPlugin, metricsHandler, metricSources } from './metrics/http';
import { routeOf, ShopMetrics, type MetricSources } from './metrics/shop-metrics';
import { createServices, type Services } from './services';
import { withinMs } from './lib/within';

export interface AppDeps {
  config: AppConfig;
  orm: MikroORM;
  hub: EventHub;
  outbox: Outbox;
  log: EventLog;
  logger: Logger;
  /** For readiness: the Redis connection the hub publishes on, when there is one. */
  redis?: Redis;
}

export interface App {
  httpServer: http.Server;
  io: ShopIo;
  services: Services;
  bridge: Bridge;
  /** The graphql-ws fan-out engine (its counters are read by tests and benchmarks). */
  fanout: FanoutEngine;
  /** From now on /readyz answers 503 (`draining`) so a balancer stops routing here; all else serves on. */
  drain(): void;
  /** This instance's Prometheus metrics (`METRICS=false`: none). */
  metrics?: ShopMetrics;
  listen(port?: number, host?: string): Promise<number>;
  url(): string;
  close(): Promise<void>;
}

/** Wires one instance: HTTP + GraphQL + graphql-ws + Socket.IO + bridge. No globals. */
export async function createApp(deps: AppDeps): Promise<App> {
  const { config, orm, hub, logger } = deps;
  const services = createServices(deps);
  const schema = await buildShopSchema();
  const checkOperation = operationCheck(schema, config.limits);
  const formatError = makeFormatError(logger);
  const app = express();
  const httpServer = http.createServer(app);
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  // Filled in below, once the transports exist: the scrape reads their counts.
  let sources: Omit<MetricSources, 'dependencies'> | undefined;
  const metrics = config.metrics
    ? new ShopMetrics({
      openConnections: () => sources!.openConnections(), fanoutGroups: () => sources!.fanoutGroups(),
      socketRooms: () => sources!.socketRooms(), hub: () => sources!.hub(), eventLog: () => sources!.eventLog(),
      replayed: () => sources!.replayed(), dependencies: () => readiness(), cluster: () => sources!.cluster(),
    }, config.metricsInstance ?? `${hostname()}:${config.port}`)
    : undefined;

  app.use((req, res, next) => {
    const id = (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].slice(0, 100)) || randomUUID();
    res.setHeader('X-Request-Id', id);
    (req as express.Request & { id: string }).id = id;
    const started = process.hrtime.bigint();
    const path = req.path; // before routers strip their mount prefix
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      metrics?.httpRequest(req.method, routeOf(path), res.statusCode, ms / 1000);
      if (path === '/healthz' || path === '/readyz' || path === '/metrics') return;
      logger.info({ reqId: id, method: req.method, path, status: res.statusCode, ms }, 'http request');
    });
    next();
  });

  /** The readiness checks: PostgreSQL, and Redis when configured (bounded to 1 s). */
  const readiness = async (): Promise<{ database: boolean; redis?: boolean }> => {
    const [database, redis] = await Promise.all([
      orm.em.fork().execute('select 1').then(() => true, () => false),
      deps.redis
        ? withinMs(1000, deps.redis.ping()).then(() => true, () => false)
        : undefined,
    ]);
    const checks = redis === undefined ? { database } : { database, redis };
    metrics?.setUp(checks);
    return checks;
  };

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  let draining = false;
  app.get('/readyz', async (_req, res) => {
    if (draining) {
      res.status(503).json({ status: 'draining' });
      return;
    }
    const found = await readiness();
    const checks = Object.fromEntries(Object.entries(found).map(([k, up]) => [k, up ? 'ok' : 'unreachable']));
    const ok = Object.values(found).every(Boolean);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', checks });
  });
  if (metrics) app.get('/metrics', metricsHandler(metrics, config.metricsToken, logger));

  const sessions = deps.redis ? new RedisSessionStore(deps.redis, config.redisNamespace, logger) : new MemorySessionStore();
  const io = createSocketServer(httpServer, config, recoveryAdapter(sessions, deps.log, config.socketRecoverySeconds));
  const ws = attachGraphqlWs(httpServer, {
    schema, services, config, logger, checkOperation, metrics,
    formatError: (e: GraphQLError) => formatError(e.toJSON(), e),
    hooks: {
      onConnect: (id, viewer) => services.presence.connected(id, 'graphql-ws', viewer),
      onDisconnect: (id, viewer) => services.presence.disconnected(id, 'graphql-ws', viewer),
    },
  });

  const subscriptionGuard = httpSubscriptionGuard();
  const apollo = new ApolloServer<GqlContext>({
    schema,
    validationRules: [subscriptionGuard.rule],
    introspection: config.introspection,
    allowBatchedHttpRequests: false,
    // GET is served for queries (urql's default) and never runs a mutation; authentication is a
    // bearer token, never a cookie, so a cross-site GET acts as nobody. Non-JSON POSTs are refused
    // by requireJsonPost (src/http/graphql-http.ts).
    csrfPrevention: false,
    // main.ts handles SIGTERM/SIGINT; Apollo's own handlers would race it.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    formatError,
    parseOptions: { maxTokens: config.limits.maxTokens },
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      statusByMediaTypePlugin(),
      subscriptionGuard.plugin,
      ...(metrics ? [graphqlMetricsPlugin(metrics)] : []),
      { async serverWillStart() { return { async drainServer() { await ws.dispose(); } }; } },
      {
        // Input text, depth, alias and cost limits once the variables are known (a page size
        // passed as a variable is priced at its value); rejected before anything runs.
        async requestDidStart() {
          return {
            async didResolveOperation({ document, request }) {
              const errors = checkOperation(document, request.variables ?? undefined);
              if (errors.length) {
                throw new GraphQLError(errors[0].message, { nodes: errors[0].nodes, extensions: { ...errors[0].extensions, http: { status: 400 } } });
              }
            },
          };
        },
      },
    ],
    logger: { debug: () => undefined, info: () => undefined, warn: (m) => logger.warn(m), error: (m) => logger.error(m) },
  });
  await apollo.start();

  if (config.ide) {
    app.use(compression());
    app.use(graphiqlRouter());
    app.get(GRAPHQL_PATH, graphiqlPage());
  }
  app.use(
    GRAPHQL_PATH,
    requireJsonPost(),
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        let session;
        try {
          // A present but bad token is refused, never treated as anonymous.
          session = await services.users.authenticateSession(req.headers.authorization);
        } catch (err) {
          const e = toClientError(err);
          throw new GraphQLError(e.message, { extensions: { code: e.code, http: { status: e.code === 'UNAUTHENTICATED' ? 401 : 500 } } });
        }
        return {
          viewer: session?.viewer ?? null,
          token: session ? { id: session.tokenId, expiresAt: session.expiresAt } : undefined,
          services, requestId: (req as express.Request & { id: string }).id, transport: 'http' as const,
          responseMediaType: req.accepts([...MEDIA_TYPES]) as ResponseMediaType | false,
        };
      },
    }),
  );

  app.use(notFoundHandler());
  app.use(errorHandler(logger));
  answerClientErrors(httpServer);

  const bridge = await startBridge(io, deps.log, schema, logger);
  if (metrics) bridge.onDelivered = (envelope) => metrics.delivered('socket.io', envelope, 1);
  useSocketAuth(io, services.users, logger);
  handleConnections(io, {
    services, bridge, sessions, commands, config, logger,
    onConnect: (s) => services.presence.connected(s.id, 'socket', s.data.viewer ?? null),
    onDisconnect: (s) => services.presence.disconnected(s.id, 'socket', s.data.viewer ?? null),
    onRateLimited: () => metrics?.rateLimited('socket.io'),
  });
  sources = metricSources({ io, wsClients: () => ws.clientCount(), fanout: ws.fanout, bridge, hub, log: deps.log, presence: services.presence });

  let closed = false;
  return {
    httpServer,
    io,
    services,
    bridge,
    fanout: ws.fanout,
    drain: () => {
      draining = true;
    },
    metrics,
    listen: (port = config.port, host = config.host) =>
      new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          const bound = (httpServer.address() as AddressInfo).port;
          if (!config.metricsInstance) metrics?.registry.setDefaultLabels({ instance: `${hostname()}:${bound}` });
          resolve(bound);
        });
      }),
    url: () => {
      const a = httpServer.address() as AddressInfo;
      return `http://127.0.0.1:${a.port}`;
    },
    async close() {
      if (closed) return;
      closed = true;
      bridge.close();
      // Socket.IO's transports close first, without a DISCONNECT packet: a client sees a lost
      // connection and reconnects (to another instance behind a balancer), where a server-side
      // disconnect would make it give up; and a held long-polling request would otherwise keep
      // Apollo's HTTP drain waiting for its whole grace period. Apollo's drain then closes the
      // graphql-ws sockets: io.close() waits for the HTTP server, which would otherwise wait on them.
      io.engine.close();
      await apollo.stop();
      await new Promise<void>((r) => io.close(() => r()));
      if (httpServer.listening) await new Promise<void>((r) => httpServer.close(() => r()));
    },
  };
}
