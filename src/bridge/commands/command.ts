import type { Socket } from 'socket.io';
import type { z } from 'zod';
import type { Viewer } from '../../auth/viewer';
import { AppError, ErrorCode } from '../../errors';
import type { Services } from '../../services';
import type { Bridge } from '../bridge';
import type { ServerToClientEvents, SocketData } from '../socket-types';

/**
 * A connected socket as handlers see it. Incoming events are typed loosely here (the dispatcher
 * validates every payload); the precise ClientToServerEvents map is derived from the commands, which
 * take this type, so using it here would be circular.
 */
export type ShopSocket = Socket<Record<string, (...args: any[]) => void>, ServerToClientEvents, Record<string, never>, SocketData>;

export interface CommandContext {
  socket: ShopSocket;
  viewer: Viewer | null;
  services: Services;
  bridge: Bridge;
}

/** A client→server command: its payload schema and the service call it makes. */
export interface Command<S extends z.ZodType = z.ZodType> {
  schema: S;
  /** Signed-in users only (UNAUTHENTICATED otherwise). */
  auth: boolean;
  run(ctx: CommandContext, data: z.output<S>): Promise<unknown>;
}

export const command = <S extends z.ZodType>(c: Command<S>): Command<S> => c;

export function requireViewer(ctx: CommandContext): Viewer {
  if (!ctx.viewer) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Sign in to do this');
  return ctx.viewer;
}
