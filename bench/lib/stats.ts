/** Latency histogram with 1 ms buckets (timestamps carry milliseconds, so finer is noise). */
export type Hist = Map<number, number>;

export function addTo(h: Hist, ms: number, n = 1): void {
  const k = ms < 0 ? 0 : Math.round(ms);
  h.set(k, (h.get(k) ?? 0) + n);
}

export function merge(into: Hist, pairs: Array<[number, number]> | Hist): Hist {
  for (const [k, v] of pairs) into.set(k, (into.get(k) ?? 0) + v);
  return into;
}

export function toPairs(h: Hist): Array<[number, number]> {
  return [...h.entries()];
}

export interface Summary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(h: Hist): Summary {
  const keys = [...h.keys()].sort((a, b) => a - b);
  const count = keys.reduce((s, k) => s + h.get(k)!, 0);
  if (!count) return { count: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  const at = (q: number) => {
    const rank = Math.ceil(q * count);
    let seen = 0;
    for (const k of keys) {
      seen += h.get(k)!;
      if (seen >= rank) return k;
    }
    return keys[keys.length - 1];
  };
  const sum = keys.reduce((s, k) => s + k * h.get(k)!, 0);
  return { count, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: keys[keys.length - 1], mean: sum / count };
}

/** Percentiles of a plain list of samples (used for request latencies). */
export function summarizeList(values: number[]): Summary {
  const h: Hist = new Map();
  for (const v of values) addTo(h, v);
  return summarize(h);
}
