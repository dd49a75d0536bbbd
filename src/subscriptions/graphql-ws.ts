import {
  getOperationAST, GraphQLError, Kind, parse, subscribe,
  type ExecutionArgs, type GraphQLSchema,
} from 'graphql';
import { CloseCode, type Context } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { Server as HttpServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Viewer } from '../auth/viewer';
import type { AppConfig } from '../config';
import type { Logger } from '../logger';
import { validateDocument, type OperationCheck } from '../schema/admission';
import type { GqlContext } from '../schema/context';
import type { Services } from '../services';
import { FanoutEngine, type FanoutTarget } from './fanout';
import { TokenBucket } from '../bridge/rate-limit';
import { ErrorCode } from '../errors';
import { writeRawError } from '../http/http-errors';
import { outcomeOf, type ShopMetrics } from '../metrics/shop-metrics';
import { SOCKET_IO_PATH } from '../bridge/socket-server';

export const GRAPHQL_PATH = '/graphql';
/** A graphql-ws message larger than this closes the connection (1009). */
export const WS_MAX_PAYLOAD = 256 * 1024;

type WsExtra = {
  socket: WebSocket;
  viewer?: Viewer | null;
  token?: GqlContext['token'];
  connectionId?: string;
  bucket?: TokenBucket;
  /** Set when the session ended: the connection closes once its running query or mutation has answered. */
  ending?: string;
  /** Stops the SessionService watching this connection (signed-in connections only). */
  untrack?: () => void;
  /** The running subscriptions by operation id, re-checked when the viewer's role changes. */
  operations?: Map<string, ExecutionArgs>;
  /** Operations not answered yet, by id (metrics only). */
  timings?: Map<string, Timing>;
};
type WsContext = Context<Record<string, unknown> | undefined, WsExtra>;
/** An operation's name, type and start, for its duration and outcome. */
type Timing = { started: bigint; name?: string | null; type: string };

/** The root field's response key, for the path of a refusal. */
function rootPath(args: ExecutionArgs): string[] | undefined {
  const node = getOperationAST(args.document, args.operationName)?.selectionSet.selections[0];
  return node?.kind === Kind.FIELD ? [node.alias?.value ?? node.name.value] : undefined;
}

/** How long an ending connection may take to answer the query or mutation it is running. */
const ENDING_GRACE_MS = 200;

/**
 * Closes an ending connection (4403 with the reason) once no query or mutation is running on it,
 * so a `logout` or `deleteAccount` sent over this very connection gets its answer first. `finishing`
 * is an operation whose `complete` is being sent now.
 */
function closeWhenIdle(ctx: WsContext, finishing?: string): void {
  const reason = ctx.extra.ending;
  if (!reason) return;
  const busy = Object.keys(ctx.subscriptions).some((id) => id !== finishing && !ctx.extra.operations?.has(id));
  if (!busy) setImmediate(() => ctx.extra.socket.close(CloseCode.Forbidden, `Forbidden: ${reason}`));
}

/** At most this many operations running at once on one connection. */
const WS_MAX_OPERATIONS = 100;

export interface GraphqlWsHooks {
  onConnect?(connectionId: string, viewer: Viewer | null): void;
  onDisconnect?(connectionId: string, viewer: Viewer | null): void;
}

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

/**
 * graphql-ws on the shared HTTP server. `noServer`: upgrades for /graphql are routed here by hand so
 * Socket.IO keeps its own.
 */
