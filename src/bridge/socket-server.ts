import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import type { AppConfig } from '../config';
import type { Viewer } from '../auth/viewer';
import { AppError, ErrorCode, toClientError } from '../errors';
import { checkAccess, dependsOnViewer, roomTarget } from '../events/access';
import { rooms } from '../events/rooms';
import type { Logger } from '../logger';
import type { Services } from '../services';
import type { Bridge } from './bridge';
import type { Command, CommandContext, ShopSocket } from './commands/command';
import { TokenBucket } from './rate-limit';
import type { Ack, ClientToServerEvents, ServerToClientEvents, SocketData } from './socket-types';

export type ShopIo = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** Command payloads above this are refused with BAD_USER_INPUT (the transport refuses > 1 MB). */
export const MAX_COMMAND_BYTES = 64 * 1024;

export function createSocketServer(httpServer: HttpServer, config: AppConfig): ShopIo {
  return new Server(httpServer, {
    path: '/socket.io/',
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

/**
 * `join_room`: the exact room names of `roomTarget`, refused with a code (the socket stays
 * connected), decided by the same `checkAccess` as the matching subscription. The check is
 * repeated if the viewer changed meanwhile, so a role change cannot slip between check and join.
 */
async function authorizeRoom(ctx: CommandContext, room: unknown): Promise<string> {
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
async function reauthorizeRooms(ctx: CommandContext, viewer: Viewer): Promise<void> {
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

export interface SocketHandlers {
  services: Services;
  bridge: Bridge;
  commands: Record<string, Command>;
  config: AppConfig;
  logger: Logger;
  onConnect?(socket: ShopSocket): void;
  onDisconnect?(socket: ShopSocket): void;
}

/** Wires every connection: auto-joins `user_<id>`, room commands, and the documented commands. */
export function handleConnections(io: ShopIo, h: SocketHandlers): void {
  io.on('connection', (socket) => {
    const viewer = socket.data.viewer ?? null;
    if (viewer) void socket.join(rooms.user(viewer.id));
    // `ctx.viewer` is the socket's user as it is now: a role change replaces it (reauthorizeRooms).
    const ctx: CommandContext = { socket, viewer, services: h.services, bridge: h.bridge };
    const bucket = new TokenBucket(h.config.rateLimit.points, h.config.rateLimit.windowMs);
    const session = socket.data.session;
    // Token expiry closes the transport only: the client reconnects by itself, through the
    // authentication middleware, with whatever token its `auth` gives it then.
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
    socket.on('disconnect', () => {
      untrack?.();
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
        if (!bucket.take()) throw new AppError(ErrorCode.RATE_LIMITED, 'Too many messages, slow down');
        if (sizeOf(data) > MAX_COMMAND_BYTES) throw new AppError(ErrorCode.BAD_USER_INPUT, `Payload larger than ${MAX_COMMAND_BYTES} bytes`);
      } catch (err) {
        return fail(err);
      }
      run(data).then((result) => ack?.({ ok: true, data: result ?? null }), fail);
    };

    socket.on('join_room', (...args: unknown[]) => {
      dispatch('join_room', args, async (data) => {
        const room = await authorizeRoom(ctx, (data as { room?: unknown } | null)?.room);
        await socket.join(room);
        socket.emit('room_joined', { room });
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
        const cart = await h.services.cart.getCart(viewer.id);
        await socket.join(rooms.cart(viewer.id));
        socket.emit('room_joined', { room: rooms.cart(viewer.id) });
        socket.emit('cart_sync', h.bridge.format('cart_sync', { cart, timestamp: new Date().toISOString() }) as never);
        return { room: rooms.cart(viewer.id) };
      });
    });

    for (const [name, cmd] of Object.entries(h.commands)) {
      socket.on(name as keyof ClientToServerEvents, (...args: unknown[]) => {
        dispatch(name, args, async (data) => {
          if (cmd.auth && !ctx.viewer) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Sign in to do this');
          const parsed = cmd.schema.safeParse(data ?? {});
          if (!parsed.success) {
            const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; ');
            throw new AppError(ErrorCode.BAD_USER_INPUT, `Invalid ${name} payload: ${detail}`);
          }
          return cmd.run(ctx, parsed.data);
        });
      });
    }
  });
}
