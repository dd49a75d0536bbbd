import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import type { GqlContext } from '../schema/context';

/** The two response media types Apollo Server negotiates from `Accept`, in its order of preference. */
export const MEDIA_TYPES = ['application/json', 'application/graphql-response+json'] as const;
export type ResponseMediaType = (typeof MEDIA_TYPES)[number];

/**
 * POST /graphql must carry a JSON body. Authentication is a bearer token only (no cookie), so a
 * cross-site request never acts as a user; still, a `text/plain` or form POST is what a browser sends
 * cross-site without a preflight, and it is not a GraphQL-over-HTTP request: refused before Apollo.
 * GET is left to Apollo, which serves queries and answers 405 to a mutation.
 */
export function requireJsonPost(): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'POST' || req.is('application/json')) return next();
    res.status(415).json({
      errors: [{
        message: 'POST /graphql needs Content-Type: application/json (queries may also be sent as GET)',
        extensions: { code: 'BAD_REQUEST' },
      }],
    });
  };
}

/** Codes of a well-formed request that GraphQL itself refused before running it. */
const REQUEST_ERROR_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'OPERATION_RESOLUTION_FAILURE']);

/**
 * The GraphQL-over-HTTP status rule: a well-formed request refused before execution (parse,
 * validation, operation, variable or query-limit errors) is 400 for a client that accepts
 * `application/graphql-response+json`, and 200 for one that accepts `application/json`, whose
 * clients read the `errors` of a 200 response (Apollo answers 400 to both). A malformed request
 * (no query, a batch, bad JSON) stays 400 under both.
 */
export function statusByMediaTypePlugin(): ApolloServerPlugin<GqlContext> {
  return {
    async requestDidStart({ contextValue }) {
      return {
        async willSendResponse({ response }) {
          if (contextValue.responseMediaType !== 'application/json') return;
          if (response.http.status !== 400 || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          if (result.data !== undefined || !result.errors?.length) return;
          if (!result.errors.every((e) => REQUEST_ERROR_CODES.has(String(e.extensions?.code)))) return;
          response.http.status = 200;
        },
      };
    },
  };
}
