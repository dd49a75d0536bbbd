import type { Viewer } from '../auth/viewer';
import type { FanoutTarget } from '../http/fanout';
import type { Services } from '../services';

/** The GraphQL context, the same shape for HTTP and graphql-ws operations. */
export interface GqlContext {
  viewer: Viewer | null;
  services: Services;
  requestId: string;
  transport: 'http' | 'ws' | 'internal';
  /** graphql-ws only: the operation's text and name, so identical subscriptions share work. */
  operation?: { name?: string | null; text: string };
  /** graphql-ws only: `connectionParams.lastEventId`, the `after` of durable subscriptions that give none. */
  lastEventId?: string;
  /** graphql-ws only: the socket and operation id the fan-out engine writes to. */
  fanoutTarget?: FanoutTarget;
}
