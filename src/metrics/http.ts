import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import { getOperationAST } from 'graphql';
import { createHash, timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import type { Bridge } from '../bridge/bridge';
import type { AppConfig } from '../config';
import type { ShopIo } from '../bridge/socket-server';
import type { EventLog } from '../events/event-log';
import type { EventHub } from '../events/hub';
import type { FanoutEngine } from '../subscriptions/fanout';
import type { Logger } from '../logger';
import type { GqlContext } from '../schema/context';
import type { PresenceService } from '../services/presence/presence.service';
import { withinMs } from '../lib/within-ms';
import { outcomeOf, ShopMetrics, type MetricSources } from './shop-metrics';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * `GET /metrics`: the Prometheus text exposition. With a token configured, only a request with
 * `Authorization: Bearer <token>` is answered (compared in constant time); others get 401.
 */
export function metricsHandler(metrics: ShopMetrics, token: string | undefined, logger: Logger): RequestHandler {
  const expected = token ? digest(token) : null;
  return async (req, res) => {
    if (expected) {
      const given = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
      if (!timingSafeEqual(digest(given), expected)) {
        res.status(401).set('WWW-Authenticate', 'Bearer realm="metrics"')
          .json({ error: { code: 'UNAUTHENTICATED', message: 'A valid metrics token is required (Authorization: Bearer <METRICS_TOKEN>)' } });
        return;
      }
    }
    try {
      const body = await metrics.render();
      res.set('Content-Type', metrics.contentType).set('Cache-Control', 'no-store').send(body);
    } catch (err) {
      logger.error({ err }, 'metrics collection failed');
      res.status(500).json({ error: { code: 'INTERNAL_SERVER_ERROR', message: 'Metrics collection failed' } });
    }
  };
}

/** GraphQL over HTTP: every operation's duration by name, type and outcome (the response's first error code). */
export function graphqlMetricsPlugin(metrics: ShopMetrics): ApolloServerPlugin<GqlContext> {
  return {
    async requestDidStart({ request }) {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ response, operation, document }) {
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          // A document that parsed but failed validation still names its operation.
          const op = operation ?? (document ? getOperationAST(document, request.operationName) : null);
          metrics.graphqlOperation('http', op ? op.name?.value : request.operationName, op?.operation ?? 'unknown',
            outcomeOf(errors), Number(process.hrtime.bigint() - started) / 1e9);
        },
      };
    },
  };
}

type TransportSources = Omit<MetricSources, 'dependencies'>;

/**
 * This instance's metrics (`METRICS=false`: none). The transports are built with them, so what a
 * scrape reads of the transports (`metricSources`) is bound afterwards.
 */
export function instanceMetrics(config: AppConfig, dependencies: MetricSources['dependencies']): { metrics?: ShopMetrics; bind(sources: TransportSources): void } {
  if (!config.metrics) return { bind: () => undefined };
  let s: TransportSources | undefined;
  const metrics = new ShopMetrics({
    openConnections: () => s!.openConnections(), fanoutGroups: () => s!.fanoutGroups(),
    socketRooms: () => s!.socketRooms(), hub: () => s!.hub(), eventLog: () => s!.eventLog(),
    replayed: () => s!.replayed(), dependencies, cluster: () => s!.cluster(),
  }, config.metricsInstance ?? `${hostname()}:${config.port}`);
  return { metrics, bind: (sources) => void (s = sources) };
}

const ROOM_KINDS = ['user', 'product', 'support', 'cart'];

/** Reads the instance's own state at a scrape: counts the code keeps anyway, nothing per message. */
export function metricSources(s: {
  io: ShopIo; wsClients: () => number; fanout: FanoutEngine; bridge: Bridge; hub: EventHub; log: EventLog; presence: PresenceService;
}): TransportSources {
  const nsp = s.io.of('/');
  let cluster: { at: number; value: Promise<Awaited<ReturnType<MetricSources['cluster']>>> } | null = null;
  return {
    openConnections: () => ({ 'socket.io': nsp.sockets.size, 'graphql-ws': s.wsClients() }),
    fanoutGroups: () => s.fanout.byField(),
    socketRooms() {
      const out = new Map<string, { kind: string; rooms: number; members: number }>();
      for (const [room, members] of nsp.adapter.rooms) {
        const prefix = room.slice(0, room.indexOf('_'));
        const kind = room === 'admin' ? 'admin' : ROOM_KINDS.includes(prefix) ? prefix : null;
        if (!kind) continue; // a socket's own room, or the bridge's internal one
        let k = out.get(kind);
        if (!k) out.set(kind, (k = { kind, rooms: 0, members: 0 }));
        k.rooms++;
        k.members += members.size;
      }
      return out.values();
    },
    hub: () => s.hub.byName,
    eventLog: () => ({ position: s.log.current(), ...s.log.stats }),
    replayed: () => ({ 'socket.io': s.bridge.replayed, 'graphql-ws': s.fanout.replayed }),
    // One read of the cluster-wide presence per scrape (both gauges ask), bounded to 1 s.
    cluster() {
      if (!cluster || Date.now() - cluster.at > 1000) {
        const value = withinMs(1000, s.presence.stats()).catch(() => null);
        cluster = { at: Date.now(), value };
      }
      return cluster.value;
    },
  };
}
