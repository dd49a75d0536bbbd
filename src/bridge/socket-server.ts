import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import type { Adapter } from 'socket.io-adapter';
import type { AppConfig } from '../config';
import type { Viewer } from '../auth/viewer';
import { AppError, ErrorCode, toClientError } from '../errors';
import { checkAccess, dependsOnViewer, roomTarget, type AccessTarget } from '../events/access';
import { formatEventId } from '../events/event-log';
import { rooms } from '../events/rooms';
import { every } from '../lib/every';
import type { Logger } from '../logger';
import type { Services } from '../services';
import { invalidTextError } from '../services/validation';
import type { Bridge } from './bridge';
import type { RecoveredState, SessionStore } from './recovery';
import type { Command, CommandContext } from './commands/command';
import { TokenBucket } from './rate-limit';
import type { Ack, ClientToServerEvents, ServerToClientEvents, ShopSocket, SocketData } from './socket-types';

/** Where Socket.IO (and its legacy v2 clients) connect. */
export const SOCKET_IO_PATH = '/socket.io/';

export type ShopIo = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** Command payloads above this are refused with BAD_USER_INPUT (the transport refuses > 1 MB). */
const MAX_COMMAND_BYTES = 64 * 1024;

export function createSocketServer(httpServer: HttpServer, config: AppConfig, adapter: typeof Adapter): ShopIo {
  return new Server(httpServer, {
    path: SOCKET_IO_PATH,
    // Other paths' upgrades are graphql-ws's, which refuses the unknown ones (src/subscriptions/graphql-ws.ts).
    destroyUpgrade: false,
    // The server side of socket.io-client's connection state recovery (src/bridge/recovery.ts);
    // the auth middleware runs on every (re)connection. SOCKET_RECOVERY_SECONDS=0 turns it off.
    ...(config.socketRecoverySeconds > 0
      ? { adapter, connectionStateRecovery: { maxDisconnectionDuration: config.socketRecoverySeconds * 1000, skipMiddlewares: false } }
      : {}),
    allowEIO3: true,
    maxHttpBufferSize: 1e6,
    pingInterval: 25000,
    pingTimeout: 20000,
    connectTimeout: 10000,
    serveClient: false,
    cors: config.allowedOrigins ? { origin: config.allowedOrigins, credentials: true } : { origin: true, credentials: true },
    allowRequest: (req, cb) => {
      const origin = req.headers.origin;
      if (config.allowedOrigins && origin && !config.allowedOrigins.includes(origin)) return cb('origin not allowed', false);
      cb(null, true);
    },
  });
}

const sizeOf = (data: unknown): number => {
  try {
    return Buffer.byteLength(JSON.stringify(data ?? null));
  } catch {
    return Infinity;
  }
};

/** A connection's context: a command's, with the whole socket (the room commands and recovery use it). */
interface ConnectionContext extends CommandContext {
  socket: ShopSocket;
}

/**
 * `join_room`: the exact room names of `roomTarget`, refused with a code (the socket stays
 * connected), decided by the same `checkAccess` as the matching subscription. The check is
 * repeated if the viewer changed meanwhile, so a role change cannot slip between check and join.
 */
async function authorizeRoom(ctx: ConnectionContext, room: unknown): Promise<string> {
  const target = roomTarget(room);
  if (!target) throw new AppError(ErrorCode.NOT_FOUND, 'No such room');
  let viewer;
  do {
    viewer = ctx.viewer;
    await checkAccess(target, viewer, ctx.services);
  } while (viewer !== ctx.viewer);
  return room as string;
}

/**
 * The socket's user changed (their role): it runs as the new viewer from now on, and leaves every
 * room whose rule no longer admits it, with `room_left { room, code }`.
 */
async function reauthorizeRooms(ctx: ConnectionContext, viewer: Viewer): Promise<void> {
  ctx.viewer = viewer;
  ctx.socket.data.viewer = viewer;
  for (const room of [...ctx.socket.rooms]) {
    const target = roomTarget(room);
    if (!target || !dependsOnViewer(target)) continue;
    try {
      await checkAccess(target, viewer, ctx.services);
    } catch (err) {
      if (ctx.viewer !== viewer) return; // a newer change is being applied
      const e = toClientError(err);
      await ctx.socket.leave(room);
      ctx.socket.emit('room_left', { room, code: e.code });
    }
  }
}

