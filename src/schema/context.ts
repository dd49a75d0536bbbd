import type { Viewer } from '../auth/viewer';
import type { FanoutTarget } from '../http/fanout';
import type { ResponseMediaType } from '../http/graphql-http';
import type { Services } from '../services';

/** The GraphQL context, the same shape for HTTP and graphql-ws operations. */
export interface GqlContext {
  viewer: Viewer | null;
  services: Services;
  requestId: string;
  transport: 'http' | 'ws' | 'internal';
  /** HTTP only: the response media type negotiated from `Accept` (false: neither is acceptable). */
  responseMediaType?: ResponseMediaType | false;
  /** graphql-ws only: names the operation text + variables, so identical subscriptions share work. */
  operationKey?: string;
  /** graphql-ws only: the socket and operation id the fan-out engine writes to. */
  fanoutTarget?: FanoutTarget;
}
