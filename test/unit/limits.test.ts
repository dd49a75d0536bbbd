import { buildSchema, getIntrospectionQuery, parse, specifiedRules, validate } from 'graphql';
import { checkLimits, limitsChecker, limitsRule } from '../../src/schema/limits';

const schema = buildSchema(`
  type Node { id: ID! child: Node children(first: Int): [Node!]! }
  type Query { node: Node nodes(first: Int): [Node!]! }
`);
const limits = { maxDepth: 12, maxAliases: 30, maxCost: 5000 };
const check = (query: string, variables?: Record<string, unknown>) =>
  validate(schema, parse(query), [...specifiedRules, limitsRule(limits, variables)]).map((e) => e.message);

/** `node { child { … id } }` with `levels` levels of fields in all. */
const nested = (levels: number) => `{ node { ${'child { '.repeat(levels - 2)}id ${'} '.repeat(levels - 2)}} }`;

describe('limitsRule', () => {
  it('allows 12 levels and rejects 13', () => {
    expect(check(nested(12))).toEqual([]);
    expect(check(nested(13))).toEqual([expect.stringMatching(/too deep: 13 levels, at most 12/)]);
  });

  it('counts depth through fragments and inline fragments', () => {
    const frag = `fragment Deep on Node { child { child { child { child { child { child { id } } } } } } }`;
    expect(check(`{ node { child { child { child { child { child { ...Deep } } } } } } } ${frag}`)).toEqual([expect.stringMatching(/too deep/)]);
    expect(check(`{ node { ... on Node { child { id } } } }`)).toEqual([]);
  });

  it('allows 30 aliases and rejects 31', () => {
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: node { id }`).join(' ')} }`;
    expect(check(aliases(30))).toEqual([]);
    expect(check(aliases(31))).toEqual([expect.stringMatching(/Too many aliases: 31/)]);
  });

  it('prices lists by their first argument (or 10) and rejects an operation over the budget', () => {
    expect(check('{ nodes(first: 100) { id children(first: 40) { id } } }')).toEqual([]);
    expect(check('{ nodes(first: 100) { id children(first: 60) { id } } }')).toEqual(['Query is too expensive: cost at least 6201, budget 5000']);
    expect(check('query($n: Int) { nodes(first: $n) { children(first: 60) { id } } }')).toEqual([expect.stringMatching(/too expensive/)]);
    expect(check('query($n: Int) { nodes(first: $n) { children(first: 60) { id } } }', { n: 10 })).toEqual([]);
  });

  it('limitsChecker remembers a verdict per document and page-size values, never across different values', () => {
    const checker = limitsChecker(schema, limits);
    const doc = parse('query($n: Int, $other: String) { nodes(first: $n) { children(first: 60) { id } } }');
    const messages = (v?: Record<string, unknown>) => checker(doc, v).map((e) => e.message);
    expect(messages({ n: 10, other: 'a' })).toEqual([]);
    expect(messages({ n: 100, other: 'a' })).toEqual([expect.stringMatching(/too expensive/)]);
    // Same page size, another unrelated variable: the remembered verdict (the same array).
    expect(checker(doc, { n: 10, other: 'b' })).toBe(checker(doc, { n: 10, other: 'c' }));
    expect(messages({ n: 10, other: 'b' })).toEqual([]);
    expect(messages({ n: 100 })).toEqual([expect.stringMatching(/too expensive/)]);
    // A missing page size is priced at the largest page.
    expect(messages({})).toEqual([expect.stringMatching(/too expensive/)]);
    // Another document with the same text is checked on its own.
    expect(checker(parse(nested(13))).map((e) => e.message)).toEqual([expect.stringMatching(/too deep/)]);
  });

  /** `fragment F<i> on Query { ...F<i-1> ...F<i-1> }`: F0 is spread 2^(levels-1) times once expanded. */
  const doubling = (levels: number, bottom: string) => {
    const fragments = [`fragment F0 on Query { ${bottom} }`];
    for (let i = 1; i < levels; i++) fragments.push(`fragment F${i} on Query { ...F${i - 1} ...F${i - 1} }`);
    return `{ ...F${levels - 1} } ${fragments.join(' ')}`;
  };

  it('measures each fragment once: a doubling chain as long as the token limit allows is checked in milliseconds', () => {
    const doc = parse(doubling(160, '__typename'), { maxTokens: 2000 });
    const checker = limitsChecker(schema, limits);
    const started = process.hrtime.bigint();
    expect(checker(doc)).toEqual([]);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(50);
    // What the expansion adds up to is still counted: 2^23 spreads of a field of cost 1, or of an alias.
    expect(check(doubling(24, 'node { id }'))).toEqual([expect.stringMatching(/too expensive: cost at least \d+, budget 5000/)]);
    expect(check(doubling(24, 'a: __typename'))).toEqual([expect.stringMatching(/Too many aliases: \d+, at most 30/)]);
  });

  it('counts a fragment at every place it is spread, at the depth of each spread', () => {
    const frag = 'fragment Four on Node { child { child { child { id } } } }';
    // 1 + 4 levels at one spread, 1 + 8 + 4 at the other: the deepest counts.
    const nest = (n: number) => `${'child { '.repeat(n)}...Four${' }'.repeat(n)}`;
    expect(check(`{ node { ...Four } nodes(first: 1) { ${nest(8)} } } ${frag}`)).toEqual(['Query is too deep: 13 levels, at most 12 allowed']);
    expect(check(`{ node { ...Four } nodes(first: 1) { ${nest(7)} } } ${frag}`)).toEqual([]);
    // Aliases inside a fragment count once per spread: 3 spreads of 10.
    const ten = Array.from({ length: 10 }, (_, i) => `a${i}: id`).join(' ');
    expect(check(`{ node { ...Ten ...Ten ...Ten } } fragment Ten on Node { ${ten} }`)).toEqual([]);
    expect(check(`{ node { ...Ten ...Ten ...Ten b: id } } fragment Ten on Node { ${ten} }`)).toEqual([expect.stringMatching(/Too many aliases: 31/)]);
    // Cost is multiplied by the list the spread sits in.
    expect(check(`{ nodes(first: 100) { ...Kids } } fragment Kids on Node { children(first: 48) { id } }`)).toEqual([]);
    expect(check(`{ nodes(first: 100) { ...Kids } } fragment Kids on Node { children(first: 49) { id } }`)).toEqual(['Query is too expensive: cost at least 5001, budget 5000']);
  });

  it('ends on fragment cycles and unknown fragments (GraphQL reports them) instead of looping', () => {
    const cyclic = parse('{ node { ...A } } fragment A on Node { child { ...B } } fragment B on Node { child { ...A } }');
    expect(checkLimits(schema, cyclic, limits)).toBeNull();
    expect(validate(schema, cyclic, specifiedRules).map((e) => e.message)).toEqual([expect.stringMatching(/Cannot spread fragment "A" within itself/)]);
    expect(checkLimits(schema, parse('{ node { ...Missing } }'), limits)).toBeNull();
  });

  it('lets the standard introspection query through (GraphiQL needs it)', () => {
    expect(check(getIntrospectionQuery())).toEqual([]);
  });
});