/** How often each instance rewrites its sockets' sessions (their lifetime is the recovery window plus this). */
const SESSION_REFRESH_SECONDS = 30;
/** The room of sockets being replayed to (src/bridge/bridge.ts). */
const REPLAYING_ROOM = '\u0000replaying';
/** Disconnect reasons after which socket.io-client reconnects and Socket.IO persists the session. */
const RECOVERABLE = new Set(['transport error', 'transport close', 'forced close', 'ping timeout']);

/**
 * The rooms of a recovered session the socket may still be in, by the same access rule as
 * `join_room`, for the token it presents now; the others get `room_left { room, code }`. Rules that
 * do not depend on the viewer (product rooms: the product existed when it was joined) are not
 * asked again, so a reconnect storm costs no query for them.
 */
async function reauthorizedRooms(ctx: ConnectionContext, saved: string[]): Promise<string[]> {
  const v = ctx.viewer;
  const kept: string[] = v ? [rooms.user(v.id)] : [];
  for (const room of saved) {
    if (room === REPLAYING_ROOM || kept.includes(room)) continue;
    const target: AccessTarget | null = v && room === rooms.cart(v.id) ? { kind: 'cart', userId: v.id } : roomTarget(room);
    if (!target) continue;
    try {
      if (dependsOnViewer(target)) await checkAccess(target, v, ctx.services);
      kept.push(room);
    } catch (err) {
      ctx.socket.emit('room_left', { room, code: toClientError(err).code });
    }
  }
  return kept;
}

/**
 * The command's `run` for the socket's viewer now: a signed-in command of an anonymous socket is
 * UNAUTHENTICATED here (before its payload is looked at), the one place commands' `auth` is checked.
 */
function runnerFor(cmd: Command, ctx: CommandContext): (data: unknown) => Promise<unknown> {
  if (!cmd.auth) return (data) => cmd.run(ctx, data);
  const viewer = ctx.viewer;
  if (!viewer) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Sign in to do this');
  const signedIn = { ...ctx, viewer };
  return (data) => cmd.run(signedIn, data);
}

export interface SocketHandlers {
  services: Services;
  bridge: Bridge;
  /** Where sessions are kept for connection state recovery (shared by every instance with Redis). */
  sessions: SessionStore;
  commands: Record<string, Command>;
  config: AppConfig;
  logger: Logger;
  onConnect?(socket: ShopSocket): void;
  onDisconnect?(socket: ShopSocket): void;
  /** A message refused with RATE_LIMITED (metrics). */
  onRateLimited?(): void;
}

