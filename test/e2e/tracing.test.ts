import { createServer, type Server } from 'node:http';
import { gqlOk, waitFor } from '../support/clients';
import { exitWithin } from '../support/process';
import { useShopProcesses } from '../support/use-shop';
import { tracingWanted } from '../../src/tracing';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { io as ioV4, type Socket } from 'socket.io-client';

/**
 * OpenTelemetry tracing, as an operator turns it on: two real processes with the standard
 * `OTEL_EXPORTER_OTLP_ENDPOINT`, exporting to a real OTLP/HTTP receiver started here. One mutation's
 * trace holds its HTTP, GraphQL and PostgreSQL spans, the publish of its events, and their delivery
 * on each instance (with the Socket.IO emit inside); Redis spans are exported too. Disabled by the
 * standard variables, nothing is exported.
 */
const SECRET = 'tracing-test-secret-0123456789-0123456789-abcdef';
const ADMIN = { email: 'trace-admin@example.test', password: 'trace-admin-password' };
const ADJUST = 'mutation AdjustForTrace($id: ID!) { adjustStock(productId: $id, variant: { size: "9", color: "black" }, delta: -1) { id } }';

interface Span { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; scope: string; instance: string; attributes: Record<string, unknown> }

let receiver: Server;
let endpoint: string;
const spans: Span[] = [];
let exports = 0;
const shop = useShopProcesses({
  JWT_SECRET: SECRET, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password,
  OTEL_SERVICE_NAME: 'shoe-store-test', OTEL_BSP_SCHEDULE_DELAY: '200',
});

const value = (v: any): unknown => v?.stringValue ?? v?.intValue ?? v?.boolValue ?? v?.doubleValue;
const attrs = (list: any[] = []) => Object.fromEntries(list.map((a) => [a.key, value(a.value)]));
/** OTLP/JSON ids are hex; accept base64 too. */
const hex = (id: string | undefined) => (!id ? undefined : /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex'));

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        exports++;
        const doc = JSON.parse(body);
        for (const rs of doc.resourceSpans ?? []) {
          const instance = String(attrs(rs.resource?.attributes)['service.instance.id']);
          for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) {
            spans.push({ traceId: hex(s.traceId)!, spanId: hex(s.spanId)!, parentSpanId: hex(s.parentSpanId) || undefined, name: s.name, kind: s.kind, scope: ss.scope?.name ?? '', instance, attributes: attrs(s.attributes) });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
});
afterAll(() => new Promise((r) => receiver.close(r)));

/** An instance named `instance` in its spans' resource (`service.instance.id`). */
const launch = (instance: string, env: Record<string, string>) =>
  shop.launch({ OTEL_RESOURCE_ATTRIBUTES: `service.instance.id=${instance}`, ...env });

