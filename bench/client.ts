/**
 * A load-client process: opens `count` real client connections of one transport to one server and
 * records, for every `inventory_update` received, its latency (receive time − the payload's
 * `timestamp`, both wall-clock ms on this machine) by phase. Driven over IPC by bench/run.ts.
 */
import { createClient, type Client as GqlClient } from 'graphql-ws';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { addTo, toPairs, type Hist } from './lib/stats';
import { PHASES, SUBSCRIPTION, type FromClient, type ToClient } from './lib/protocol';

interface InventoryUpdate {
  eventId?: string;
  productId: string;
  variant: { size: string; color: string };
  stockChange: number;
  timestamp: string;
}

const send = (m: FromClient) => process.send?.(m);

// Per-client counts by phase (a flat array: client index × PHASES + phase).
let counts = new Int32Array(0);
const hists: Hist[] = Array.from({ length: PHASES }, () => new Map());
const received = new Array<number>(PHASES).fill(0);
const firstRecv = new Array<number>(PHASES).fill(0);
const lastRecv = new Array<number>(PHASES).fill(0);
let lastAny = 0;
let payloadBytes = 0;
let unexpectedCloses = 0;
let errors = 0;
/** Messages whose `eventId` was not above the previous one of the same client (when selected). */
let outOfOrder = 0;
let lastEventIds: string[] = [];
let closing = false;
const sockets: Socket[] = [];
const gqlClients: GqlClient[] = [];
/** Connected graphql-ws clients waiting for `subscribe` (connect with `defer`). */
const waiting: Array<{ client: GqlClient; index: number }> = [];

function onEvent(client: number, data: InventoryUpdate | undefined): void {
  const now = Date.now();
  if (!data) {
    errors++;
    return;
  }
  let phase = Math.abs(data.stockChange);
  if (!(phase > 0 && phase < PHASES)) phase = 0;
  counts[client * PHASES + phase]++;
  if (data.eventId !== undefined) {
    const last = lastEventIds[client];
    // Ids are zero-padded positions: they compare as strings.
    if (last !== undefined && data.eventId <= last) outOfOrder++;
    lastEventIds[client] = data.eventId;
  }
  received[phase]++;
  if (!firstRecv[phase]) firstRecv[phase] = now;
  lastRecv[phase] = now;
  lastAny = now;
  addTo(hists[phase], now - Date.parse(data.timestamp));
  if (!payloadBytes) payloadBytes = Buffer.byteLength(JSON.stringify(data));
}

function connectSocketIo(url: string, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, timeout: 60_000 });
    s.on('inventory_update', (d: InventoryUpdate) => onEvent(index, d));
    s.once('connect', () => {
      sockets.push(s);
      s.on('disconnect', () => {
        if (!closing) unexpectedCloses++;
      });
      resolve();
    });
    s.once('connect_error', (err) => {
      s.close();
      reject(err);
    });
  });
}

function subscribeGraphqlWs(client: GqlClient, index: number, query: string, variables?: Record<string, unknown>): void {
  client.subscribe<{ inventoryUpdate: InventoryUpdate }>(
    { query, variables },
    {
      next: (r) => {
        if (r.errors?.length) errors++;
        onEvent(index, r.data?.inventoryUpdate);
      },
      error: () => {
        if (!closing) errors++;
      },
      complete: () => {
        if (!closing) unexpectedCloses++;
      },
    },
  );
}

function connectGraphqlWs(url: string, index: number, defer: boolean): Promise<void> {
  const wsUrl = url.replace(/^http/, 'ws') + '/graphql';
  return new Promise((resolve, reject) => {
    let settled = false;
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionAckWaitTimeout: 60_000,
      onNonLazyError: (err) => {
        if (!settled) {
          settled = true;
          reject(err instanceof Error ? err : new Error(`graphql-ws connection failed: ${describe(err)}`));
        } else errors++;
      },
      on: {
        connected: () => {
          if (settled) return;
          settled = true;
          gqlClients.push(client);
          if (defer) waiting.push({ client, index });
          else subscribeGraphqlWs(client, index, SUBSCRIPTION);
          resolve();
        },
        closed: () => {
          if (settled && !closing) unexpectedCloses++;
        },
      },
    });
  });
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  const e = err as { code?: number; reason?: string; type?: string };
  if (e && typeof e === 'object' && ('code' in e || 'type' in e)) return `${e.type ?? 'close'} ${e.code ?? ''} ${e.reason ?? ''}`.trim();
  return String(err);
}

async function connectAll(m: Extract<ToClient, { type: 'connect' }>): Promise<void> {
  const started = Date.now();
  counts = new Int32Array(m.count * PHASES);
  lastEventIds = new Array<string>(m.count);
  const errs: string[] = [];
  let next = 0;
  let connected = 0;
  let failed = 0;
  if (m.defer && m.transport !== 'graphql-ws') throw new Error('only graphql-ws connections can defer their subscription');
  const connectOne = m.transport === 'socketio' ? connectSocketIo : (url: string, i: number) => connectGraphqlWs(url, i, m.defer === true);
  const worker = async () => {
    while (next < m.count) {
      const i = next++;
      try {
        await connectOne(m.url, i);
        connected++;
      } catch (err) {
        failed++;
        if (errs.length < 5) errs.push(describe(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(m.concurrency, m.count) }, worker));
  send({ type: 'ready', connected, failed, errors: errs, ms: Date.now() - started });
}

function report(phase: number, expectedPerClient: number): void {
  let short = 0;
  let over = 0;
  const n = counts.length / PHASES;
  for (let c = 0; c < n; c++) {
    const got = counts[c * PHASES + phase];
    if (got < expectedPerClient) short++;
    else if (got > expectedPerClient) over++;
  }
  send({
    type: 'report', phase, received: received[phase], hist: toPairs(hists[phase]),
    clientsShort: short, clientsOver: over, firstRecv: firstRecv[phase], lastRecv: lastRecv[phase], bytes: payloadBytes,
  });
}

async function closeAll(): Promise<void> {
  closing = true;
  for (const s of sockets) s.close();
  await Promise.allSettled(gqlClients.map((c) => c.dispose()));
  send({ type: 'closed' });
  setTimeout(() => process.exit(0), 50);
}

process.on('message', (m: ToClient) => {
  switch (m.type) {
    case 'connect':
      connectAll(m).catch((err) => send({ type: 'fatal', message: String(err?.stack ?? err) }));
      break;
    case 'subscribe': {
      // Every waiting connection subscribes in one synchronous loop: "at once", as far as one process can.
      const at = Date.now();
      const now = waiting.splice(0);
      for (const w of now) subscribeGraphqlWs(w.client, w.index, m.query, m.variables);
      send({ type: 'subscribed', count: now.length, at });
      break;
    }
    case 'counts': {
      let withWarmup = 0;
      const n = counts.length / PHASES;
      for (let c = 0; c < n; c++) if (counts[c * PHASES + 4] > 0) withWarmup++;
      send({ type: 'counts', perPhase: [...received], withWarmup, lastRecv: lastAny, unexpectedCloses, errors, outOfOrder });
      break;
    }
    case 'report':
      report(m.phase, m.expectedPerClient);
      break;
    case 'close':
      void closeAll();
      break;
  }
});

// The orchestrator went away (crash, SIGKILL): never outlive it.
process.on('disconnect', () => process.exit(0));
process.on('uncaughtException', (err) => {
  send({ type: 'fatal', message: String(err?.stack ?? err) });
  process.exit(1);
});
