/**
 * A reconnect-storm client process (bench/storm.ts): `count` real clients of one transport, each
 * following one product's `product_stock_update`, reconnecting as the stock clients do.
 *
 * - socket.io-client 4 with its default reconnection; it recovers by connection state recovery
 *   (no client code: `socket.recovered` is only counted).
 * - graphql-ws `createClient` with a `url` function (the orchestrator moves it to the surviving
 *   instance) and `connectionParams: () => ({ lastEventId })`, default retry wait.
 *
 * Every client keeps the `eventId`s it received, in order; `verify` compares them with the log.
 */
import { createClient, type Client as GqlClient } from 'graphql-ws';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { addTo, toPairs, type Hist } from './lib/stats';
import type { Transport } from './lib/protocol';

export const STORM_SUBSCRIPTION = 'subscription Storm($id: ID!) { productStockUpdate(productId: $id) { eventId stock timestamp } }';

export type ToStormClient =
  | { type: 'connect'; transport: Transport; url: string; count: number; concurrency: number; productId: string }
  | { type: 'target'; url: string }
  | { type: 'mark' }
  | { type: 'await'; eventId: number }
  | { type: 'progress' }
  | { type: 'verify'; expected: number[]; startBy: number; ranges: Record<string, [number, number]> }
  | { type: 'close' };

export type FromStormClient =
  | { type: 'ready'; connected: number; failed: number; errors: string[] }
  | {
      type: 'progress';
      /** Clients that received at least one event / at least `mark`-many since the last mark. */
      withAny: number;
      minSinceMark: number;
      maxLast: number;
      minLast: number;
      /** Clients holding the awaited event (or a later one). */
      resumed: number;
      disconnects: number;
      recovered: number;
    }
  | {
      type: 'verify';
      clients: number;
      exact: number;
      /** Per problem kind, how many clients have it, and a few examples. */
      missing: number;
      duplicated: number;
      outOfOrder: number;
      unknown: number;
      examples: string[];
      /** `resumedAt` of every client (ms since the epoch; 0 = never). */
      resumedAt: number[];
      /** Latency (receipt − payload timestamp) by named eventId range. */
      latency: Record<string, Array<[number, number]>>;
      recovered: number;
      notRecovered: number;
      disconnects: number;
    }
  | { type: 'closed' }
  | { type: 'fatal'; message: string };

interface Update { eventId: string; stock: number; timestamp: string }

const send = (m: FromStormClient) => process.send?.(m);

let ids: number[][] = [];
let lats: number[][] = [];
let sinceMark: number[] = [];
let resumedAt: number[] = [];
let awaitId = Infinity;
let target = '';
let disconnects = 0;
let recovered = 0;
let notRecovered = 0;
let closing = false;
const sockets: Socket[] = [];
const gqlClients: GqlClient[] = [];

function onUpdate(c: number, d: Update | undefined): void {
  const now = Date.now();
  if (!d) return;
  const id = Number(d.eventId);
  ids[c].push(id);
  lats[c].push(now - Date.parse(d.timestamp));
  sinceMark[c]++;
  if (id >= awaitId && !resumedAt[c]) resumedAt[c] = now;
}

function connectSocketIo(url: string, c: number, productId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // Stock reconnection settings (1 s doubling to 5 s, ± 50 %): the storm as real clients make it.
    const s = io(url, { transports: ['websocket'], forceNew: true, timeout: 60_000 });
    let first = true;
    s.on('product_stock_update', (d: Update) => onUpdate(c, d));
    s.on('disconnect', () => {
      if (!closing) disconnects++;
    });
    s.on('connect', () => {
      if (first) return;
      if (s.recovered) recovered++;
      else notRecovered++;
    });
    s.once('connect', () => {
      first = false;
      s.emit('join_room', { room: `product_${productId}` }, (ack: { ok: boolean; error?: { message: string } }) => {
        if (!ack?.ok) return reject(new Error(`join_room refused: ${ack?.error?.message}`));
        sockets.push(s);
        resolve();
      });
    });
    s.once('connect_error', (err) => {
      if (!first) return;
      s.close();
      reject(err);
    });
  });
}

function connectGraphqlWs(c: number, productId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let last: string | undefined;
    let acked = false;
    const client = createClient({
      url: () => target,
      webSocketImpl: WebSocket,
      lazy: true,
      connectionParams: () => (last ? { lastEventId: last } : {}),
      retryAttempts: 1_000_000,
      shouldRetry: () => true,
      connectionAckWaitTimeout: 60_000,
      on: {
        connected: () => {
          if (!acked) {
            acked = true;
            gqlClients.push(client);
            resolve();
          } else recovered++;
        },
        closed: () => {
          if (acked && !closing) disconnects++;
        },
        error: (err) => {
          if (!acked) reject(err instanceof Error ? err : new Error('graphql-ws connection failed'));
        },
      },
    });
    client.subscribe<{ productStockUpdate: Update }>({ query: STORM_SUBSCRIPTION, variables: { id: productId } }, {
      next: (r) => {
        const d = r.data?.productStockUpdate;
        if (d) last = d.eventId;
        onUpdate(c, d);
      },
      error: () => undefined,
      complete: () => undefined,
    });
  });
}

