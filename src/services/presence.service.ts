import type { Viewer } from '../auth/viewer';
import type { ServiceDeps } from './context';

export type ConnectionKind = 'socket' | 'graphql-ws';

/** Connections and presence across instances. (Being implemented: issue 4.) */
export class PresenceService {
  constructor(private deps: ServiceDeps) {}

  /** A Socket.IO or graphql-ws connection opened on this instance. */
  connected(_connectionId: string, _kind: ConnectionKind, _viewer: Viewer | null): void {}

  /** That connection closed. */
  disconnected(_connectionId: string, _kind: ConnectionKind, _viewer: Viewer | null): void {}

  async start(): Promise<void> {}

  async stop(): Promise<void> {}
}
