/**
 * Checkout with the outbox vs without: the same spread checkout run against the current build and
 * against the build before the event log (bench/lib/build-at.ts), each on a fresh database of the
 * same PostgreSQL, in alternating rounds (before, current, current, before, …) so that a drift in
 * the machine's load falls on both alike.
 */
import { runCheckout, type SpreadRun } from './checkout';
import { gqlOk, startProduct, type ProductEnv } from './lib/servers';

export type BuildName = 'current' | 'before';

export interface OutboxTotals {
  rounds: number;
  orders: number;
  seconds: number;
  ordersPerSec: number;
  /** CPU time per order of each process, over every round of this build. */
  cpuPerOrderMs: Record<string, number>;
  walBytesPerOrder: number;
  writeXactsPerOrder: number;
}

export interface OutboxComparison {
  /** The build before the event log. */
  before: { commit: string; sha: string; subject: string; buildSeconds: number };
  rounds: Array<{ build: BuildName; spread: SpreadRun }>;
  current?: OutboxTotals;
  without?: OutboxTotals;
  /** Orders/s with the outbox ÷ without. */
  ratio: number;
  errors: string[];
}

export interface OutboxOptions {
  envs: Record<BuildName, ProductEnv>;
  before: OutboxComparison['before'];
  rounds: number;
  /** CPU time so far (µs) of a product process, PostgreSQL and Redis. */
  cpu: (serverPid: number) => Record<string, number>;
  buyers: number;
  seconds: number;
  variants: number;
  log: (s: string) => void;
}

function totals(runs: SpreadRun[]): OutboxTotals | undefined {
  if (!runs.length) return undefined;
  const orders = runs.reduce((s, r) => s + r.orders, 0);
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  const cpuPerOrderMs: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.cpuPerOrderMs ?? {})) cpuPerOrderMs[k] = (cpuPerOrderMs[k] ?? 0) + (v * r.orders) / (orders || 1);
  const perOrder = (f: (r: SpreadRun) => number | undefined) => runs.reduce((s, r) => s + (f(r) ?? NaN) * r.orders, 0) / (orders || 1);
  return {
    rounds: runs.length, orders, seconds, ordersPerSec: orders / seconds, cpuPerOrderMs,
    walBytesPerOrder: perOrder((r) => r.walBytesPerOrder), writeXactsPerOrder: perOrder((r) => r.writeXactsPerOrder),
  };
}

export async function runOutboxComparison(o: OutboxOptions): Promise<OutboxComparison> {
  const result: OutboxComparison = { before: o.before, rounds: [], ratio: NaN, errors: [] };
  // before, current, current, before, before, current, …
  const order: BuildName[] = Array.from({ length: 2 * o.rounds }, (_, i) => (((i + 1) >> 1) % 2 === 0 ? 'before' : 'current'));
  for (const [i, build] of order.entries()) {
    const env = o.envs[build];
    const server = await startProduct(env, `checkout-${build}-${i + 1}`);
    try {
      const { login } = await gqlOk<{ login: { token: string } }>(server.url, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
        { e: env.adminEmail, p: env.adminPassword });
      o.log(`  round ${i + 1}/${order.length}: ${build === 'current' ? 'current build (with the outbox)' : `${o.before.sha.slice(0, 7)} (before the event log)`}`);
      const r = await runCheckout({
        url: server.url, databaseUrl: env.databaseUrl, adminToken: login.token, spreadOnly: true,
        cpu: () => o.cpu(server.pid),
        buyers: o.buyers, spreadSeconds: o.seconds, spreadVariants: o.variants, hotStock: 0, hotMaxSeconds: 0, log: o.log,
      });
      result.errors.push(...r.errors.map((e) => `${build} build, round ${i + 1}: ${e}`));
      if (r.spread) result.rounds.push({ build, spread: r.spread });
    } finally {
      await server.stop();
    }
  }
  result.current = totals(result.rounds.filter((r) => r.build === 'current').map((r) => r.spread));
  result.without = totals(result.rounds.filter((r) => r.build === 'before').map((r) => r.spread));
  if (result.current && result.without) result.ratio = result.current.ordersPerSec / result.without.ordersPerSec;
  return result;
}
