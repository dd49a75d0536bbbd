/** setTimeout's largest delay; a later deadline is reached in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * Calls `onExpire(item)` when an item's deadline passes, for any number of items with one timer.
 * JWT `exp` is in whole seconds, so items are kept in one bucket per second and the timer is armed
 * for the earliest bucket only: 10k connections cost 10k set entries and one timer, not 10k timers.
 */
export class ExpiryWheel<T> {
  private buckets = new Map<number, Set<T>>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  constructor(private onExpire: (item: T) => void, private now: () => number = Date.now) {}

  /** Adds an item due at `expiresAt` (ms since the epoch); returns its removal. Infinity: never. */
  add(expiresAt: number, item: T): () => void {
    if (!Number.isFinite(expiresAt)) return () => undefined;
    const second = Math.ceil(expiresAt / 1000);
    let bucket = this.buckets.get(second);
    if (!bucket) this.buckets.set(second, (bucket = new Set()));
    bucket.add(item);
    if (second < this.armedFor) this.arm(second);
    return () => {
      const b = this.buckets.get(second);
      if (b?.delete(item) && b.size === 0) this.buckets.delete(second);
    };
  }

  get size(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.size;
    return n;
  }

  private arm(second: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = second;
    this.timer = setTimeout(() => this.fire(), Math.min(Math.max(0, second * 1000 - this.now()), MAX_DELAY_MS));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.now();
    let next = Infinity;
    for (const [second, bucket] of this.buckets) {
      if (second * 1000 > now) {
        next = Math.min(next, second);
        continue;
      }
      this.buckets.delete(second);
      for (const item of bucket) this.onExpire(item);
    }
    if (next < this.armedFor) this.arm(next);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
    this.buckets.clear();
  }
}
