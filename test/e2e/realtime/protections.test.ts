import { io as ioV4 } from 'socket.io-client';
import WebSocket from 'ws';
import { codeOf, collect, emitAck, gql, recordSocket, sleep, socketV4, waitFor, wsClient } from '../../support/clients';
import { isOversizedWsMessage, withExpectedConsoleError } from '../../support/console';
import { makeUser, type TestUser } from '../../support/fixtures';
import { useShop } from '../../support/use-shop';

const { shop, track } = useShop({
  redis: false,
  config: { rateLimit: { points: 20, windowMs: 60_000 }, allowedOrigins: ['http://shop.example'] },
});
let alice: TestUser;

beforeAll(async () => {
  alice = await makeUser(shop());
});

const healthy = async () => (await gql(shop().url, '{ __typename }')).data?.__typename === 'Query';

const rawWs = (path: string, protocol?: string, headers: Record<string, string> = {}) =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${shop().port}${path}`, protocol, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    track(ws);
  });

const closed = (ws: WebSocket) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

describe('transport protections', () => {
  it('refuses a Socket.IO command payload above 64 KB with BAD_USER_INPUT and keeps the socket', async () => {
    const s = await socketV4(shop().url, alice.token);
    track(s);
    const r = await emitAck(s, 'join_room', { room: 'admin', padding: 'x'.repeat(70 * 1024) });
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
    expect(s.connected).toBe(true);
  });

  it('drops a Socket.IO client sending more than 1 MB, and nobody else', async () => {
    const bystander = await socketV4(shop().url, alice.token);
    const big = await socketV4(shop().url, alice.token);
    track(bystander);
    track(big);
    const gone = new Promise<string>((resolve) => big.once('disconnect', (reason) => resolve(reason)));
    big.emit('join_room', { room: 'x'.repeat(1_100_000) });
    expect(await gone).toMatch(/transport (close|error)/);
    expect(bystander.connected).toBe(true);
    expect((await emitAck(bystander, 'join_room', { room: `user_${alice.id}` })).ok).toBe(true);
  });

  it('rate-limits commands per socket with RATE_LIMITED', async () => {
    const s = await socketV4(shop().url, alice.token);
    track(s);
    const results = await Promise.all(Array.from({ length: 40 }, () => emitAck(s, 'join_room', { room: `user_${alice.id}` })));
    const limited = results.filter((r) => r.ok === false && r.error.code === 'RATE_LIMITED').length;
    expect(limited).toBeGreaterThanOrEqual(15);
    expect(results.filter((r) => r.ok).length).toBeLessThanOrEqual(21);
    expect(s.connected).toBe(true);
  });

  it('rate-limits graphql-ws operations per connection with RATE_LIMITED', async () => {
    const c = wsClient(shop().wsUrl, alice.token);
    track(c);
    const subs = Array.from({ length: 40 }, () => collect(c, 'subscription { flashSaleStart { saleId } }'));
    await waitFor(() => subs.filter((s) => s.errors.length > 0).length >= 15, 3000, 'rate-limited subscriptions');
    expect(JSON.stringify(subs.flatMap((s) => s.errors))).toContain('RATE_LIMITED');
    expect(await healthy()).toBe(true);
  });

  it('answers an error event when a command has no acknowledgement', async () => {
    const s = await socketV4(shop().url, alice.token);
    track(s);
    const rec = recordSocket(s);
    s.emit('leave_room', { room: 'not-joined' });
    await waitFor(() => rec.of('error').length === 1, 2000, 'error event');
    expect(rec.of('error')[0]).toMatchObject({ event: 'leave_room', code: 'NOT_FOUND', message: expect.any(String) });
  });

  it('survives malformed Socket.IO and graphql-ws packets', async () => {
    const eio = await rawWs('/socket.io/?EIO=4&transport=websocket');
    eio.send('this is not an engine.io packet');
    eio.send('42["join_room",{"room":');
    eio.send(Buffer.from([0xff, 0x00, 0x13]));
    const gws = await rawWs('/graphql', 'graphql-transport-ws');
    gws.send('{"type":"connection_init"');
    expect(await closed(gws)).toBe(4400);
    await sleep(100);
    expect(await healthy()).toBe(true);
  });

  it('closes a graphql-ws connection whose message exceeds the maximum payload', async () => {
    const gws = await rawWs('/graphql', 'graphql-transport-ws');
    const { result: code, caught } = await withExpectedConsoleError(isOversizedWsMessage, () => {
      gws.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(300 * 1024) } }));
      return closed(gws);
    });
    expect(code).toBe(1009);
    expect(caught).toHaveLength(1);
    expect(await healthy()).toBe(true);
  });

  it('refuses browsers from an origin not in ALLOWED_ORIGINS on both transports', async () => {
    await expect(rawWs('/graphql', 'graphql-transport-ws', { Origin: 'http://evil.example' })).rejects.toThrow(/403|socket hang up|Unexpected server response/);
    const ok = await rawWs('/graphql', 'graphql-transport-ws', { Origin: 'http://shop.example' });
    expect(ok.readyState).toBe(WebSocket.OPEN);
    const err = await new Promise<Error>((resolve) => {
      const s = ioV4(shop().url, { transports: ['polling'], extraHeaders: { Origin: 'http://evil.example' }, reconnection: false, forceNew: true });
      track(s);
      s.once('connect_error', resolve);
      s.once('connect', () => resolve(new Error('connected')));
    });
    expect(err.message).not.toBe('connected');
  });
});

describe('GraphQL operation limits', () => {
  it('rejects batched HTTP requests', async () => {
    const res = await fetch(`${shop().url}/graphql`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    });
    expect(res.status).toBe(400);
  });

  it('rejects more than 30 aliases and an operation over the cost budget before running it', async () => {
    const aliases = `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    const r1 = await gql(shop().url, aliases);
    expect(codeOf(r1)).toBe('BAD_USER_INPUT');
    expect(r1.errors![0].message).toMatch(/alias/i);
    const twoProductLists = `{ a: products(first: 1) { edges { node { variants { id } } } } b: products(first: 1) { edges { node { id } } } }`;
    expect((await gql(shop().url, twoProductLists)).errors).toBeUndefined();
    const r2 = await gql(shop().url, `{ products(first: 1) { edges { node { variants { id } } } } }`, undefined, undefined);
    expect(r2.errors).toBeUndefined();
    const costly = `{ ${Array.from({ length: 5 }, (_, i) => `p${i}: products(first: 100) { edges { node { variants { id size color stock sku } } } }`).join(' ')} }`;
    const r3 = await gql(shop().url, costly);
    expect(codeOf(r3)).toBe('BAD_USER_INPUT');
    expect(r3.errors![0].message).toMatch(/expensive/);
  });

  it('rejects a mutation sent as a simple cross-site form POST (CSRF prevention)', async () => {
    const res = await fetch(`${shop().url}/graphql?query=${encodeURIComponent('mutation { clearCart { id } }')}`, { method: 'GET' });
    expect(res.status).toBe(405);
    const form = await fetch(`${shop().url}/graphql`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"query":"{ __typename }"}' });
    expect(form.status).toBe(415);
  });
});
