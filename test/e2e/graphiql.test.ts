import request from 'supertest';
import { eventList } from '../../src/events/catalogue';
import { gql, gqlOk } from '../support/clients';
import { startTestShop } from '../support/shop';

type Shop = Awaited<ReturnType<typeof startTestShop>>;

/**
 * The self-hosted IDE over HTTP (the headless-browser check is `npm run test:browser`), and
 * introspection, which the IDE needs: on outside production, off when configured so.
 */
describe('GraphiQL and introspection', () => {
  let shop: Shop;
  let locked: Shop;

  beforeAll(async () => {
    shop = await startTestShop({ redis: false });
    // What NODE_ENV=production gives: no IDE, no introspection.
    locked = await startTestShop({ redis: false, databaseUrl: shop.databaseUrl, config: { ide: false, introspection: false } });
  });
  afterAll(async () => {
    await locked?.close();
    await shop?.close();
  });

  const browserGet = (url: string, path: string) =>
    request(url).get(path).set('Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8').set('Accept-Encoding', 'gzip');

  it('serves GraphiQL to a browser at GET /graphql, every asset from this server', async () => {
    const page = await browserGet(shop.url, '/graphql');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('id="graphiql"');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThanOrEqual(4);
    for (const ref of refs) expect(ref).toMatch(/^\/graphiql\//); // no CDN, works offline
    expect(page.text).not.toMatch(/https?:\/\//);

    for (const ref of refs) {
      const asset = await request(shop.url).get(ref).set('Accept-Encoding', 'gzip');
      expect(asset.status).toBe(200);
      expect(asset.headers['content-type']).toMatch(ref.endsWith('.css') ? /text\/css/ : /javascript/);
      if (!ref.endsWith('init.js')) expect(asset.headers['content-encoding']).toBe('gzip');
    }
    const init = await request(shop.url).get('/graphiql/init.js');
    expect(init.text).toContain('subscriptionUrl');
    expect(init.text).toContain('shouldPersistHeaders: false');
  });

  it('leaves API clients alone: a JSON GET without a query is not the IDE', async () => {
    const res = await request(shop.url).get('/graphql').set('Accept', 'application/json').set('Apollo-Require-Preflight', 'true');
    expect(res.headers['content-type']).not.toMatch(/text\/html/);
    expect(res.status).toBe(400);
    expect(await request(shop.url).get('/graphiql/nope.js').then((r) => r.status)).toBe(404);
  });

  it('answers introspection outside production, listing every event as a subscription field', async () => {
    const r = await gqlOk(shop.url, '{ __schema { queryType { name } mutationType { name } subscriptionType { fields { name } } } }');
    expect(r.__schema.queryType.name).toBe('Query');
    expect(r.__schema.mutationType.name).toBe('Mutation');
    const fields = (r.__schema.subscriptionType.fields as Array<{ name: string }>).map((f) => f.name).sort();
    expect(fields).toEqual(eventList.map((e) => e.field).sort());
    expect(fields).toHaveLength(24);
  });

  it('with the IDE and introspection turned off (production), serves neither', async () => {
    const page = await browserGet(locked.url, '/graphql');
    expect(page.headers['content-type'] ?? '').not.toMatch(/text\/html/);
    expect(page.text).not.toContain('id="graphiql"');
    expect((await request(locked.url).get('/graphiql/graphiql.js')).status).toBe(404);
    const r = await gql(locked.url, '{ __schema { queryType { name } } }');
    expect(r.status).toBe(400);
    expect(r.data).toBeUndefined();
    expect(r.errors![0].message).toMatch(/introspection/i);
    // Ordinary queries still work.
    expect((await gqlOk(locked.url, '{ products(first: 1) { totalCount } }')).products.totalCount).toBe(0);
  });
});
