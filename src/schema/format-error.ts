import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { AppError, ErrorCode, errorMessages } from '../errors';
import type { Logger } from '../logger';

const GRAPHQL_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST', 'PERSISTED_QUERY_NOT_FOUND', 'OPERATION_RESOLUTION_FAILURE']);

/** An error GraphQL raised itself, possibly around another of its own, with nothing else inside. */
const raisedByGraphql = (e: unknown): boolean => e instanceof GraphQLError && (e.originalError == null || raisedByGraphql(e.originalError));

/**
 * Maps any error to what a client may see: AppErrors keep their code and message; type-graphql
 * argument validation and GraphQL's own input coercion become BAD_USER_INPUT; anything else is
 * logged and masked as INTERNAL_SERVER_ERROR (no stack, no SQL).
 */
export function makeFormatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = error instanceof GraphQLError ? error.originalError ?? null : (error as Error | null);
    const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };
    if (original instanceof AppError) {
      return { ...base, message: original.message, extensions: { code: original.code, ...(original.details ?? {}) } };
    }
    const inner = (original as { originalError?: unknown } | null)?.originalError;
    if (inner instanceof AppError) {
      return { ...base, message: inner.message, extensions: { code: inner.code, ...(inner.details ?? {}) } };
    }
    const code = formatted.extensions?.code as string | undefined;
    if (formatted.extensions?.limit) {
      // Depth, alias and cost limits: the same code on HTTP and graphql-ws.
      return { ...base, extensions: { code: ErrorCode.BAD_USER_INPUT, limit: formatted.extensions.limit } };
    }
    if (code === ErrorCode.BAD_USER_INPUT || code === 'ARGUMENT_VALIDATION_ERROR') {
      const fields = formatted.extensions?.fields;
      return { ...base, extensions: { code: ErrorCode.BAD_USER_INPUT, ...(Array.isArray(fields) ? { fields } : {}) } };
    }
    if (code && (GRAPHQL_CODES.has(code) || code in ErrorCode) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
      return { ...base, extensions: { code } };
    }
    if (error instanceof GraphQLError && raisedByGraphql(error) && !formatted.path) {
      // GraphQL's own refusals of the request before any field runs are the client's, whatever code
      // Apollo gave them: a variable a scalar refuses (wrapped around the scalar's error), a null
      // for a directive's non-null argument.
      return { ...base, extensions: { code: ErrorCode.BAD_USER_INPUT } };
    }
    if (!original && error instanceof GraphQLError) {
      // Errors GraphQL raises itself (bad variables, unknown fields at execution) are the client's.
      return { ...base, extensions: { code: code ?? ErrorCode.BAD_USER_INPUT } };
    }
    logger.error({ err: original ?? error }, 'unexpected error in GraphQL operation');
    return {
      message: errorMessages.INTERNAL_SERVER_ERROR,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}
