import { parse, validate } from 'graphql';
import request from 'supertest';
import { buildShopSchema } from '../../src/schema/build-schema';
import { limitsRule } from '../../src/schema/limits';
import { codeOf, gql, gqlOk, type GqlResult } from '../support/clients';
import { makeAdmin, makeProduct, type TestUser } from '../support/fixtures';
import { startTestShop } from '../support/shop';
import { useShop } from '../support/use-shop';

/**
 * What the GraphQL endpoint refuses before running anything: too deep, too many
 * aliases, over the cost budget, too many tokens, batched requests, mutations over GET and the
 * non-JSON POSTs a browser could send cross-site without a preflight.
 */
describe('query limits and HTTP protections', () => {
  const { shop } = useShop({ redis: false });
  let admin: TestUser;

  beforeAll(async () => {
    admin = await makeAdmin(shop());
    await makeProduct(shop(), [{ size: '9', color: 'black', stock: 3 }]);
  });

  const productCount = async () => (await gqlOk(shop().url, '{ products(first: 1) { totalCount } }')).products.totalCount as number;
  const limitOf = (r: GqlResult) => r.errors?.map((e) => e.extensions?.limit).filter(Boolean);
  const createProduct = (alias: string, name: string) =>
    `${alias}: createProduct(input: { name: "${name}", brand: "B", category: "c", price: 10, variants: [{ size: "9", color: "red", stock: 1 }] }) { id }`;

  /** A selection `levels` fields deep (the schema has no cycles, so it nests unknown fields). */
  const deep = (levels: number) => {
    let q = 'id';
    for (let i = 1; i < levels; i++) q = `f${i} { ${q} }`;
    return q;
  };

  it('accepts an ordinary catalogue query', async () => {
    const r = await gqlOk(shop().url, '{ products(first: 10) { totalCount edges { cursor node { id name variants { size color stock } } } pageInfo { hasNextPage endCursor } } }');
    expect(r.products.totalCount).toBe(1);
  });

  it('rejects an operation deeper than 12 levels before it runs', async () => {
    // The schema has no cycles (its deepest path is a few levels), so a 13-level document cannot
    // be valid: it is refused before anything runs, and the limit rule itself names the depth.
    const doc = `mutation { ${createProduct('a', 'Too Deep')} b: createProduct(input: { name: "Deep", brand: "B", category: "c", price: 10, variants: [{ size: "9", color: "red", stock: 1 }] }) { ${deep(12)} } }`;
    const r = await gql(shop().url, doc, {}, admin.token);
    expect(r.status).toBe(400);
    expect(r.data).toBeUndefined();
    expect(await productCount()).toBe(1);
    const ruleErrors = validate(await buildShopSchema(), parse(doc), [limitsRule(shop().config.limits)]);
    expect(shop().config.limits.maxDepth).toBe(12);
    expect(ruleErrors.map((e) => e.message)).toEqual(['Query is too deep: 13 levels, at most 12 allowed']);
  });

  it('enforces the depth limit on valid documents (GRAPHQL_MAX_DEPTH lowered to 3), running nothing', async () => {
    const strict = await startTestShop({ redis: false, databaseUrl: shop().databaseUrl, config: { limits: { ...shop().config.limits, maxDepth: 3 } } });
    try {
      const fine = await gql(strict.url, '{ products(first: 1) { totalCount pageInfo { hasNextPage } } }');
      expect(fine.errors).toBeUndefined();
      const tooDeep = await gql(strict.url, '{ products(first: 1) { edges { node { id } } } }');
      expect(tooDeep.status).toBe(400);
      expect(tooDeep.data).toBeUndefined();
      expect(codeOf(tooDeep)).toBe('BAD_USER_INPUT');
      expect(limitOf(tooDeep)).toEqual(['depth']);
      expect(tooDeep.errors![0].message).toBe('Query is too deep: 4 levels, at most 3 allowed');
      const before = await productCount();
      const deepMutation = await gql(strict.url, `mutation { ${createProduct('a', 'Deep2').replace('{ id }', '{ id variants { id } }')} }`, {}, admin.token);
      expect(deepMutation.errors).toBeUndefined();
      const tooDeepMutation = await gql(strict.url, `mutation { addToCart(productId: "00000000-0000-4000-8000-000000000000", variant: { size: "9", color: "red" }, quantity: 1) { items { variant { size } } } ${createProduct('b', 'Deep3')} }`, {}, admin.token);
      expect(limitOf(tooDeepMutation)).toEqual(['depth']);
      expect(tooDeepMutation.data).toBeUndefined();
      expect(await productCount()).toBe(before + 1);
    } finally {
      await strict.close();
    }
  });

  it('rejects more than 30 aliases and runs none of the mutations', async () => {
    const before = await productCount();
    const aliases = Array.from({ length: 31 }, (_, i) => createProduct(`p${i}`, `Alias ${i}`)).join('\n');
    const r = await gql(shop().url, `mutation { ${aliases} }`, {}, admin.token);
    expect(r.status).toBe(400);
    expect(r.data).toBeUndefined();
    expect(limitOf(r)).toEqual(['aliases']);
    expect(r.errors![0].message).toMatch(/31.*at most 30/);
    expect(await productCount()).toBe(before);
    // 30 aliases are allowed.
    const thirty = Array.from({ length: 30 }, (_, i) => `a${i}: product(id: "00000000-0000-4000-8000-000000000000") { id }`).join('\n');
    expect((await gql(shop().url, `{ ${thirty} }`)).errors).toBeUndefined();
  });

  it('rejects a query over the cost budget, counting page sizes', async () => {
    const selection = 'edges { node { id name variants { id size color stock sku } } }';
    const ok = await gql(shop().url, `{ products(first: 10) { ${selection} } }`);
    expect(ok.errors).toBeUndefined();
    const expensive = await gql(shop().url, `{ products(first: 100) { ${selection} } }`);
    expect(expensive.status).toBe(400);
    expect(expensive.data).toBeUndefined();
    expect(limitOf(expensive)).toEqual(['cost']);
    expect(expensive.errors![0].message).toMatch(/budget 5000/);
    // A page size passed as a variable costs what it asks for.
    const q = `query($n: Int) { products(first: $n) { ${selection} } }`;
    expect((await gql(shop().url, q, { n: 10 })).errors).toBeUndefined();
    const big = await gql(shop().url, q, { n: 100 });
    expect(big.status).toBe(400);
    expect(big.data).toBeUndefined();
    expect(codeOf(big)).toBe('BAD_USER_INPUT');
    expect(limitOf(big)).toEqual(['cost']);
  });

  it('rejects a document with too many tokens before parsing it all', async () => {
    const fields = Array.from({ length: 2100 }, () => '__typename').join(' ');
    const r = await gql(shop().url, `{ ${fields} }`);
    expect(r.status).toBe(400);
    expect(r.data).toBeUndefined();
    expect(codeOf(r)).toBe('GRAPHQL_PARSE_FAILED');
    expect(r.errors![0].message).toMatch(/token/i);
  });

  it('rejects a batched request (a JSON array of operations)', async () => {
    const before = await productCount();
    const res = await request(shop().url)
      .post('/graphql')
      .set('Content-Type', 'application/json')
      .set('Authorization', `Bearer ${admin.token}`)
      .send([{ query: `mutation { ${createProduct('a', 'Batched 1')} }` }, { query: `mutation { ${createProduct('b', 'Batched 2')} }` }]);
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/batch/i);
    expect(await productCount()).toBe(before);
  });

  it('refuses a mutation over GET (with or without a preflight header) and serves a plain GET query', async () => {
    const before = await productCount();
    const mutation = `mutation { ${createProduct('a', 'Via GET')} }`;
    for (const preflight of [false, true]) {
      let get = request(shop().url).get('/graphql').query({ query: mutation })
        .set('Authorization', `Bearer ${admin.token}`).set('Accept', 'application/json');
      if (preflight) get = get.set('Apollo-Require-Preflight', 'true');
      const res = await get;
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('POST');
    }
    // A GET query needs no preflight header: a cross-site one carries no bearer token, so it reads
    // only what anyone may read (urql sends every query this way).
    const simpleGet = await request(shop().url).get('/graphql').query({ query: '{ products(first: 1) { totalCount } }' }).set('Accept', 'application/json');
    expect(simpleGet.status).toBe(200);
    expect(simpleGet.body.data.products.totalCount).toBe(before);
    expect(await productCount()).toBe(before);
  });

  it('refuses a text/plain POST (a form-like cross-site request) and runs nothing', async () => {
    const before = await productCount();
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await request(shop().url)
        .post('/graphql')
        .set('Content-Type', type)
        .set('Authorization', `Bearer ${admin.token}`)
        .send(JSON.stringify({ query: `mutation { ${createProduct('a', 'Via ' + type)} }` }));
      expect(res.status).toBe(415);
    }
    expect(await productCount()).toBe(before);
  });
});
