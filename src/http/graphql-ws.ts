import { GraphQLError, parse, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Server as HttpServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';
import type { Viewer } from '../auth/viewer';
import type { AppConfig } from '../config';
import type { Logger } from '../logger';
import { validateDocument, type OperationCheck } from '../schema/admission';
import type { GqlContext } from '../schema/context';
import type { Services } from '../services';
import { FanoutEngine } from './fanout';
import { TokenBucket } from '../bridge/rate-limit';
import { ErrorCode } from '../errors';
import { writeRawError } from './http-errors';

export const GRAPHQL_PATH = '/graphql';
/** A graphql-ws message larger than this closes the connection (1009). */
export const WS_MAX_PAYLOAD = 256 * 1024;

type WsExtra = {
  viewer?: Viewer | null;
  connectionId?: string;
  bucket?: TokenBucket;
};

/** At most this many operations running at once on one connection. */
export const WS_MAX_OPERATIONS = 100;

export interface GraphqlWsHooks {
  onConnect?(connectionId: string, viewer: Viewer | null): void;
  onDisconnect?(connectionId: string, viewer: Viewer | null): void;
}

/**
 * graphql-ws on the shared HTTP server. `noServer`: upgrades for /graphql are routed here by hand so
 * Socket.IO keeps its own (STACK trap 1).
 */
export function attachGraphqlWs(
  httpServer: HttpServer,
  opts: {
    schema: GraphQLSchema; services: Services; config: AppConfig; logger: Logger;
    /** The same check HTTP operations pass (input text, query limits). */
    checkOperation: OperationCheck;
    formatError: (e: GraphQLError) => unknown; hooks?: GraphqlWsHooks;
  },
) {
  const { schema, services, config, logger } = opts;
  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD });
  const onUpgrade = (req: import('node:http').IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (pathname !== GRAPHQL_PATH) return;
    const origin = req.headers.origin;
    if (config.allowedOrigins && origin && !config.allowedOrigins.includes(origin)) {
      writeRawError(socket, 403, ErrorCode.FORBIDDEN, 'Origin not allowed');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };
  // A handshake ws refuses (bad key, version): JSON like every other HTTP error, not ws's HTML.
  wss.on('wsClientError', (err, socket) => writeRawError(socket, 400, ErrorCode.BAD_REQUEST, err.message));
  httpServer.on('upgrade', onUpgrade);
  const fanout = new FanoutEngine(services.deps.hub, logger);

  const server = useServer<Record<string, unknown> | undefined, WsExtra>(
    {
      schema,
      connectionInitWaitTimeout: 10_000,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const raw = params.authToken ?? params.Authorization ?? params.authorization;
        try {
          ctx.extra.viewer = await services.users.authenticate(raw);
        } catch {
          return false; // closes with 4403 Forbidden
        }
        ctx.extra.connectionId = randomUUID();
        ctx.extra.bucket = new TokenBucket(config.rateLimit.points, config.rateLimit.windowMs);
        opts.hooks?.onConnect?.(ctx.extra.connectionId, ctx.extra.viewer);
        return true;
      },
      onClose: (ctx) => {
        if (ctx.extra.connectionId) opts.hooks?.onDisconnect?.(ctx.extra.connectionId, ctx.extra.viewer ?? null);
      },
      onSubscribe: (ctx, id, payload) => {
        if (!ctx.extra.bucket?.take()) {
          return [new GraphQLError('Too many operations, slow down', { extensions: { code: ErrorCode.RATE_LIMITED } })];
        }
        if (Object.keys(ctx.subscriptions).length > WS_MAX_OPERATIONS) {
          return [new GraphQLError(`At most ${WS_MAX_OPERATIONS} operations at once on one connection`, { extensions: { code: ErrorCode.RATE_LIMITED } })];
        }
        let document;
        try {
          document = parse(payload.query, { maxTokens: config.limits.maxTokens });
        } catch (err) {
          return [err instanceof GraphQLError ? err : new GraphQLError('Invalid query')];
        }
        const invalid = validateDocument(schema, document);
        if (invalid.length) return invalid;
        const refused = opts.checkOperation(document, payload.variables ?? undefined);
        if (refused.length) return [...refused];
        const contextValue: GqlContext = {
          viewer: ctx.extra.viewer ?? null, services, requestId: randomUUID(), transport: 'ws',
          operationKey: `${payload.operationName ?? ''}\u0000${payload.query}\u0000${JSON.stringify(payload.variables ?? {})}`,
          fanoutTarget: { socket: ctx.extra.socket, id },
        };
        return { schema, document, variableValues: payload.variables, operationName: payload.operationName, contextValue };
      },
      subscribe: (args) => {
        const c = args.contextValue as GqlContext;
        return fanout.subscribe(args, c.fanoutTarget!, c.operationKey ?? '');
      },
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => opts.formatError(e)) as never,
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? ({ ...result, errors: result.errors.map((e) => opts.formatError(e)) } as never) : undefined,
    },
    wss,
    12_000,
  );
  logger.debug('graphql-ws attached');
  return {
    wss,
    fanout,
    clientCount: () => wss.clients.size,
    async dispose() {
      fanout.close();
      httpServer.off('upgrade', onUpgrade);
      await server.dispose();
      wss.close();
    },
  };
}
