import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, Kind, parse, specifiedRules, validate, visit, type DocumentNode, type GraphQLSchema, type ValidationRule } from 'graphql';
import { ErrorCode } from '../errors';
import { INVALID_TEXT_MESSAGE, invalidTextError, isValidText } from '../services/validation';
import { limitsChecker, type QueryLimits } from './limits';

/** Checks an operation (its parsed, valid document and its variables) before it runs. */
export type OperationCheck = (document: DocumentNode, variables?: Record<string, unknown>) => readonly GraphQLError[];

/** A string literal in the document (an argument, a default value) that is not valid text. */
function invalidLiteral(document: DocumentNode): GraphQLError | null {
  let found: GraphQLError | null = null;
  visit(document, {
    StringValue(node) {
      if (found || isValidText(node.value)) return;
      found = new GraphQLError(`Invalid string in the query: ${INVALID_TEXT_MESSAGE}`, {
        nodes: node,
        extensions: { code: ErrorCode.BAD_USER_INPUT, fields: [{ path: 'query', message: INVALID_TEXT_MESSAGE }] },
      });
    },
  });
  return found;
}

/**
 * What every GraphQL operation passes before anything runs, on HTTP and graphql-ws alike: every
 * string it carries is valid text (the rule of services/validation.ts), then the depth, alias and
 * cost limits. The document's part of the verdict is remembered per parsed document.
 */
export function operationCheck(schema: GraphQLSchema, limits: QueryLimits): OperationCheck {
  const checkLimits = limitsChecker(schema, limits);
  const literals = new WeakMap<DocumentNode, GraphQLError | null>();
  return (document, variables) => {
    let literal = literals.get(document);
    if (literal === undefined) literals.set(document, (literal = invalidLiteral(document)));
    if (literal) return [literal];
    const text = invalidTextError(variables, 'variables');
    if (text) return [new GraphQLError(text.message, { extensions: { code: text.code, ...text.details } })];
    return checkLimits(document, variables);
  };
}

/**
 * Runs `check` over HTTP operations once their variables are known (a page size passed as a variable
 * is priced at its value): a refused operation is answered 400 before anything runs.
 */
export function operationCheckPlugin(check: OperationCheck): ApolloServerPlugin<any> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request }) {
          const errors = check(document, request.variables ?? undefined);
          if (errors.length) {
            throw new GraphQLError(errors[0].message, { nodes: errors[0].nodes, extensions: { ...errors[0].extensions, http: { status: 400 } } });
          }
        },
      };
    },
  };
}

/**
 * `validate()` that reports what graphql-js throws instead of reporting: its single-root-field rule
 * for subscriptions evaluates `@skip`/`@include` while validating, and an `if` that is not a Boolean
 * literal or a variable without a value (there are no values yet) throws out of `validate`.
 */
export function validateDocument(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[] {
  try {
    return validate(schema, document, specifiedRules);
  } catch (err) {
    if (err instanceof GraphQLError) return [err];
    throw err;
  }
}

const SUBSCRIPTION_OVER_HTTP = 'Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql, not over HTTP';

/**
 * HTTP serves no subscriptions (graphql-ws on the same path does). Apollo would run a subscription
 * document as a query (INTERNAL_SERVER_ERROR from the subscription field) or, through the throw
 * `validateDocument` describes, answer 500 before that. Apollo's validation offers no hook to catch
 * it, so before validation a document with a subscription operation is swapped for a stand-in whose
 * only validation error says where subscriptions are served: 400 GRAPHQL_VALIDATION_FAILED.
 */
export function httpSubscriptionGuard(): { plugin: ApolloServerPlugin<any>; rule: ValidationRule } {
  const refusals = new WeakMap<DocumentNode, GraphQLError>();
  return {
    plugin: {
      async requestDidStart() {
        return {
          async validationDidStart(ctx) {
            const subscription = ctx.document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === 'subscription');
            if (!subscription) return;
            const standIn = parse('{ __typename }');
            refusals.set(standIn, new GraphQLError(SUBSCRIPTION_OVER_HTTP, { nodes: subscription }));
            (ctx as { document: DocumentNode }).document = standIn;
          },
        };
      },
    },
    rule: (context) => {
      const refusal = refusals.get(context.getDocument());
      if (refusal) context.reportError(refusal);
      return {};
    },
  };
}
