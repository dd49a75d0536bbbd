import net from 'node:net';
import request from 'supertest';
import ioV2 from 'socket.io-client-v2';
import { codeOf, emitAck, gql, gqlOk, socketV4, wsClient } from '../support/clients';
import { makeProduct, makeUser, type TestUser } from '../support/fixtures';
import { startTestShop } from '../support/shop';
import { useShop } from '../support/use-shop';

const { shop, track } = useShop({ redis: false });
let alice: TestUser;
let productId: string;

beforeAll(async () => {
  alice = await makeUser(shop());
  productId = (await makeProduct(shop(), [{ size: '9', color: 'black', stock: 10 }])).id;
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
      const res = await request(shop().url).get('/healthz');
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
  const c = wsClient(shop().wsUrl, token);
  track(c);
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
    const { result, worstHealthMs } = await healthDuring(() => gql(shop().url, doc));
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
    const http = await gql(shop().url, costly);
    expect(http.status).toBe(400);
    expect(http.errors![0].extensions).toEqual({ code: 'BAD_USER_INPUT', limit: 'cost' });
    const ws = await wsRun(costly);
    expect(ws.errors![0].extensions).toEqual({ code: 'BAD_USER_INPUT', limit: 'cost' });

    const aliased = doublingFragments(24, 'a: __typename');
    expect((await gql(shop().url, aliased)).errors![0].extensions).toEqual({ code: 'BAD_USER_INPUT', limit: 'aliases' });
    expect((await wsRun(aliased)).errors![0].extensions).toEqual({ code: 'BAD_USER_INPUT', limit: 'aliases' });
  });
});

describe('every HTTP error is JSON with a code', () => {
  /** A GraphQL-shaped JSON error with this code and nothing of the server's insides. */
  const expectCodedJson = (res: { status: number; headers: Record<string, string>; text: string }, status: number, code: string) => {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(res.text);
    expect(body).toEqual({ errors: [{ message: expect.any(String), extensions: { code } }] });
    expect(res.text).not.toMatch(/<html|<pre|\bat [\w.]+ \(|node_modules|\/work\/|\.ts:\d/i);
  };

  const probe = async (url: string) => {
    expectCodedJson(await request(url).post('/graphql').set('Content-Type', 'application/json').send('{"query": "{ __typename ', ), 400, 'BAD_REQUEST');
    const big = JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(1_100_000) } });
    expectCodedJson(await request(url).post('/graphql').set('Content-Type', 'application/json').send(big), 413, 'BAD_REQUEST');
    expectCodedJson(await request(url).get('/no/such/route'), 404, 'NOT_FOUND');
    expectCodedJson(await request(url).post('/healthz/x').send({}), 404, 'NOT_FOUND');
    expectCodedJson(await request(url).post('/graphql').set('Content-Type', 'application/json').set('Content-Encoding', 'bogus').send('{}'), 415, 'BAD_REQUEST');
    // A form or text POST (what a cross-site page can send without a preflight) is not GraphQL here.
    expectCodedJson(await request(url).post('/graphql').set('Content-Type', 'text/plain').send('{"query":"{ __typename }"}'), 415, 'BAD_REQUEST');
  };

  it('in test mode: malformed JSON 400, oversized body 413, unknown route 404, bad encoding 415, non-JSON POST 415', async () => {
    await probe(shop().url);
  });

  it.each([['production'], ['development']])('the same with NODE_ENV=%s', async (nodeEnv) => {
    const other = await startTestShop({
      redis: false, databaseUrl: shop().databaseUrl,
      config: { nodeEnv, production: nodeEnv === 'production', ide: nodeEnv !== 'production', introspection: nodeEnv !== 'production' },
    });
    try {
      await probe(other.url);
    } finally {
      await other.close();
    }
  });

  it('answers a request Node cannot parse, and a refused WebSocket handshake, with JSON', async () => {
    const raw = (text: string) => new Promise<string>((resolve, reject) => {
      const sock = net.connect(shop().port, '127.0.0.1', () => sock.write(text));
      let got = '';
      sock.on('data', (d) => (got += d));
      sock.on('end', () => resolve(got));
      sock.on('error', reject);
    });
    const bad = await raw('GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
    expect(bad).toMatch(/^HTTP\/1\.1 400/);
    expect(bad).toMatch(/Content-Type: application\/json/);
    expect(JSON.parse(bad.split('\r\n\r\n')[1]).errors[0].extensions.code).toBe('BAD_REQUEST');
    const handshake = await raw('GET /graphql HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n');
    expect(handshake).toMatch(/^HTTP\/1\.1 400/);
    expect(JSON.parse(handshake.split('\r\n\r\n')[1]).errors[0].extensions.code).toBe('BAD_REQUEST');
  });
});