async function connectAll(m: Extract<ToStormClient, { type: 'connect' }>): Promise<void> {
  ids = Array.from({ length: m.count }, () => []);
  lats = Array.from({ length: m.count }, () => []);
  sinceMark = new Array<number>(m.count).fill(0);
  resumedAt = new Array<number>(m.count).fill(0);
  target = m.url.replace(/^http/, 'ws') + '/graphql';
  const errs: string[] = [];
  let next = 0;
  let connected = 0;
  let failed = 0;
  const worker = async () => {
    while (next < m.count) {
      const c = next++;
      try {
        await (m.transport === 'socketio' ? connectSocketIo(m.url, c, m.productId) : connectGraphqlWs(c, m.productId));
        connected++;
      } catch (err) {
        failed++;
        if (errs.length < 5) errs.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(m.concurrency, m.count) }, worker));
  send({ type: 'ready', connected, failed, errors: errs });
}

function progress(): void {
  let withAny = 0;
  let minSince = Infinity;
  let maxLast = 0;
  let minLast = Infinity;
  let resumed = 0;
  for (let c = 0; c < ids.length; c++) {
    const l = ids[c];
    if (l.length) withAny++;
    const last = l.length ? l[l.length - 1] : 0;
    maxLast = Math.max(maxLast, last);
    minLast = Math.min(minLast, last);
    minSince = Math.min(minSince, sinceMark[c]);
    if (resumedAt[c]) resumed++;
  }
  send({ type: 'progress', withAny, minSinceMark: minSince, maxLast, minLast, resumed, disconnects, recovered });
}

/**
 * Each client must hold every logged event from its first one on, once, in order; its first one
 * must be no later than `startBy` (the last warm-up event, which every client had).
 */
function verify(expected: number[], startBy: number, ranges: Record<string, [number, number]>): void {
  const pos = new Map(expected.map((id, k) => [id, k]));
  let exact = 0;
  let missing = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  let unknown = 0;
  const examples: string[] = [];
  const latency: Record<string, Hist> = Object.fromEntries(Object.keys(ranges).map((k) => [k, new Map()]));
  for (let c = 0; c < ids.length; c++) {
    const got = ids[c];
    const from = got.length ? pos.get(got[0]) ?? -1 : -1;
    const want = from >= 0 ? expected.slice(from) : expected;
    const seen = new Set<number>();
    let dup = false;
    let order = false;
    let unk = false;
    for (let k = 0; k < got.length; k++) {
      if (seen.has(got[k])) dup = true;
      seen.add(got[k]);
      if (!pos.has(got[k])) unk = true;
      if (k && got[k] <= got[k - 1]) order = true;
    }
    const miss = from < 0 || expected[from] > startBy || want.some((id) => !seen.has(id));
    if (dup) duplicated++;
    if (order) outOfOrder++;
    if (unk) unknown++;
    if (miss) missing++;
    if (!dup && !order && !unk && !miss) exact++;
    else if (examples.length < 3) examples.push(`client ${c}: got ${got.length} of ${expected.length} (first ${got[0]}, last ${got[got.length - 1]})`);
    for (const [name, [lo, hi]] of Object.entries(ranges)) {
      for (let k = 0; k < got.length; k++) if (got[k] >= lo && got[k] <= hi) addTo(latency[name], lats[c][k]);
    }
  }
  send({
    type: 'verify', clients: ids.length, exact, missing, duplicated, outOfOrder, unknown, examples, resumedAt,
    latency: Object.fromEntries(Object.entries(latency).map(([k, h]) => [k, toPairs(h)])), recovered, notRecovered, disconnects,
  });
}

async function closeAll(): Promise<void> {
  closing = true;
  for (const s of sockets) s.close();
  await Promise.allSettled(gqlClients.map((c) => c.dispose()));
  send({ type: 'closed' });
  setTimeout(() => process.exit(0), 50);
}

process.on('message', (m: ToStormClient) => {
  switch (m.type) {
    case 'connect':
      connectAll(m).catch((err) => send({ type: 'fatal', message: String(err?.stack ?? err) }));
      break;
    case 'target':
      target = m.url.replace(/^http/, 'ws') + '/graphql';
      break;
    case 'mark':
      sinceMark.fill(0);
      break;
    case 'await':
      awaitId = m.eventId;
      break;
    case 'progress':
      progress();
      break;
    case 'verify':
      verify(m.expected, m.startBy, m.ranges);
      break;
    case 'close':
      void closeAll();
      break;
  }
});

process.on('disconnect', () => process.exit(0));
process.on('uncaughtException', (err) => {
  send({ type: 'fatal', message: String(err?.stack ?? err) });
  process.exit(1);
});
