import 'reflect-metadata';
import type { MikroORM } from '@mikro-orm/postgresql';
import compression from 'compression';
import express from 'express';
import type { GraphQLError } from 'graphql';
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
import type { EventLog } from './events/event-log';
import type { EventHub } from './events/hub';
import type { Outbox } from './events/outbox';
import { createApolloServer, graphqlOverHttp } from './http/apollo';
import { graphiqlPage, graphiqlRouter } from './http/graphiql';
import { health } from './http/health';
import { answerClientErrors, errorHandler, notFoundHandler } from './http/http-errors';
import { requestLog } from './http/middleware';
import type { FanoutEngine } from './subscriptions/fanout';
import { attachGraphqlWs, GRAPHQL_PATH } from './subscriptions/graphql-ws';
import type { Logger } from './logger';
import { buildShopSchema } from './schema/build-schema';
import { makeFormatError } from './schema/format-error';
import { operationCheck } from './schema/admission';
import { instanceMetrics, metricsHandler, metricSources } from './metrics/http';
import type { ShopMetrics } from './metrics/shop-metrics';
import { createServices, type Services } from './services';

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

  const probes = health({ orm, redis: deps.redis, onChecked: (checks) => metrics?.setUp(checks) });
  const { metrics, bind: bindMetricSources } = instanceMetrics(config, () => probes.readiness());
  app.use(requestLog(logger, metrics));
  probes.mount(app);
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

  const apollo = createApolloServer({ schema, config, logger, formatError, checkOperation, httpServer, metrics, onDrain: () => ws.dispose() });
  await apollo.start();

  if (config.ide) {
    app.use(compression());
    app.use(graphiqlRouter());
    app.get(GRAPHQL_PATH, graphiqlPage());
  }
  app.use(GRAPHQL_PATH, ...graphqlOverHttp(apollo, services));

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
  bindMetricSources(metricSources({ io, wsClients: () => ws.clientCount(), fanout: ws.fanout, bridge, hub, log: deps.log, presence: services.presence }));

  let closed = false;
  return {
    httpServer,
    io,
    services,
    bridge,
    fanout: ws.fanout,
    drain: probes.drain,
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
