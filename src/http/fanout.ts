import {
  createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult,
} from 'graphql';
import type { WebSocket } from 'ws';
import type { Envelope } from '../events/audience';

/**
 * The fan-out engine: GraphQL subscribers of the same event with the same document and variables
 * share ONE execution and ONE serialised result per event; each subscriber's socket then gets
 * `{"id":…,"type":"next","payload":<shared JSON>}` without re-executing or re-serialising.
 *
 * How: every event reaches all local subscribers as the same Envelope object (one pub/sub message
 * per instance). The first subscriber to map it executes and serialises; the rest find the result
 * in a WeakMap keyed by that envelope. Each subscriber still receives only what its audience rule
 * accepts (the per-subscriber filter runs before this), and payload resolution does not depend on
 * the viewer, so sharing by (event, document, variables) is exact.
 *
 * graphql-ws serialises each message itself; to keep its protocol handling untouched, subscribers
 * get a tiny marker result (`{"data":{"#fx":"<n>"}}`, a key no GraphQL response can contain) and
 * the WebSocket's `send` splices the shared JSON in place of the marker.
 */
export class FanoutEngine {
  private byEnvelope = new WeakMap<object, Map<string, string>>();
  /** Shared JSON by marker id. A marker is spliced a few microtasks after it is made; keep 30 s. */
  private json = new Map<string, { text: string; at: number }>();
  private next = 0;
  private sweeper: NodeJS.Timeout;
  executions = 0;
  deliveries = 0;

  constructor(private retainMs = 30_000) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(retainMs, 10_000));
    this.sweeper.unref();
  }

  private sweep(): void {
    const cutoff = Date.now() - this.retainMs;
    for (const [id, entry] of this.json) {
      if (entry.at >= cutoff) break; // insertion order = age order
      this.json.delete(id);
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    this.json.clear();
  }

  /** graphql-ws `subscribe`: the source stream, mapped through the shared execution. */
  async subscribe(args: ExecutionArgs, key: string): Promise<AsyncIterable<ExecutionResult> | ExecutionResult> {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source as ExecutionResult;
    const iterator = (source as AsyncIterable<Envelope>)[Symbol.asyncIterator]();
    const map = (envelope: Envelope): ExecutionResult => this.result(args, key, envelope);
    return {
      [Symbol.asyncIterator]() {
        return {
          async next() {
            const r = await iterator.next();
            return r.done ? r : { done: false, value: map(r.value) };
          },
          async return() {
            return (await iterator.return?.()) ?? { done: true, value: undefined };
          },
          async throw(err: unknown) {
            if (iterator.throw) return iterator.throw(err);
            throw err;
          },
        };
      },
    } as AsyncIterable<ExecutionResult>;
  }

  private result(args: ExecutionArgs, key: string, envelope: Envelope): ExecutionResult {
    this.deliveries++;
    let perEnvelope = this.byEnvelope.get(envelope);
    if (!perEnvelope) this.byEnvelope.set(envelope, (perEnvelope = new Map()));
    const marker = perEnvelope.get(key);
    if (marker && this.json.has(marker)) return { data: { '#fx': marker } };
    const result = execute({ ...args, rootValue: envelope }) as ExecutionResult;
    if (result instanceof Promise || result.errors?.length) return result as ExecutionResult; // formatted per subscriber
    this.executions++;
    const id = String(++this.next);
    this.json.set(id, { text: JSON.stringify(result), at: Date.now() });
    perEnvelope.set(key, id);
    return { data: { '#fx': id } };
  }

  /** Replaces a marker payload in an outgoing graphql-ws message by the shared JSON. */
  splice(message: string): string {
    const at = message.lastIndexOf(MARKER);
    if (at < 0) return message;
    const start = at + MARKER.length;
    const end = message.indexOf('"', start);
    const json = this.json.get(message.slice(start, end))?.text;
    if (json === undefined) return message;
    // `"payload":` + `{"data":{"#fx":"n"}}` → `"payload":` + shared JSON
    return message.slice(0, at + PAYLOAD.length) + json + message.slice(end + 3);
  }

  /** Routes a graphql-ws socket's outgoing messages through `splice`. */
  attach(ws: WebSocket): void {
    const send = ws.send.bind(ws) as (data: unknown, ...rest: unknown[]) => void;
    (ws as unknown as { send: typeof send }).send = (data, ...rest) =>
      send(typeof data === 'string' ? this.splice(data) : data, ...rest);
  }
}

const PAYLOAD = '"payload":';
const MARKER = `${PAYLOAD}{"data":{"#fx":"`;

const isAsyncIterable = (v: unknown): v is AsyncIterable<unknown> =>
  typeof v === 'object' && v !== null && Symbol.asyncIterator in v;
