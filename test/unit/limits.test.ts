import { buildSchema, getIntrospectionQuery, parse, specifiedRules, validate } from 'graphql';
import { limitsRule } from '../../src/schema/limits';

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

  it('lets the standard introspection query through (GraphiQL needs it)', () => {
    expect(check(getIntrospectionQuery())).toEqual([]);
  });
});