it('one trace links a mutation to the publish of its events and to their delivery on each instance', async () => {
  const a = await launch('a', { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
  const b = await launch('b', { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
  const { login } = await gqlOk(a.url, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: ADMIN.email, p: ADMIN.password });
  const { createProduct } = await gqlOk(a.url, 'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }', {
    input: { name: 'Traced runner', brand: 'T', category: 'running', price: 100, variants: [{ size: '9', color: 'black', stock: 100 }] },
  }, login.token);
  const productId = createProduct.id as string;

  // A graphql-ws subscriber on B and a Socket.IO client in the product's room on A.
  const received: string[] = [];
  const ws: WsClient = createClient({ url: b.wsUrl, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 });
  shop.track(ws);
  ws.subscribe({ query: 'subscription($id: ID!) { productStockUpdate(productId: $id) { eventId } }', variables: { id: productId } },
    { next: (r: any) => received.push(`ws ${r.data?.productStockUpdate?.eventId}`), error: () => undefined, complete: () => undefined });
  const sio: Socket = ioV4(a.url, { transports: ['websocket'] });
  shop.track(sio);
  sio.on('product_stock_update', (d: { eventId: string }) => received.push(`sio ${d.eventId}`));
  await new Promise<void>((resolve, reject) => sio.emit('join_room', { room: `product_${productId}` }, (ack: any) => (ack?.ok ? resolve() : reject(new Error(JSON.stringify(ack))))));
  await new Promise((r) => setTimeout(r, 500));

  await gqlOk(a.url, ADJUST, { id: productId }, login.token);
  await waitFor(() => received.length >= 2, 10_000, 'the event on both transports');

  // The mutation's server span, and everything in its trace, exported by both instances.
  const isMutation = (s: Span) => s.scope.includes('graphql') && JSON.stringify(s).includes('AdjustForTrace');
  await waitFor(() => spans.some(isMutation), 15_000, 'the mutation spans');
  const traceId = spans.find(isMutation)!.traceId;
  const inTrace = () => spans.filter((s) => s.traceId === traceId);
  await waitFor(() => inTrace().some((s) => s.name.startsWith('deliver') && s.instance === 'a')
    && inTrace().some((s) => s.name.startsWith('deliver') && s.instance === 'b'), 15_000, 'delivery spans of both instances');
  const trace = inTrace();
  const scopes = new Set(trace.map((s) => s.scope));
  expect([...scopes]).toEqual(expect.arrayContaining([
    '@opentelemetry/instrumentation-http', '@opentelemetry/instrumentation-graphql', '@opentelemetry/instrumentation-pg', 'shoe-store-api',
  ]));
  // The incoming request is the trace's root; the publish is a producer span of the trace, and each
  // instance's delivery a consumer span whose parent is that publish.
  const root = trace.find((s) => !s.parentSpanId)!;
  expect(root.scope).toBe('@opentelemetry/instrumentation-http');
  expect(root.instance).toBe('a');
  const publishes = trace.filter((s) => s.name.startsWith('publish'));
  expect(publishes.length).toBeGreaterThanOrEqual(1);
  expect(publishes.every((s) => s.kind === 4)).toBe(true); // SPAN_KIND_PRODUCER
  const delivers = trace.filter((s) => s.name.startsWith('deliver'));
  for (const d of delivers) {
    expect(d.kind).toBe(5); // SPAN_KIND_CONSUMER
    expect(publishes.map((p) => p.spanId)).toContain(d.parentSpanId);
  }
  const stock = delivers.filter((d) => d.attributes['shop.event'] === 'product_stock_update');
  expect(new Set(stock.map((d) => d.instance))).toEqual(new Set(['a', 'b']));
  // The Socket.IO emit to the room happens inside A's delivery span.
  const aDeliver = stock.find((d) => d.instance === 'a')!;
  expect(trace.some((s) => s.scope.includes('socket.io') && s.parentSpanId === aDeliver.spanId)).toBe(true);
  // Redis spans come from the official instrumentation too (the pub/sub and session commands).
  expect(spans.some((s) => s.scope === '@opentelemetry/instrumentation-ioredis')).toBe(true);
  // Health checks are not traced.
  expect(spans.some((s) => /healthz|readyz/.test(JSON.stringify(s.attributes)))).toBe(false);

  await ws.dispose();
  sio.close();
  for (const p of [a.p, b.p]) p.child.kill('SIGTERM');
  for (const p of [a.p, b.p]) expect(await exitWithin(p, 20_000)).toEqual({ code: 0, signal: null });
}, 120_000);

it('is off by default, and with OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none', async () => {
  expect(tracingWanted({})).toBe(false);
  expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint })).toBe(true);
  expect(tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${endpoint}/v1/traces` })).toBe(true);
  expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
  // A real process pointed at the receiver but disabled sends it nothing.
  const before = exports;
  const c = await launch('c', { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: 'true' });
  const { login } = await gqlOk(c.url, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: ADMIN.email, p: ADMIN.password });
  expect(login.token).toBeTruthy();
  await new Promise((r) => setTimeout(r, 1000));
  c.p.child.kill('SIGTERM');
  await exitWithin(c.p, 20_000);
  expect(exports).toBe(before);
}, 60_000);
