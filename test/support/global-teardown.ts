import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const t = (globalThis as Record<string, unknown>).__SHOP_TEST__ as
    | { pg: { stop(): Promise<void> }; redis: { stop(): Promise<void> }; base: string }
    | undefined;
  if (!t) return;
  await Promise.allSettled([t.pg.stop(), t.redis.stop()]);
  rmSync(t.base, { recursive: true, force: true });
}
