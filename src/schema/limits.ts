import {
  GraphQLError, Kind, getNamedType, isListType, getNullableType, visit, type DocumentNode, type GraphQLSchema,
  type FieldNode, type FragmentDefinitionNode, type GraphQLField, type SelectionSetNode, type ValidationContext,
  type ValueNode, type GraphQLCompositeType, type ASTVisitor, isCompositeType, isObjectType, isInterfaceType,
} from 'graphql';

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  /** Each field costs 1; a list field costs its `first` argument (default 10) times its selection. */
  maxCost: number;
}

type LimitName = 'depth' | 'aliases' | 'cost';

const DEFAULT_LIST_SIZE = 10;
const MAX_PAGE = 100;
/** Lists inside a connection: the connection's `first` already counted them. */
const CONNECTION_LISTS = new Set(['edges', 'nodes']);

const reject = (message: string, limit: LimitName) =>
  new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', limit } });

function intArg(node: FieldNode, name: string, variables: Record<string, unknown> | undefined): number | undefined {
  const arg = node.arguments?.find((a) => a.name.value === name);
  if (!arg) return undefined;
  const v: ValueNode = arg.value;
  if (v.kind === Kind.INT) return Number(v.value);
  if (v.kind === Kind.VARIABLE) {
    const val = variables?.[v.name.value];
    // Before the variables are known: assume the largest page.
    return typeof val === 'number' ? val : MAX_PAGE;
  }
  return undefined;
}

/** What a selection set adds up to: its cost, its depth below its owner, the aliases in it. */
interface Measure {
  cost: number;
  depth: number;
  aliases: number;
}

/** Thrown out of the walk at the first limit exceeded: nothing more needs to be looked at. */
class Exceeded {
  constructor(readonly limit: LimitName, readonly value: number) {}
}

const messages: Record<LimitName, (value: number, limits: QueryLimits) => string> = {
  depth: (v, l) => `Query is too deep: ${v} levels, at most ${l.maxDepth} allowed`,
  aliases: (v, l) => `Too many aliases: ${v}, at most ${l.maxAliases} allowed`,
  cost: (v, l) => `Query is too expensive: cost at least ${v}, budget ${l.maxCost}`,
};

/**
 * Checks every operation of a document against the depth, alias and cost limits; the first limit
 * exceeded is the answer. Linear in the document: each fragment is measured once and its measure
 * reused at every spread (a fragment spread twice per level would otherwise be walked 2^levels
 * times), and the walk stops at the first limit exceeded. A spread of a fragment that is being
 * measured (a cycle, which GraphQL's own rules refuse) or of an unknown fragment adds nothing.
 */
export function checkLimits(schema: GraphQLSchema, document: DocumentNode, limits: QueryLimits, variables?: Record<string, unknown>): GraphQLError | null {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  const measured = new Map<string, Measure>();
  const measuring = new Set<string>();

  const over = (m: Measure) => {
    if (m.depth > limits.maxDepth) throw new Exceeded('depth', m.depth);
    if (m.aliases > limits.maxAliases) throw new Exceeded('aliases', m.aliases);
    if (m.cost > limits.maxCost) throw new Exceeded('cost', m.cost);
  };

  const fragment = (name: string): Measure | undefined => {
    const known = measured.get(name);
    if (known) return known;
    const def = fragments.get(name);
    if (!def || measuring.has(name)) return undefined;
    measuring.add(name);
    const t = schema.getType(def.typeCondition.name.value);
    const m = selectionSet(def.selectionSet, t && isCompositeType(t) ? t : null);
    measuring.delete(name);
    measured.set(name, m);
    return m;
  };

  const selectionSet = (set: SelectionSetNode, type: GraphQLCompositeType | null): Measure => {
    const m: Measure = { cost: 0, depth: 0, aliases: 0 };
    for (const sel of set.selections) {
      let part: Measure | undefined;
      if (sel.kind === Kind.FIELD) {
        if (sel.alias) m.aliases++;
        const name = sel.name.value;
        if (!name.startsWith('__')) {
          let field: GraphQLField<unknown, unknown> | undefined;
          if (type && (isObjectType(type) || isInterfaceType(type))) field = type.getFields()[name];
          const fieldType = field?.type;
          const isList = fieldType ? isListType(getNullableType(fieldType)) : false;
          const named = fieldType ? getNamedType(fieldType) : null;
          const child = sel.selectionSet ? selectionSet(sel.selectionSet, named && isCompositeType(named) ? named : null) : undefined;
          const first = intArg(sel, 'first', variables);
          const multiplier = first !== undefined ? Math.max(1, first) : isList && !CONNECTION_LISTS.has(name) ? DEFAULT_LIST_SIZE : 1;
          part = { cost: 1 + multiplier * (child?.cost ?? 0), depth: 1 + (child?.depth ?? 0), aliases: child?.aliases ?? 0 };
        }
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const t = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : type;
        part = selectionSet(sel.selectionSet, t && isCompositeType(t) ? t : type);
      } else {
        part = fragment(sel.name.value);
      }
      if (part) {
        m.cost += part.cost;
        m.depth = Math.max(m.depth, part.depth);
        m.aliases += part.aliases;
      }
      // A part's depth, aliases and cost only grow on the way up: over here is over for the operation.
      over(m);
    }
    return m;
  };

  try {
    for (const def of document.definitions) {
      if (def.kind !== Kind.OPERATION_DEFINITION) continue;
      const root = def.operation === 'query' ? schema.getQueryType() : def.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
      selectionSet(def.selectionSet, root ?? null);
    }
  } catch (err) {
    if (err instanceof Exceeded) return reject(messages[err.limit](err.value, limits), err.limit);
    throw err;
  }
  return null;
}

/** The same check as a validation rule (for `validate()` next to GraphQL's own rules). */
export function limitsRule(limits: QueryLimits, variables?: Record<string, unknown>) {
  return (context: ValidationContext): ASTVisitor => {
    const error = checkLimits(context.getSchema(), context.getDocument(), limits, variables);
    if (error) context.reportError(error);
    return {};
  };
}

/**
 * The limits check of one schema and one set of limits, remembered per parsed document (Apollo and
 * the fan-out reuse the DocumentNode of a known query) and per value of the variables passed as
 * `first`, the only variables a verdict depends on. A repeated operation is then checked once.
 */
export function limitsChecker(schema: GraphQLSchema, limits: QueryLimits) {
  const pageVariables = new WeakMap<DocumentNode, string[]>();
  const verdicts = new WeakMap<DocumentNode, Map<string, readonly GraphQLError[]>>();
  return (document: DocumentNode, variables?: Record<string, unknown>): readonly GraphQLError[] => {
    let names = pageVariables.get(document);
    if (!names) {
      const found: string[] = [];
      visit(document, {
        Argument(node) {
          if (node.name.value === 'first' && node.value.kind === Kind.VARIABLE) found.push(node.value.name.value);
        },
      });
      pageVariables.set(document, (names = found));
    }
    const key = names.map((n) => (typeof variables?.[n] === 'number' ? String(variables[n]) : '-')).join(',');
    let byKey = verdicts.get(document);
    const known = byKey?.get(key);
    if (known) return known;
    const error = checkLimits(schema, document, limits, variables);
    const errors = error ? [error] : [];
    if (!byKey) verdicts.set(document, (byKey = new Map()));
    if (byKey.size >= 64) byKey.clear();
    byKey.set(key, errors);
    return errors;
  };
}
