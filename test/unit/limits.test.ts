import { buildSchema, getIntrospectionQuery, parse, specifiedRules, validate } from 'graphql';
import { limitsChecker, limitsRule } from '../../src/schema/limits';

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
    expect(check('{ nodes(first: 100) { id children(first: 60) { id } } }')).toEqual([expect.stringMatching(/too expensive: cost 6\d\d\d/)]);
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

  it('lets the standard introspection query through (GraphiQL needs it)', () => {
    expect(check(getIntrospectionQuery())).toEqual([]);
  });
});
