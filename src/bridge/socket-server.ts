import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import type { AppConfig } from '../config';
import { isAdmin } from '../auth/viewer';
import { AppError, ErrorCode, toClientError } from '../errors';
import { parseRoom, rooms } from '../events/rooms';
import type { Logger } from '../logger';
import type { Services } from '../services';
import { invalidTextError } from '../services/validation';
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

/** Room joins of CONTRACT §4: exact names, coded refusals, the socket stays connected. */
async function authorizeRoom(ctx: CommandContext, room: unknown): Promise<string> {
  const parsed = parseRoom(room);
  if (!parsed) throw new AppError(ErrorCode.NOT_FOUND, 'No such room');
  const v = ctx.viewer;
  switch (parsed.kind) {
    case 'admin':
      if (!v) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Sign in to join this room');
      if (!isAdmin(v)) throw new AppError(ErrorCode.FORBIDDEN, 'Admins only');
      return rooms.admin;
    case 'user':
      if (!v) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Sign in to join this room');
      if (v.id !== parsed.id) throw new AppError(ErrorCode.FORBIDDEN, 'You can only join your own user room');
      return rooms.user(parsed.id);
    case 'product':
      if (!(await ctx.services.catalog.exists(parsed.id))) throw new AppError(ErrorCode.NOT_FOUND, 'No such product');
      return rooms.product(parsed.id);
    case 'support':
      if (!v) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Sign in to join this room');
      await ctx.services.support.assertChatAccess(v, parsed.id);
      return rooms.support(parsed.id);
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
    const ctx: CommandContext = { socket, viewer, services: h.services, bridge: h.bridge };
    const bucket = new TokenBucket(h.config.rateLimit.points, h.config.rateLimit.windowMs);
    h.onConnect?.(socket);
    socket.on('disconnect', () => h.onDisconnect?.(socket));

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
        const text = invalidTextError(data, 'payload');
        if (text) throw text;
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
        if (!viewer) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Sign in to follow your cart');
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
          if (cmd.auth && !viewer) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Sign in to do this');
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