describe('invalid text and explicit nulls are BAD_USER_INPUT', () => {
  const SEARCH = 'query($s: String) { products(filter: { search: $s }) { totalCount } }';
  const cartCount = async () => (await gqlOk(shop().url, '{ cart { itemCount } }', {}, alice.token)).cart.itemCount as number;

  it('a NUL or an unpaired surrogate in a GraphQL string, literal or variable, on HTTP and graphql-ws', async () => {
    const literal = '{ products(filter: { search: "a\\u0000" }) { totalCount } }';
    for (const r of [await gql(shop().url, literal), await gql(shop().url, SEARCH, { s: 'a\u0000' }), await gql(shop().url, SEARCH, { s: 'x\ud800y' }), await gql(shop().url, SEARCH, { s: '\udc00' })]) {
      expect(r.status).toBe(400);
      expect(codeOf(r)).toBe('BAD_USER_INPUT');
      expect(r.data).toBeUndefined();
    }
    const login = await gql(shop().url, 'mutation($e: String!) { login(email: $e, password: "whatever-123") { token } }', { e: 'a\u0000@example.test' });
    expect(codeOf(login)).toBe('BAD_USER_INPUT');
    expect((await wsRun(literal)).errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect((await wsRun(SEARCH, { s: 'a\u0000' })).errors![0].extensions.code).toBe('BAD_USER_INPUT');
    // Text outside the BMP (a surrogate pair) is ordinary text.
    expect((await gql(shop().url, SEARCH, { s: '👟' })).data).toEqual({ products: { totalCount: 0 } });
  });

  it('a NUL or an unpaired surrogate anywhere in a Socket.IO command (value or key) changes nothing', async () => {
    const s = await socketV4(shop().url, alice.token);
    track(s);
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

  it('cart_add_item with quantity null (what JSON makes of Infinity and NaN) is refused; omitted adds one', async () => {
    const s = await socketV4(shop().url, alice.token);
    track(s);
    await gqlOk(shop().url, 'mutation { clearCart { itemCount } }', {}, alice.token);
    const variant = { size: '9', color: 'black' };
    for (const quantity of [null, Infinity, NaN]) {
      expect(await emitAck(s, 'cart_add_item', { productId, variant, quantity })).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
    }
    expect(await cartCount()).toBe(0);
    const add = `mutation($q: Int) { addToCart(productId: "${productId}", variant: { size: "9", color: "black" }, quantity: $q) { itemCount } }`;
    expect(codeOf(await gql(shop().url, add, { q: null }, alice.token))).toBe('BAD_USER_INPUT');
    expect(await cartCount()).toBe(0);
    expect(await emitAck(s, 'cart_add_item', { productId, variant })).toMatchObject({ ok: true });
    expect((await gqlOk(shop().url, add, {}, alice.token)).addToCart.itemCount).toBe(2);
    expect(await emitAck(s, 'product_view', { productId, duration: null })).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
  });
});

describe('subscription documents', () => {
  const SUB = 'subscription($b: Boolean!) { inventoryUpdate @include(if: $b) { productId } }';

  it('over HTTP are refused with a coded 400, including ones graphql-js throws on while validating', async () => {
    for (const query of ['subscription { inventoryUpdate { productId } }', SUB, 'subscription { inventoryUpdate @skip(if: "x") { productId } }']) {
      const r = await gql(shop().url, query, { b: true });
      expect(r.status).toBe(400);
      expect(r.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/WebSocket/), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })]);
    }
  });

  it('over graphql-ws: one graphql-js throws on is refused with a coded error and the connection stays open', async () => {
    const c = wsClient(shop().wsUrl);
    track(c);
    let closed = false;
    c.on('closed', () => (closed = true));
    const refused = await new Promise<any>((resolve) => c.subscribe({ query: SUB, variables: { b: true } }, { next: resolve, error: resolve, complete: () => undefined }));
    expect(refused).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } })]);
    const next = await new Promise<any>((resolve) => c.subscribe({ query: '{ __typename }' }, { next: resolve, error: resolve, complete: () => undefined }));
    expect(next).toEqual({ data: { __typename: 'Query' } });
    expect(closed).toBe(false);
  });
});

describe("values GraphQL itself refuses before any field runs are the client's", () => {
  it('a null for @include(if:) through a variable with a default, on HTTP', async () => {
    const r = await gql(shop().url, 'query($b: Boolean = true) { ... @include(if: $b) { __typename } }', { b: null });
    expect(r.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/must not be null/), extensions: { code: 'BAD_USER_INPUT' } })]);
  });

  it('a variable of the wrong type, on graphql-ws as on HTTP', async () => {
    const q = 'query($n: Int) { products(first: $n) { totalCount } }';
    expect(codeOf(await gql(shop().url, q, { n: 'ten' }))).toBe('BAD_USER_INPUT');
    expect((await wsRun(q, { n: 'ten' })).errors).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } })]);
  });
});

describe('a signed-out client that sends an empty or "null" token is anonymous', () => {
  const v2Connect = (query: Record<string, unknown>) => new Promise<ReturnType<typeof ioV2>>((resolve, reject) => {
    const s = ioV2(shop().url, { transports: ['websocket'], query, reconnection: false, forceNew: true });
    track(s);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
    s.once('connect_error', reject);
  });

  it.each([
    ['token: null', { token: null }],
    ['token: "null"', { token: 'null' }],
    ['token: undefined', { token: undefined }],
    ['token: "undefined"', { token: 'undefined' }],
    ['token: ""', { token: '' }],
  ])('a v2 client with query %s connects anonymously', async (_w, query) => {
    const s = await v2Connect(query);
    const joined = await new Promise<any>((resolve) => s.emit('join_room', { room: 'admin' }, resolve));
    expect(joined).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    const view = await new Promise<any>((resolve) => s.emit('product_view', { productId }, resolve));
    expect(view).toMatchObject({ ok: true, data: { userId: null } });
  });

  it('a v4 client with an empty auth.token is anonymous; an empty auth.token does not hide the Authorization header', async () => {
    const anon = await socketV4(shop().url, undefined, { auth: { token: '' } });
    track(anon);
    expect(await emitAck(anon, 'join_room', { room: `user_${alice.id}` })).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    const signed = await socketV4(shop().url, undefined, { auth: { token: '' }, extraHeaders: { Authorization: `Bearer ${alice.token}` } });
    track(signed);
    expect(await emitAck(signed, 'join_room', { room: `user_${alice.id}` })).toMatchObject({ ok: true });
  });
});
