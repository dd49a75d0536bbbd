import request from 'supertest';
import { codeOf, emitAck, gql, gqlOk, socketV4, wsClient } from '../support/clients';
import { makeProduct, makeUser, type TestUser } from '../support/fixtures';
import { startTestShop } from '../support/shop';

type Shop = Awaited<ReturnType<typeof startTestShop>>;
let shop: Shop;
let alice: TestUser;
let productId: string;
const closers: Array<() => unknown> = [];

beforeAll(async () => {
  shop = await startTestShop({ redis: false });
  alice = await makeUser(shop);
  productId = (await makeProduct(shop, [{ size: '9', color: 'black', stock: 10 }])).id;
});
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  await shop?.close();
});

/** `fragment F<i> on Query { ...F<i-1> ...F<i-1> }`: 2^levels spreads of F0 once expanded. */
const doublingFragments = (levels: number, bottom = '__typename') => {
  const fragments = [`fragment F0 on Query { ${bottom} }`];
  for (let i = 1; i < levels; i++) fragments.push(`fragment F${i} on Query { ...F${i - 1} ...F${i - 1} }`);
  return `query Bomb { ...F${levels - 1} } ${fragments.join(' ')}`;
};

/** Runs `work` while another client polls /healthz; the slowest health answer it saw, in ms. */
async function healthDuring<T>(work: () => Promise<T>): Promise<{ result: T; worstHealthMs: number }> {
  let done = false;
  let worst = 0;
  const poll = (async () => {
    while (!done) {
      const t = Date.now();
      const res = await request(shop.url).get('/healthz');
      expect(res.status).toBe(200);
      worst = Math.max(worst, Date.now() - t);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  await new Promise((r) => setTimeout(r, 30));
  try {
    return { result: await work(), worstHealthMs: worst };
  } finally {
    done = true;
    await poll;
  }
}

const wsRun = (query: string, variables?: Record<string, unknown>, token?: string) => {
  const c = wsClient(shop.wsUrl, token);
  closers.push(() => c.dispose());
  return new Promise<{ data?: any; errors?: any[] }>((resolve) => {
    c.subscribe({ query, variables }, {
      next: (v) => resolve(v as never),
      error: (e) => resolve({ errors: Array.isArray(e) ? e : [e] }),
      complete: () => undefined,
    });
  });
};

describe('the query limits check is linear in the document', () => {
  it('answers a 24-level doubling-fragment document at once on HTTP while /healthz keeps answering', async () => {
    const doc = doublingFragments(24);
    expect(doc.length).toBeLessThan(1000);
    const { result, worstHealthMs } = await healthDuring(() => gql(shop.url, doc));
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ __typename: 'Query' });
    // Checked in milliseconds: the event loop was never held (the exponential walk took ~19 s).
    expect(worstHealthMs).toBeLessThan(1000);
  });

  it('answers it on graphql-ws too, and another client is served meanwhile', async () => {
    const { result, worstHealthMs } = await healthDuring(() => wsRun(doublingFragments(24)));
    expect(result).toEqual({ data: { __typename: 'Query' } });
    expect(worstHealthMs).toBeLessThan(1000);
  });

  it('refuses the same shape with a costed field or an alias at the bottom, on both transports', async () => {
    const costly = doublingFragments(24, 'products(first: 1) { totalCount }');
    const http = await gql(shop.url, costly);
    expect(http.status).toBe(400);
    expect(http.errors![0].extensions).toEqual({ code: 'BAD_USER_INPUT', limit: 'cost' });
    const ws = await wsRun(costly);
    expect(ws.errors![0].extensions).toEqual({ code: 'BAD_USER_INPUT', limit: 'cost' });

    const aliased = doublingFragments(24, 'a: __typename');
    expect((await gql(shop.url, aliased)).errors![0].extensions).toEqual({ code: 'BAD_USER_INPUT', limit: 'aliases' });
    expect((await wsRun(aliased)).errors![0].extensions).toEqual({ code: 'BAD_USER_INPUT', limit: 'aliases' });
  });
});

describe('invalid text and explicit nulls are BAD_USER_INPUT', () => {
  const SEARCH = 'query($s: String) { products(filter: { search: $s }) { totalCount } }';
  const cartCount = async () => (await gqlOk(shop.url, '{ cart { itemCount } }', {}, alice.token)).cart.itemCount as number;

  it('a NUL or an unpaired surrogate in a GraphQL string, literal or variable, on HTTP and graphql-ws', async () => {
    const literal = '{ products(filter: { search: "a\\u0000" }) { totalCount } }';
    for (const r of [await gql(shop.url, literal), await gql(shop.url, SEARCH, { s: 'a\u0000' }), await gql(shop.url, SEARCH, { s: 'x\ud800y' }), await gql(shop.url, SEARCH, { s: '\udc00' })]) {
      expect(r.status).toBe(400);
      expect(codeOf(r)).toBe('BAD_USER_INPUT');
      expect(r.data).toBeUndefined();
    }
    const login = await gql(shop.url, 'mutation($e: String!) { login(email: $e, password: "whatever-123") { token } }', { e: 'a\u0000@example.test' });
    expect(codeOf(login)).toBe('BAD_USER_INPUT');
    expect((await wsRun(literal)).errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect((await wsRun(SEARCH, { s: 'a\u0000' })).errors![0].extensions.code).toBe('BAD_USER_INPUT');
    // Text outside the BMP (a surrogate pair) is ordinary text.
    expect((await gql(shop.url, SEARCH, { s: '👟' })).data).toEqual({ products: { totalCount: 0 } });
  });

  it('a NUL or an unpaired surrogate anywhere in a Socket.IO command (value or key) changes nothing', async () => {
    const s = await socketV4(shop.url, alice.token);
    closers.push(() => s.close());
    const before = await cartCount();
    for (const payload of [
      { productId, variant: { size: '9', color: 'black\u0000' } },
      { productId, variant: { size: '9', color: 'black' }, ['x\u0000']: 1 },
      { productId: `${productId}\ud800`, variant: { size: '9', color: 'black' } },
    ]) {
      const ack = await emitAck(s, 'cart_add_item', payload);
      expect(ack).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT', message: expect.any(String) } });
    }
    expect(await emitAck(s, 'product_view', { productId, category: 'a\u0000' })).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
    expect(await emitAck(s, 'join_room', { room: `product_${productId}\u0000` })).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
    expect(await cartCount()).toBe(before);
  });
});