/** Wires every connection: auto-joins `user_<id>`, room commands, and the documented commands. */
export function handleConnections(io: ShopIo, h: SocketHandlers): void {
  const { log } = h.services;
  const position = () => formatEventId(log.current());
  const sessionTtl = h.config.socketRecoverySeconds + SESSION_REFRESH_SECONDS;
  const nsp = io.of('/');
  /** Per socket: where it started receiving each room's events live (null key: events for everyone). */
  const liveSince = new Map<string, Map<string | null, number>>();
  const closing = new Set<string>();
  const pending = new Set<string>();
  const pidOf = (socket: ShopSocket) => (socket as unknown as { pid?: string }).pid;
  const saveSession = (socket: ShopSocket) => {
    const pid = pidOf(socket);
    if (!pid || closing.has(socket.id) || !socket.connected) return;
    const joined = [...socket.rooms].filter((r) => r !== socket.id && r !== REPLAYING_ROOM);
    h.sessions.save(pid, { sid: socket.id, userId: socket.data.viewer?.id ?? null, rooms: joined }, sessionTtl);
  };
  // Every room change is written to the session store once per tick: a socket whose instance dies
  // comes back, on any instance, in the rooms it was in.
  const roomChanged = (room: string, id: string) => {
    const socket = nsp.sockets.get(id);
    if (!socket || room === id) return;
    liveSince.get(id)?.set(room, log.current());
    if (pending.has(id)) return;
    pending.add(id);
    queueMicrotask(() => {
      pending.delete(id);
      saveSession(socket);
    });
  };
  nsp.adapter.on('join-room', roomChanged);
  nsp.adapter.on('leave-room', (room: string, id: string) => {
    liveSince.get(id)?.delete(room);
    if (!closing.has(id)) roomChanged(room, id);
  });
  const refresh = every(SESSION_REFRESH_SECONDS * 1000, () => {
    for (const socket of nsp.sockets.values()) saveSession(socket);
  }, { what: 'socket session refresh', logger: h.logger });
  io.engine.on('close', () => void refresh.stop());

  /** A recovered socket: back in the rooms it may still be in, with every durable event it missed first. */
  const recover = async (socket: ShopSocket, ctx: ConnectionContext, state: RecoveredState) => {
    const kept = await reauthorizedRooms(ctx, state.rooms);
    if (socket.data.supportChatId && !kept.includes(rooms.support(socket.data.supportChatId))) socket.data.supportChatId = undefined;
    await h.bridge.recover(socket, kept, state.after);
    saveSession(socket);
  };

  io.on('connection', (socket) => {
    const viewer = socket.data.viewer ?? null;
    // `ctx.viewer` is the socket's user as it is now: a role change replaces it (reauthorizeRooms).
    const ctx: ConnectionContext = { socket, viewer, services: h.services, bridge: h.bridge };
    const bucket = new TokenBucket(h.config.rateLimit.points, h.config.rateLimit.windowMs);
    liveSince.set(socket.id, new Map([[null, log.current()]]));
    const recovery = socket.recovered ? (socket.data as { recovery?: RecoveredState }).recovery : undefined;
    if (recovery) {
      // Hold durable events from this instant: the replay below comes first, then they do.
      h.bridge.hold(socket);
      void recover(socket, ctx, recovery).catch((err) => {
        h.bridge.cancel(socket);
        if (err instanceof AppError && err.code === ErrorCode.RESYNC_REQUIRED) socket.emit('error', { event: 'resume', code: err.code, message: err.message });
        else h.logger.error({ err }, 'socket recovery failed');
      });
    } else if (viewer) {
      void socket.join(rooms.user(viewer.id));
      socket.emit('room_joined', { room: rooms.user(viewer.id) }, position());
      saveSession(socket);
    } else {
      saveSession(socket);
    }
    const session = socket.data.session;
    // Token expiry closes the transport only: the client reconnects by itself, through the
    // authentication middleware, with whatever token its `auth` gives it then (and recovers).
    const untrack = session
      ? h.services.sessions.track({
        userId: session.viewer.id,
        role: session.viewer.role,
        tokenId: session.tokenId,
        expiresAt: session.expiresAt,
        end: (reason) => (reason === 'token expired' ? socket.conn.close() : socket.disconnect(true)),
        refresh: (v) => reauthorizeRooms(ctx, v),
      }, session.version)
      : undefined;
    h.onConnect?.(socket);
    socket.on('disconnecting', () => closing.add(socket.id));
    socket.on('disconnect', (reason) => {
      untrack?.();
      closing.delete(socket.id);
      liveSince.delete(socket.id);
      h.bridge.cancel(socket);
      // A socket that said goodbye (or was sent away: a revoked token, a deleted account) does not
      // come back; any other keeps its session for the recovery window (Socket.IO's own
      // persistSession covers transport losses).
      const pid = pidOf(socket);
      if (pid) {
        if (reason === 'client namespace disconnect' || reason === 'server namespace disconnect') h.sessions.drop(pid);
        else if (!RECOVERABLE.has(reason)) {
          h.sessions.save(pid, { sid: socket.id, userId: viewer?.id ?? null, rooms: [] }, h.config.socketRecoverySeconds);
        }
      }
      h.onDisconnect?.(socket);
    });

    /** Runs one client message: size, rate, validation, then the service; answers ack or `error`. */
    const dispatch = (event: string, args: unknown[], run: (data: unknown) => Promise<unknown>, onError?: (e: ReturnType<typeof toClientError>, data: unknown) => void) => {
      const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as Ack) : undefined;
      const data = args[0];
      const fail = (err: unknown) => {
        const e = toClientError(err);
        if (e.code === ErrorCode.INTERNAL_SERVER_ERROR) h.logger.error({ err, event }, 'socket command failed');
        if (onError) onError(e, data);
        if (ack) ack({ ok: false, error: { code: e.code, message: e.message } });
        else if (!onError) socket.emit('error', { event, code: e.code, message: e.message });
      };
      try {
        if (!bucket.take()) {
          h.onRateLimited?.();
          throw new AppError(ErrorCode.RATE_LIMITED, 'Too many messages, slow down');
        }
        if (sizeOf(data) > MAX_COMMAND_BYTES) throw new AppError(ErrorCode.BAD_USER_INPUT, `Payload larger than ${MAX_COMMAND_BYTES} bytes`);
        const text = invalidTextError(data, 'payload');
        if (text) throw text;
      } catch (err) {
        return fail(err);
      }
      run(data).then((result) => ack?.({ ok: true, data: result ?? null }), fail);
    };

    socket.on('resume', (...args: unknown[]) => {
      // Held before anything is awaited: live events from here on come after the replay.
      h.bridge.hold(socket);
      dispatch('resume', args, async (data) => {
        let after: number;
        try {
          after = await log.resumePoint((data as { after?: unknown } | null)?.after);
        } catch (err) {
          h.bridge.cancel(socket);
          throw err;
        }
        const since = liveSince.get(socket.id);
        const current = [...socket.rooms].filter((r) => r !== socket.id && r !== REPLAYING_ROOM);
        const replayed = await h.bridge.recover(socket, current, after, (room) => since?.get(room) ?? Infinity);
        return { replayed };
      }, () => h.bridge.cancel(socket));
    });

    socket.on('join_room', (...args: unknown[]) => {
      dispatch('join_room', args, async (data) => {
        const room = await authorizeRoom(ctx, (data as { room?: unknown } | null)?.room);
        await socket.join(room);
        socket.emit('room_joined', { room }, position());
        return { room };
      }, (e, data) => {
        const room = (data as { room?: unknown } | null)?.room;
        socket.emit('room_join_error', { room: typeof room === 'string' ? room.slice(0, 100) : '', error: e.message, code: e.code });
      });
    });

    socket.on('leave_room', (...args: unknown[]) => {
      dispatch('leave_room', args, async (data) => {
        const room = (data as { room?: unknown } | null)?.room;
        if (typeof room !== 'string' || !socket.rooms.has(room) || room === socket.id) throw new AppError(ErrorCode.NOT_FOUND, 'Not in that room');
        await socket.leave(room);
        return { room };
      });
    });

    socket.on('join_cart', (...args: unknown[]) => {
      dispatch('join_cart', args, async () => {
        const viewer = ctx.viewer;
        if (!viewer) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Sign in to follow your cart');
        await checkAccess({ kind: 'cart', userId: viewer.id }, viewer, h.services);
        // The snapshot reflects at least every event delivered here before the read: resuming after
        // that position misses nothing (it may repeat a change the snapshot already shows).
        const eventId = formatEventId(log.current());
        const cart = await h.services.cart.getCart(viewer.id);
        await socket.join(rooms.cart(viewer.id));
        socket.emit('room_joined', { room: rooms.cart(viewer.id) }, position());
        socket.emit('cart_sync', h.bridge.format('cart_sync', { eventId, cart, timestamp: new Date().toISOString() }) as never, eventId);
        return { room: rooms.cart(viewer.id) };
      });
    });

    for (const [name, cmd] of Object.entries(h.commands)) {
      socket.on(name as keyof ClientToServerEvents, (...args: unknown[]) => {
        dispatch(name, args, async (data) => {
          const run = runnerFor(cmd, ctx);
          const parsed = cmd.schema.safeParse(data ?? {});
          if (!parsed.success) {
            const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; ');
            throw new AppError(ErrorCode.BAD_USER_INPUT, `Invalid ${name} payload: ${detail}`);
          }
          return run(parsed.data);
        });
      });
    }
  });
}
