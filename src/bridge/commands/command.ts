import type { Socket } from 'socket.io';
import type { z } from 'zod';
import type { Viewer } from '../../auth/viewer';
import { AppError, ErrorCode } from '../../errors';
import type { Services } from '../../services';
import type { Bridge } from '../bridge';
import type { ClientToServerEvents, ServerToClientEvents, SocketData } from '../socket-types';

export type ShopSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

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
