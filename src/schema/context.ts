import type { Viewer } from '../auth/viewer';
import type { ResponseMediaType } from '../http/graphql-http';
import type { Services } from '../services';

/** The GraphQL context, the same shape for HTTP and graphql-ws operations. */
export interface GqlContext {
  viewer: Viewer | null;
  services: Services;
  requestId: string;
  transport: 'http' | 'ws' | 'internal';
  /** graphql-ws only: `connectionParams.lastEventId`, the `after` of durable subscriptions that give none. */
  lastEventId?: string;
  /** The token the caller presented (signed-in callers): what `logout` revokes. */
  token?: { id: string; expiresAt: number };
  /** HTTP only: the response media type negotiated from `Accept` (false: neither is acceptable). */
  responseMediaType?: ResponseMediaType | false;
}
