import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type RequestHandler } from 'express';
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import type http from 'node:http';
import type { AppConfig } from '../config';
import { toClientError } from '../errors';
import type { Logger } from '../logger';
import { graphqlMetricsPlugin } from '../metrics/http';
import type { ShopMetrics } from '../metrics/shop-metrics';
import { httpSubscriptionGuard, operationCheckPlugin, type OperationCheck } from '../schema/admission';
import type { GqlContext } from '../schema/context';
import type { Services } from '../services';
import { MEDIA_TYPES, requireJsonPost, statusByMediaTypePlugin, type ResponseMediaType } from './graphql-http';
import { requestId } from './middleware';

export interface ApolloOptions {
  schema: GraphQLSchema;
  config: AppConfig;
  logger: Logger;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  checkOperation: OperationCheck;
  httpServer: http.Server;
  /** Called when Apollo drains (its stop), after the HTTP server stopped accepting: closes the graphql-ws sockets. */
  onDrain: () => Promise<void>;
  metrics?: ShopMetrics;
}

/** Apollo Server for GraphQL over HTTP, with the shop's admission rules, status rules and metrics. */
export function createApolloServer(o: ApolloOptions): ApolloServer<GqlContext> {
  const subscriptionGuard = httpSubscriptionGuard();
  return new ApolloServer<GqlContext>({
    schema: o.schema,
    validationRules: [subscriptionGuard.rule],
    introspection: o.config.introspection,
    allowBatchedHttpRequests: false,
    // GET is served for queries (urql's default) and never runs a mutation; authentication is a
    // bearer token, never a cookie, so a cross-site GET acts as nobody. Non-JSON POSTs are refused
    // by requireJsonPost (src/http/graphql-http.ts).
    csrfPrevention: false,
    // main.ts handles SIGTERM/SIGINT; Apollo's own handlers would race it.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    formatError: o.formatError,
    parseOptions: { maxTokens: o.config.limits.maxTokens },
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: o.httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      statusByMediaTypePlugin(),
      subscriptionGuard.plugin,
      ...(o.metrics ? [graphqlMetricsPlugin(o.metrics)] : []),
      { async serverWillStart() { return { async drainServer() { await o.onDrain(); } }; } },
      operationCheckPlugin(o.checkOperation),
    ],
    logger: { debug: () => undefined, info: () => undefined, warn: (m) => o.logger.warn(m), error: (m) => o.logger.error(m) },
  });
}

/**
 * `/graphql` over HTTP: JSON POSTs (or GETs) into Apollo, each with the caller's session. A present
 * but bad token is refused (401), never treated as anonymous.
 */
export function graphqlOverHttp(apollo: ApolloServer<GqlContext>, services: Services): RequestHandler[] {
  return [
    requireJsonPost(),
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        let session;
        try {
          session = await services.users.authenticateSession(req.headers.authorization);
        } catch (err) {
          const e = toClientError(err);
          throw new GraphQLError(e.message, { extensions: { code: e.code, http: { status: e.code === 'UNAUTHENTICATED' ? 401 : 500 } } });
        }
        return {
          viewer: session?.viewer ?? null,
          token: session ? { id: session.tokenId, expiresAt: session.expiresAt } : undefined,
          services, requestId: requestId(req), transport: 'http' as const,
          responseMediaType: req.accepts([...MEDIA_TYPES]) as ResponseMediaType | false,
        };
      },
    }),
  ];
}