export function attachGraphqlWs(
  httpServer: HttpServer,
  opts: {
    schema: GraphQLSchema; services: Services; config: AppConfig; logger: Logger;
    /** The same check HTTP operations pass (input text, query limits). */
    checkOperation: OperationCheck;
    formatError: (e: GraphQLError) => unknown; hooks?: GraphqlWsHooks;
    metrics?: ShopMetrics;
  },
) {
  const { schema, services, config, logger, metrics } = opts;
  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD });
  const onUpgrade = (req: import('node:http').IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    // Socket.IO answers its own path; every other upgrade is refused here (Socket.IO runs with
    // destroyUpgrade off, so no timer of its own waits on upgrades that are not its).
    if (pathname.startsWith(SOCKET_IO_PATH)) return;
    if (pathname !== GRAPHQL_PATH) {
      writeRawError(socket, 404, ErrorCode.NOT_FOUND, `No WebSocket endpoint at ${pathname}`);
      return;
    }
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
  const fanout = new FanoutEngine(services.log, logger);
  if (metrics) fanout.onDelivered = (envelope, n) => metrics.delivered('graphql-ws', envelope, n);
  /** Where each operation's results go: transport facts, kept out of the GraphQL context. */
  const targets = new WeakMap<ExecutionArgs, {
    target: FanoutTarget; operation: { name?: string | null; text: string }; timings?: Map<string, Timing>;
  }>();
  /** The first answer of an operation (its result, its errors, or a subscription set up) ends its timing. */
  const answered = (timings: Map<string, Timing> | undefined, id: string, errors?: readonly unknown[]) => {
    const t = timings?.get(id);
    if (!t || !metrics) return;
    timings!.delete(id);
    metrics.graphqlOperation('graphql-ws', t.name, t.type, outcomeOf(errors as Array<{ extensions?: Record<string, unknown> }>), seconds(t.started));
  };

  /**
   * Ends one subscription the viewer may no longer have: a `next` carrying the refusal (its
   * `extensions.code`, FORBIDDEN for a lost role), then `complete` from graphql-ws.
   */
  const refuse = async (ctx: WsContext, id: string, args: ExecutionArgs, refusal: unknown) => {
    const error = refusal instanceof GraphQLError
      ? refusal
      : new GraphQLError(refusal instanceof Error ? refusal.message : 'Forbidden', { path: rootPath(args), originalError: refusal as Error });
    ctx.extra.operations?.delete(id);
    ctx.extra.socket.send(JSON.stringify({ id, type: 'next', payload: { errors: [opts.formatError(error)] } }));
    if (fanout.end(args)) return;
    const running = ctx.subscriptions[id] as AsyncGenerator | null | undefined;
    await running?.return?.(undefined);
  };

  /**
   * The viewer's role changed: new operations run as the new viewer, and every running
   * subscription is checked again by the same access rule it started with.
   */
  const reauthorize = async (ctx: WsContext, viewer: Viewer) => {
    ctx.extra.viewer = viewer;
    for (const [id, args] of [...(ctx.extra.operations ?? [])]) {
      // Per-event audience checks of the subscription read the context's viewer: from now on the new one.
      (args.contextValue as GqlContext).viewer = viewer;
      let refusal = await fanout.recheck(args, viewer);
      if (refusal === undefined) {
        // Not a grouped subscription: starting it again as the new viewer is the check.
        const again = await subscribe(args);
        if (Symbol.asyncIterator in again) {
          await again.return?.(undefined);
          refusal = null;
        } else refusal = again.errors?.[0] ?? null;
      }
      if (refusal !== null) await refuse(ctx, id, args, refusal);
    }
  };

  const server = useServer<Record<string, unknown> | undefined, WsExtra>(
    {
      schema,
      connectionInitWaitTimeout: 10_000,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const raw = params.authToken ?? params.Authorization ?? params.authorization;
        let session;
        try {
          session = await services.users.authenticateSession(raw);
        } catch {
          return false; // closes with 4403 Forbidden
        }
        ctx.extra.viewer = session?.viewer ?? null;
        ctx.extra.connectionId = randomUUID();
        ctx.extra.bucket = new TokenBucket(config.rateLimit.points, config.rateLimit.windowMs);
        ctx.extra.operations = new Map();
        if (session) {
          ctx.extra.token = { id: session.tokenId, expiresAt: session.expiresAt };
          const socket = ctx.extra.socket;
          ctx.extra.untrack = services.sessions.track({
            userId: session.viewer.id,
            role: session.viewer.role,
            tokenId: session.tokenId,
            expiresAt: session.expiresAt,
            end: (reason) => {
              ctx.extra.ending = reason;
              closeWhenIdle(ctx);
              // However busy it is, the connection is gone soon after: expiry must land within 1 s.
              setTimeout(() => socket.close(CloseCode.Forbidden, `Forbidden: ${reason}`), ENDING_GRACE_MS).unref();
            },
            refresh: (viewer) => reauthorize(ctx, viewer),
          }, session.version);
        }
        opts.hooks?.onConnect?.(ctx.extra.connectionId, ctx.extra.viewer);
        return true;
      },
      onClose: (ctx) => {
        ctx.extra.timings?.clear();
        ctx.extra.untrack?.();
        ctx.extra.operations?.clear();
        if (ctx.extra.connectionId) opts.hooks?.onDisconnect?.(ctx.extra.connectionId, ctx.extra.viewer ?? null);
      },
      onSubscribe: (ctx, id, payload) => {
        const timing: Timing | undefined = metrics ? { started: process.hrtime.bigint(), name: payload.operationName, type: 'unknown' } : undefined;
        if (timing) (ctx.extra.timings ??= new Map()).set(id, timing);
        if (ctx.extra.ending) {
          return [new GraphQLError(`Session ended: ${ctx.extra.ending}`, { extensions: { code: ErrorCode.UNAUTHENTICATED } })];
        }
        if (!ctx.extra.bucket?.take()) {
          metrics?.rateLimited('graphql-ws');
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
        const lastEventId = ctx.connectionParams?.lastEventId;
        const contextValue: GqlContext = {
          viewer: ctx.extra.viewer ?? null, token: ctx.extra.token, services, requestId: randomUUID(), transport: 'ws',
          lastEventId: typeof lastEventId === 'string' ? lastEventId : undefined,
        };
        const args: ExecutionArgs = { schema, document, variableValues: payload.variables, operationName: payload.operationName, contextValue };
        targets.set(args, {
          target: { socket: ctx.extra.socket, id },
          operation: { name: payload.operationName, text: payload.query },
          timings: ctx.extra.timings,
        });
        const op = getOperationAST(document, payload.operationName);
        if (timing) Object.assign(timing, { type: op?.operation ?? 'unknown', name: op?.name?.value ?? null });
        if (op?.operation === 'subscription') ctx.extra.operations?.set(id, args);
        return args;
      },
      subscribe: async (args) => {
        const t = targets.get(args)!;
        const result = await fanout.subscribe(args, t.target, t.operation);
        // A refusal is a result and is timed when it is sent (onNext); a subscription that runs, now.
        if (Symbol.asyncIterator in result) answered(t.timings, t.target.id);
        return result;
      },
      onComplete: (ctx, id) => {
        ctx.extra.timings?.delete(id);
        const subscription = ctx.extra.operations?.delete(id);
        if (!subscription) closeWhenIdle(ctx, id);
      },
      onError: (ctx, id, _payload, errors) => {
        const formatted = errors.map((e) => opts.formatError(e));
        answered(ctx.extra.timings, id, formatted);
        return formatted as never;
      },
      onNext: (ctx, id, _payload, _args, result) => {
        const formatted = result.errors ? result.errors.map((e) => opts.formatError(e)) : undefined;
        answered(ctx.extra.timings, id, formatted);
        return formatted ? ({ ...result, errors: formatted } as never) : undefined;
      },
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
