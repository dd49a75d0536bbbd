import type { IncomingMessage } from 'node:http';
import type { Server } from 'socket.io';
import { toClientError } from '../errors';
import type { Logger } from '../logger';
import type { UserService } from '../services/user.service';

/**
 * What a signed-out client sends for "no token": nothing, an empty string, or what its language
 * made of a missing value (a v2 client puts `query: { token: null }` on the URL as the text `null`).
 */
const noToken = (v: unknown) => v == null || (typeof v === 'string' && ['', 'null', 'undefined'].includes(v.trim()));

/**
 * The token a Socket.IO client sent: the first present of `auth.token`, the Authorization header and
 * `?token=` (v2 clients); undefined (anonymous) when none is.
 */
function socketToken(handshake: { auth?: Record<string, unknown>; headers: IncomingMessage['headers']; query: Record<string, unknown> }): unknown {
  return [handshake.auth?.token, handshake.headers.authorization, handshake.query?.token].find((v) => !noToken(v));
}

/**
 * Refuses a bad token with `connect_error` (err.data.code); no token connects anonymously. Runs on
 * every (re)connection, so a client reconnecting after its token expired must bring a fresh one.
 */
export function useSocketAuth(io: Server, users: UserService, logger: Logger): void {
  io.use(async (socket, next) => {
    try {
      const session = await users.authenticateSession(socketToken(socket.handshake as never));
      socket.data.viewer = session?.viewer ?? null;
      socket.data.session = session ?? undefined;
      next();
    } catch (err) {
      const e = toClientError(err);
      if (e.code === 'INTERNAL_SERVER_ERROR') logger.error({ err }, 'socket authentication failed');
      const refusal = new Error(e.message) as Error & { data: unknown };
      refusal.data = { code: e.code, message: e.message };
      next(refusal);
    }
  });
}
