import {
  GraphQLError, Kind, getNamedType, isListType, getNullableType, validate, visit, type DocumentNode, type GraphQLSchema,
  type ASTVisitor, type FieldNode, type FragmentDefinitionNode, type GraphQLField, type SelectionSetNode, type ValidationContext,
  type ValueNode, type GraphQLCompositeType, isCompositeType, isObjectType, isInterfaceType,
} from 'graphql';

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  /** Each field costs 1; a list field costs its `first` argument (default 10) times its selection. */
  maxCost: number;
}

const DEFAULT_LIST_SIZE = 10;
const MAX_PAGE = 100;
/** Lists inside a connection: the connection's `first` already counted them. */
const CONNECTION_LISTS = new Set(['edges', 'nodes']);

const reject = (message: string, limit: string) =>
  new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', limit } });

function intArg(node: FieldNode, name: string, variables: Record<string, unknown> | undefined): number | undefined {
  const arg = node.arguments?.find((a) => a.name.value === name);
  if (!arg) return undefined;
  const v: ValueNode = arg.value;
  if (v.kind === Kind.INT) return Number(v.value);
  if (v.kind === Kind.VARIABLE) {
    const val = variables?.[v.name.value];
    // Validation runs before variables are known: assume the largest page.
    return typeof val === 'number' ? val : MAX_PAGE;
  }
  return undefined;
}

/**
 * Depth, alias and cost limits as one validation rule: an operation over any of them is rejected
 * before it runs. Fragment cycles are already rejected by GraphQL's own rules.
 */
export function limitsRule(limits: QueryLimits, variables?: Record<string, unknown>) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) {
      if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    }
    const schema = context.getSchema();

    const walk = (set: SelectionSetNode, type: GraphQLCompositeType | null, depth: number, seen: Set<string>, acc: { depth: number; aliases: number }): number => {
      let cost = 0;
      for (const sel of set.selections) {
        if (sel.kind === Kind.FIELD) {
          if (sel.alias) acc.aliases++;
          const name = sel.name.value;
          if (name.startsWith('__')) continue;
          let field: GraphQLField<unknown, unknown> | undefined;
          if (type && (isObjectType(type) || isInterfaceType(type))) field = type.getFields()[name];
          const fieldType = field?.type;
          const isList = fieldType ? isListType(getNullableType(fieldType)) : false;
          const named = fieldType ? getNamedType(fieldType) : null;
          const d = depth + 1;
          acc.depth = Math.max(acc.depth, d);
          let childCost = 0;
          if (sel.selectionSet) childCost = walk(sel.selectionSet, named && isCompositeType(named) ? named : null, d, seen, acc);
          const first = intArg(sel, 'first', variables);
          const multiplier = first !== undefined ? Math.max(1, first) : isList && !CONNECTION_LISTS.has(name) ? DEFAULT_LIST_SIZE : 1;
          cost += 1 + multiplier * childCost;
        } else if (sel.kind === Kind.INLINE_FRAGMENT) {
          const t = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : type;
          cost += walk(sel.selectionSet, t && isCompositeType(t) ? t : type, depth, seen, acc);
        } else {
          const frag = fragments.get(sel.name.value);
          if (!frag || seen.has(frag.name.value)) continue;
          const t = schema.getType(frag.typeCondition.name.value);
          const next = new Set(seen).add(frag.name.value);
          cost += walk(frag.selectionSet, t && isCompositeType(t) ? t : type, depth, next, acc);
        }
      }
      return cost;
    };

    return {
      OperationDefinition(node) {
        const root = node.operation === 'query' ? schema.getQueryType() : node.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
        const acc = { depth: 0, aliases: 0 };
        const cost = walk(node.selectionSet, root ?? null, 0, new Set(), acc);
        if (acc.depth > limits.maxDepth) context.reportError(reject(`Query is too deep: ${acc.depth} levels, at most ${limits.maxDepth} allowed`, 'depth'));
        if (acc.aliases > limits.maxAliases) context.reportError(reject(`Too many aliases: ${acc.aliases}, at most ${limits.maxAliases} allowed`, 'aliases'));
        if (cost > limits.maxCost) context.reportError(reject(`Query is too expensive: cost ${cost}, budget ${limits.maxCost}`, 'cost'));
      },
    };
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
    const errors = validate(schema, document, [limitsRule(limits, variables)]);
    if (!byKey) verdicts.set(document, (byKey = new Map()));
    if (byKey.size >= 64) byKey.clear();
    byKey.set(key, errors);
    return errors;
  };
}
