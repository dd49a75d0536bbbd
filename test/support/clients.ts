import { createClient, type Client as WsClient } from 'graphql-ws';
import { io as ioV4, type Socket as SocketV4 } from 'socket.io-client';
import request from 'supertest';
import WebSocket from 'ws';

export interface GqlResult<T = Record<string, any>> {
  status: number;
  data?: T;
  errors?: Array<{ message: string; extensions?: Record<string, any> }>;
}

/**
 * One GraphQL request over real HTTP (supertest), accepting what current clients (urql, graphql-http)
 * prefer: `application/graphql-response+json`, under which a refused request is a 400.
 */
export async function gql<T = Record<string, any>>(url: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResult<T>> {
  let req = request(url).post('/graphql').set('Content-Type', 'application/json')
    .set('Accept', 'application/graphql-response+json, application/json;q=0.9');
  if (token) req = req.set('Authorization', `Bearer ${token}`);
  const res = await req.send({ query, variables });
  return { status: res.status, data: res.body?.data ?? undefined, errors: res.body?.errors };
}

/** Same, but fails the test on any GraphQL error. */
export async function gqlOk<T = Record<string, any>>(url: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<T> {
  const r = await gql<T>(url, query, variables, token);
  if (r.errors?.length || !r.data) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors ?? r)}`);
  return r.data;
}

export const codeOf = (r: GqlResult) => r.errors?.[0]?.extensions?.code;

/** A real graphql-ws client (Node 20 has no global WebSocket). */
export function wsClient(wsUrl: string, token?: string, extra: Record<string, unknown> = {}): WsClient {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authToken: token, ...extra } : extra,
    retryAttempts: 0,
    lazy: true,
  });
}

/** Subscribes and collects every `next` payload; `ready` resolves after the server acknowledged. */
export function collect<T = any>(client: WsClient, query: string, variables: Record<string, unknown> = {}) {
  const events: T[] = [];
  const errors: unknown[] = [];
  let completed = false;
  const unsubscribe = client.subscribe<T>({ query, variables }, {
    next: (v) => {
      if (v.errors) errors.push(v.errors);
      else events.push(v.data as T);
    },
    error: (e) => errors.push(e),
    complete: () => {
      completed = true;
    },
  });
  return { events, errors, unsubscribe, get completed() { return completed; } };
}

/** A Socket.IO v4 client; resolves once connected (or rejects with the connect_error). */
export function socketV4(url: string, token?: string, opts: Record<string, unknown> = {}): Promise<SocketV4> {
  return new Promise((resolve, reject) => {
    const s = ioV4(url, { transports: ['websocket'], auth: token ? { token } : {}, reconnection: false, forceNew: true, ...opts });
    s.once('connect', () => resolve(s));
    s.once('connect_error', (err) => {
      s.close();
      reject(err);
    });
  });
}

/** Emits a command and waits for its acknowledgement. */
export function emitAck<T = any>(s: { emit: (...a: any[]) => unknown }, event: string, ...args: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ack for ${event}`)), 5000);
    s.emit(event, ...args, (res: T) => {
      clearTimeout(t);
      resolve(res);
    });
  });
}

/** Records every event a socket receives, by name. */
export function recordSocket(s: { onAny: (fn: (event: string, ...args: any[]) => void) => unknown }) {
  const got: Array<{ event: string; data: any }> = [];
  s.onAny((event: string, data: any) => got.push({ event, data }));
  return {
    got,
    of: (event: string) => got.filter((g) => g.event === event).map((g) => g.data),
  };
}

/** Polls until `check` returns true or the time is up. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
