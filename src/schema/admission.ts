import { GraphQLError, visit, type DocumentNode, type GraphQLSchema } from 'graphql';
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
