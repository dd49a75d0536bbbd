/**
 * Checkout with the outbox vs without: the same spread checkout run against the current build and
 * against the build before the event log (bench/lib/build-at.ts), each on a fresh database of the
 * same PostgreSQL, in alternating rounds (before, current, current, before, …) so that a drift in
 * the machine's load falls on both alike.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCheckout, type CheckoutProfile, type SpreadRun } from './checkout';
import { RemoteProfiler, summarizeProfile } from './lib/profiler';
import { gqlOk, ROOT, startProduct, type ProductEnv } from './lib/servers';

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
  /** V8 profiles of the server over a short spread run after each build's last round. */
  profiles?: Partial<Record<BuildName, CheckoutProfile>>;
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
  /** Profile each build's server after its last round; `.cpuprofile` files go to this directory. */
  profileDir?: string;
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
    const profile = o.profileDir !== undefined && order.lastIndexOf(build) === i;
    const server = await startProduct(env, `checkout-${build}-${i + 1}`, { inspect: profile });
    const profiler = profile && server.inspectPort ? await RemoteProfiler.attach(server.inspectPort) : undefined;
    try {
      const { login } = await gqlOk<{ login: { token: string } }>(server.url, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
        { e: env.adminEmail, p: env.adminPassword });
      o.log(`  round ${i + 1}/${order.length}: ${build === 'current' ? 'current build (with the outbox)' : `${o.before.sha.slice(0, 7)} (before the event log)`}`);
      const r = await runCheckout({
        url: server.url, databaseUrl: env.databaseUrl, adminToken: login.token, spreadOnly: true,
        cpu: () => o.cpu(server.pid),
        buyers: o.buyers, spreadSeconds: o.seconds, spreadVariants: o.variants, hotStock: 0, hotMaxSeconds: 0, log: o.log,
        profile: profiler && {
          start: () => profiler.start(),
          stop: async () => {
            const raw = await profiler.stop();
            const file = path.join(o.profileDir!, `checkout-${build}.cpuprofile`);
            writeFileSync(file, JSON.stringify(raw));
            return { ...summarizeProfile(raw, 25), file: path.relative(ROOT, file) };
          },
        },
      });
      result.errors.push(...r.errors.map((e) => `${build} build, round ${i + 1}: ${e}`));
      if (r.spread) result.rounds.push({ build, spread: r.spread });
      if (r.profile) (result.profiles ??= {})[build] = r.profile;
    } finally {
      profiler?.close();
      await server.stop();
    }
  }
  result.current = totals(result.rounds.filter((r) => r.build === 'current').map((r) => r.spread));
  result.without = totals(result.rounds.filter((r) => r.build === 'before').map((r) => r.spread));
  if (result.current && result.without) result.ratio = result.current.ordersPerSec / result.without.ordersPerSec;
  return result;
}
