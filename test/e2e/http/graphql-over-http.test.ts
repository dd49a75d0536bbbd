import { serverAudits } from 'graphql-http';
import request from 'supertest';
import { useShop } from '../../support/use-shop';

const { shop } = useShop({ redis: false });

/**
 * graphql-http's GraphQL-over-HTTP audit against the running server: one test per audit, so a
 * failing one names itself. Every MUST and SHOULD must pass; the MAY audits are optional and not run.
 */
describe('GraphQL over HTTP (graphql-http audit)', () => {
  const audits = serverAudits({ url: () => `${shop().url}/graphql` });

  it('runs the whole audit (dozens of checks)', () => {
    expect(audits.length).toBeGreaterThan(50);
  });

  for (const audit of audits.filter((a) => !a.name.startsWith('MAY'))) {
    it(`${audit.id}: ${audit.name}`, async () => {
      const result = await audit.fn();
      if (result.status !== 'ok') {
        const detail = 'response' in result ? `${result.response.status} ${await result.response.clone().text().catch(() => '')}` : '';
        throw new Error(`${result.status}: ${result.reason} ${detail}`);
      }
    });
  }
});

describe('status codes by response media type', () => {
  const refusals: Array<[string, string, string]> = [
    ['a parse error', '{', 'GRAPHQL_PARSE_FAILED'],
    ['a validation error', '{ noSuchField }', 'GRAPHQL_VALIDATION_FAILED'],
    ['a query-limit refusal', `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ')} }`, 'BAD_USER_INPUT'],
  ];
  for (const [what, query, code] of refusals) {
    it(`answers ${what} 200 under application/json and 400 under application/graphql-response+json`, async () => {
      const json = await request(shop().url).post('/graphql').set('Accept', 'application/json').send({ query });
      expect(json.status).toBe(200);
      expect(json.headers['content-type']).toMatch(/^application\/json/);
      expect(json.body.data).toBeUndefined();
      expect(json.body.errors[0].extensions.code).toBe(code);
      const modern = await request(shop().url).post('/graphql').set('Accept', 'application/graphql-response+json').send({ query });
      expect(modern.status).toBe(400);
      expect(modern.headers['content-type']).toMatch(/^application\/graphql-response\+json/);
      expect(JSON.parse(modern.text).errors[0].extensions.code).toBe(code);
    });
  }

  it('keeps a variable coercion error 200 under application/json, 400 under the GraphQL media type', async () => {
    const body = { query: 'query($n: Int) { products(first: $n) { totalCount } }', variables: { n: 'ten' } };
    expect((await request(shop().url).post('/graphql').set('Accept', 'application/json').send(body)).status).toBe(200);
    expect((await request(shop().url).post('/graphql').set('Accept', 'application/graphql-response+json').send(body)).status).toBe(400);
  });

  it('serves a GET query with no content type and no preflight header; refuses a GET mutation with 405', async () => {
    const get = await request(shop().url).get('/graphql').query({ query: '{ products(first: 1) { totalCount } }' }).set('Accept', 'application/graphql-response+json, application/json');
    expect(get.status).toBe(200);
    expect(JSON.parse(get.text).data.products.totalCount).toBe(0);
    const mutation = await request(shop().url).get('/graphql').query({ query: 'mutation { clearCart { id } }' }).set('Accept', 'application/json');
    expect(mutation.status).toBe(405);
  });

  it('refuses a text/plain POST with 415 and says why', async () => {
    const res = await request(shop().url).post('/graphql').set('Content-Type', 'text/plain').send('{"query":"{ __typename }"}');
    expect(res.status).toBe(415);
    expect(res.body.errors[0].message).toMatch(/application\/json/);
  });
});
