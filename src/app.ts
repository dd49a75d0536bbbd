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
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { useSocketAuth } from './bridge/auth';
import { startBridge, type Bridge } from './bridge/bridge';
import { commands } from './bridge/commands';
import { createSocketServer, handleConnections, type ShopIo } from './bridge/socket-server';
import type { AppConfig } from './config';
import { toClientError } from './errors';
import type { EventHub } from './events/hub';
import { graphiqlPage, graphiqlRouter } from './http/graphiql';
import { answerClientErrors, errorHandler, notFoundHandler } from './http/http-errors';
import type { FanoutEngine } from './http/fanout';
import { attachGraphqlWs, GRAPHQL_PATH } from './http/graphql-ws';
import type { Logger } from './logger';
import { buildShopSchema } from './schema/build-schema';
import type { GqlContext } from './schema/context';
import { makeFormatError } from './schema/format-error';
import { httpSubscriptionGuard, operationCheck } from './schema/admission';
import { createServices, type Services } from './services';

export interface AppDeps {
  config: AppConfig;
  orm: MikroORM;
  hub: EventHub;
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

  app.use((req, res, next) => {
    const id = (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].slice(0, 100)) || randomUUID();
    res.setHeader('X-Request-Id', id);
    (req as express.Request & { id: string }).id = id;
    const started = process.hrtime.bigint();
    const path = req.path; // before routers strip their mount prefix
    res.on('finish', () => {
      if (path === '/healthz' || path === '/readyz') return;
      logger.info({
        reqId: id, method: req.method, path, status: res.statusCode,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      }, 'http request');
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = {};
    try {
      await orm.em.fork().execute('select 1');
      checks.database = 'ok';
    } catch {
      checks.database = 'unreachable';
    }
    if (deps.redis) {
      try {
        await Promise.race([deps.redis.ping(), new Promise((_r, rej) => setTimeout(() => rej(new Error('timeout')), 1000))]);
        checks.redis = 'ok';
      } catch {
        checks.redis = 'unreachable';
      }
    }
    const ok = Object.values(checks).every((v) => v === 'ok');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', checks });
  });

  const io = createSocketServer(httpServer, config);
  const ws = attachGraphqlWs(httpServer, {
    schema, services, config, logger, checkOperation,
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
    csrfPrevention: true,
    // main.ts handles SIGTERM/SIGINT; Apollo's own handlers would race it.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    formatError,
    parseOptions: { maxTokens: config.limits.maxTokens },
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      subscriptionGuard.plugin,
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
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        let viewer = null;
        try {
          // A present but bad token is refused, never treated as anonymous.
          viewer = await services.users.authenticate(req.headers.authorization);
        } catch (err) {
          const e = toClientError(err);
          throw new GraphQLError(e.message, { extensions: { code: e.code, http: { status: e.code === 'UNAUTHENTICATED' ? 401 : 500 } } });
        }
        return { viewer, services, requestId: (req as express.Request & { id: string }).id, transport: 'http' as const };
      },
    }),
  );

  app.use(notFoundHandler());
  app.use(errorHandler(logger));
  answerClientErrors(httpServer);

  const bridge = await startBridge(io, hub, schema, logger);
  useSocketAuth(io, services.users, logger);
  handleConnections(io, {
    services, bridge, commands, config, logger,
    onConnect: (s) => services.presence.connected(s.id, 'socket', s.data.viewer ?? null),
    onDisconnect: (s) => services.presence.disconnected(s.id, 'socket', s.data.viewer ?? null),
  });

  let closed = false;
  return {
    httpServer,
    io,
    services,
    bridge,
    fanout: ws.fanout,
    listen: (port = config.port, host = config.host) =>
      new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => resolve((httpServer.address() as AddressInfo).port));
      }),
    url: () => {
      const a = httpServer.address() as AddressInfo;
      return `http://127.0.0.1:${a.port}`;
    },
    async close() {
      if (closed) return;
      closed = true;
      bridge.close();
      io.disconnectSockets(true);
      // Apollo's drain closes the graphql-ws sockets first: io.close() waits for the HTTP server,
      // which would otherwise wait on them forever.
      await apollo.stop();
      await new Promise<void>((r) => io.close(() => r()));
      if (httpServer.listening) await new Promise<void>((r) => httpServer.close(() => r()));
    },
  };
}
