import type { Envelope } from './envelope';

export interface IteratorSource {
  /** Starts listening; resolves to the function that stops. */
  listen(listener: (e: Envelope) => void): Promise<() => void> | (() => void);
  /** Durable events only: the events to replay first (after the resume point), read once listening. */
  replay?: () => Promise<Envelope[]>;
  /** Durable events only: deliver nothing at or before this position. */
  after?: number;
}

/**
 * An async iterator over one event's envelopes that pass `accept`, for a GraphQL subscription run by
 * graphql's own `subscribe`. With a replay, live events are held while the replay is read, then
 * come after it: none lost, none twice (positions only go up).
 */
export function envelopeIterator(source: IteratorSource, accept: (e: Envelope) => boolean): AsyncIterableIterator<Envelope> {
  const queue: Envelope[] = [];
  let wake: ((r: IteratorResult<Envelope>) => void) | null = null;
  let done = false;
  let off: (() => void) | null = null;
  let last = source.after ?? 0;
  let holding = !!source.replay;
  const held: Envelope[] = [];
  const push = (m: Envelope) => {
    if (done || !accept(m)) return;
    if (m.position !== undefined) {
      if (m.position <= last) return;
      last = m.position;
    }
    if (wake) {
      const w = wake;
      wake = null;
      w({ value: m, done: false });
    } else queue.push(m);
  };
  const ready = (async () => {
    const f = await source.listen((m) => (holding ? held.push(m) : push(m)));
    off = f;
    if (done) f();
    if (source.replay) {
      try {
        for (const m of await source.replay()) push(m);
      } finally {
        holding = false;
        for (const m of held.splice(0)) push(m);
      }
    }
  })();
  const finish = async (): Promise<IteratorResult<Envelope>> => {
    done = true;
    off?.();
    queue.length = 0;
    if (wake) wake({ value: undefined, done: true });
    wake = null;
    return { value: undefined, done: true };
  };
  return {
    async next() {
      await ready;
      if (queue.length) return { value: queue.shift()!, done: false };
      if (done) return { value: undefined, done: true };
      return new Promise((resolve) => (wake = resolve));
    },
    return: finish,
    throw: async (err) => {
      await finish();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
