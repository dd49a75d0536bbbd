/**
 * Reconnect storm (issue 12): two product processes A and B on one PostgreSQL and one Redis; N
 * clients (half per transport) on A, each following one product; `kill -9` A; 20 events raised on
 * B while they are away; then they all come back to B at once (Socket.IO through a TCP proxy moved
 * to B, graphql-ws by its `url` function). Measured: time until 99 % / 100 % of them hold every
 * event they missed, PostgreSQL reads per resumed client (counted by PostgreSQL), and the p99 of
 * clients that were on B all along, during the storm vs before. Every client must end with every
 * logged event exactly once, in order: only that fails the run, never a timing.
 *
 * Also: Socket.IO fan-out CPU per delivered message with connection state recovery on vs off
 * (`SOCKET_RECOVERY_SECONDS=0`), through the regular fan-out scenario (bench/fanout.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';
import { startProxy } from '../test/support/proxy';
import { runGroup, type FanoutContext, type GroupResult } from './fanout';
import { sleep, stopChild, track } from './lib/proc';
import type { Transport } from './lib/protocol';
import { gqlOk, startProduct, type ServerProc } from './lib/servers';
import { writeSection } from './lib/sections';
import { merge, summarize, type Hist, type Summary } from './lib/stats';
import type { FromStormClient, ToStormClient } from './storm-client';

export interface StormOptions {
  smoke: boolean;
  /** Clients of the killed instance (half per transport). */
  n: number;
  /** Clients on the surviving instance all along (half per transport), whose latency is measured. */
  survivors: number;
  /** Socket.IO clients of the recovery on/off CPU comparison. */
  cpuN: number;
}

export const stormOptions = (smoke: boolean, n?: number): StormOptions =>
  smoke ? { smoke, n: n ?? 200, survivors: 40, cpuN: 200 } : { smoke, n: n ?? 5000, survivors: 400, cpuN: 2500 };

/** Scans (sequential + index) per table, and transactions of the database, from PostgreSQL's statistics. */
interface PgReads {
  tables: Record<string, number>;
  xacts: number;
}

interface ReadWindow {
  events: number;
  ms: number;
  tables: Record<string, number>;
  xacts: number;
}

export interface StormResult {
  opts: StormOptions;
  clients: Partial<Record<Transport, number>>;
  survivors: number;
  missedEvents: number;
  /** Events per second raised before and during the storm (the latency samples). */
  rate: number;
  beforeEvents: number;
  stormEvents: number;
  /** From the kill until B was reachable again (the missed events were raised meanwhile). */
  awayMs: number;
  resumed: number;
  /** ms from B becoming reachable (and from the kill) until that share of the storm clients held every missed event. */
  fromSwitch: { p50: number; p99: number; p100: number };
  fromKill: { p99: number; p100: number };
  byTransport: Partial<Record<Transport, { resumed: number; p99: number; p100: number }>>;
  /** Socket.IO reconnections with `socket.recovered === true` / false; graphql-ws reconnections. */
  recovered: number;
  notRecovered: number;
  gqlReconnects: number;
  control: ReadWindow;
  storm: ReadWindow;
  latency: { before: Summary; storm: Summary };
  verify: { clients: number; exact: number; missing: number; duplicated: number; outOfOrder: number; unknown: number; examples: string[] };
  cpu?: { n: number; runs: Array<{ recovery: boolean; cpuPerMsgUs: number; delivered: number; otherLoadPct: number; errors: string[] }>; on: number; off: number; ratio: number };
  errors: string[];
}

const ADJUST = 'mutation StormAdjust($p: ID!, $d: Int!) { adjustStock(productId: $p, variant: { size: "42", color: "black" }, delta: $d) { id } }';
/** PostgreSQL publishes a backend's counts when it has been idle 10 s at most (or when it exits). */
const STATS_FLUSH_MS = 11_000;
/**
 * Events per second before and during the storm: low enough that fan-out to every client stays far
 * below what two shared cores deliver (at N = 5,000 each event is 5,400 messages).
 */
const RATE = 2;
const BEFORE_EVENTS = 10;
const MISSED = 20;

/** One storm-client process (bench/storm-client.ts), driven over IPC. */
class StormProc {
  child: ChildProcess;
  fatal?: string;
  private waiters: Array<{ type: string; resolve: (m: any) => void }> = [];

  constructor(public transport: Transport, public role: 'storm' | 'survivor', public count: number, public url: string) {
    this.child = track(fork(path.join(__dirname, 'storm-client.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    this.child.on('message', (m: FromStormClient) => {
      if (m.type === 'fatal') return void (this.fatal = m.message);
      const k = this.waiters.findIndex((w) => w.type === m.type);
      if (k >= 0) this.waiters.splice(k, 1)[0].resolve(m);
    });
    this.child.on('exit', (code) => {
      if (code && !this.fatal) this.fatal = `storm client exited with ${code}`;
      for (const w of this.waiters.splice(0)) w.resolve({ type: 'exited' });
    });
  }

  tell(m: ToStormClient): void {
    if (this.child.connected) this.child.send(m);
  }

  ask<T extends FromStormClient['type']>(m: ToStormClient, reply: T, timeoutMs = 30_000): Promise<Extract<FromStormClient, { type: T }>> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`storm client (${this.transport}) did not answer ${m.type} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        type: reply,
        resolve: (r) => {
          clearTimeout(t);
          if (r.type === 'exited') reject(new Error(`storm client (${this.transport}) exited: ${this.fatal ?? 'unknown'}`));
          else resolve(r);
        },
      });
      if (this.child.connected) this.child.send(m);
      else reject(new Error(`storm client (${this.transport}) is gone: ${this.fatal ?? 'unknown'}`));
    });
  }

  async close(): Promise<void> {
    await this.ask({ type: 'close' }, 'closed', 20_000).catch(() => undefined);
    await stopChild(this.child, 3000, 'SIGKILL');
  }
}

async function pgReads(pg: Client): Promise<PgReads> {
  await pg.query('select pg_stat_clear_snapshot()');
  const t = await pg.query<{ relname: string; scans: string }>(
    'select relname, coalesce(seq_scan, 0) + coalesce(idx_scan, 0) as scans from pg_stat_user_tables');
  const d = await pg.query<{ xacts: string }>('select xact_commit + xact_rollback as xacts from pg_stat_database where datname = current_database()');
  return { tables: Object.fromEntries(t.rows.map((r) => [r.relname, Number(r.scans)])), xacts: Number(d.rows[0].xacts) };
}

const windowOf = (a: PgReads, b: PgReads, events: number, ms: number): ReadWindow => {
  const tables: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.tables)) if (v - (a.tables[k] ?? 0)) tables[k] = v - (a.tables[k] ?? 0);
  return { events, ms, tables, xacts: b.xacts - a.xacts };
};

/** The share-th fraction (0..1) of a list of durations, by rank. */
const rank = (sorted: number[], share: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)] : NaN);

export async function runStorm(ctx: FanoutContext, o: StormOptions): Promise<StormResult> {
  const { log, d } = ctx;
  const errors: string[] = [];
  const r: StormResult = {
    opts: o, clients: {}, survivors: o.survivors, missedEvents: MISSED, rate: RATE, beforeEvents: 0, stormEvents: 0, awayMs: NaN, resumed: 0,
    fromSwitch: { p50: NaN, p99: NaN, p100: NaN }, fromKill: { p99: NaN, p100: NaN }, byTransport: {}, recovered: 0, notRecovered: 0, gqlReconnects: 0,
    control: { events: 0, ms: 0, tables: {}, xacts: 0 }, storm: { events: 0, ms: 0, tables: {}, xacts: 0 },
    latency: { before: summarize(new Map()), storm: summarize(new Map()) },
    verify: { clients: 0, exact: 0, missing: 0, duplicated: 0, outOfOrder: 0, unknown: 0, examples: [] }, errors,
  };
  log(`storm: ${o.n} clients on A (half per transport), ${o.survivors} on B; kill -9 A, ${MISSED} events missed`);
  const a = await startProduct(ctx.productEnv, 'storm-a');
  const servers: ServerProc[] = [a];
  const procs: StormProc[] = [];
  const pg = new Client({ connectionString: ctx.productEnv.databaseUrl });
  let proxy: Awaited<ReturnType<typeof startProxy>> | undefined;
  try {
    const b = await startProduct(ctx.productEnv, 'storm-b');
    servers.push(b);
    await pg.connect();
    const { createProduct } = await gqlOk<{ createProduct: { id: string } }>(b.url,
      'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }', {
        input: { name: 'Bench storm runner', brand: 'Bench', category: 'bench', price: 99, lowStockThreshold: 0, variants: [{ size: '42', color: 'black', stock: 1_000_000 }] },
      }, ctx.adminToken);
    const productId = createProduct.id;
    let sign = 1;
    const raise = async () => {
      sign = -sign;
      await gqlOk(b.url, ADJUST, { p: productId, d: sign }, ctx.adminToken);
    };
    let proxyTo = a;
    proxy = await startProxy(() => Number(new URL(proxyTo.url).port));

    const half = Math.floor(o.n / 2);
    const add = (t: Transport, role: 'storm' | 'survivor', total: number, url: string) => {
      const k = Math.max(1, Math.ceil(total / d.clientsPerProcess));
      for (let i = 0; i < k; i++) {
        const count = Math.floor(total / k) + (i < total % k ? 1 : 0);
        if (count) procs.push(new StormProc(t, role, count, url));
      }
    };
    add('socketio', 'storm', half, proxy.url);
    add('graphql-ws', 'storm', o.n - half, a.url);
    // Survivors connect to B directly.
    add('socketio', 'survivor', Math.floor(o.survivors / 2), b.url);
    add('graphql-ws', 'survivor', o.survivors - Math.floor(o.survivors / 2), b.url);
    const storm = procs.filter((p) => p.role === 'storm');
    const survivors = procs.filter((p) => p.role === 'survivor');
    const total = procs.reduce((s, p) => s + p.count, 0);
    const t0 = Date.now();
    const ready = await Promise.all(procs.map((p) => p.ask({ type: 'connect', transport: p.transport, url: p.url, count: p.count, concurrency: d.connectConcurrency, productId }, 'ready', 300_000)));
    ready.forEach((x, i) => {
      if (x.failed) throw new Error(`${x.failed} ${procs[i].transport} storm connections failed: ${x.errors.join('; ')}`);
      if (procs[i].role === 'storm') r.clients[procs[i].transport] = (r.clients[procs[i].transport] ?? 0) + x.connected;
    });
    log(`    ${total} connected in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const check = () => {
      for (const p of procs) if (p.fatal) throw new Error(`a storm client failed: ${p.fatal}`);
      if (!b.alive()) throw new Error(`storm-b died. Log:\n${b.logTail()}`);
    };
    const progress = async (of: StormProc[]) => {
      check();
      const all = await Promise.all(of.map((p) => p.ask({ type: 'progress' }, 'progress')));
      return {
        withAny: all.reduce((s, x) => s + x.withAny, 0),
        minSinceMark: Math.min(...all.map((x) => x.minSinceMark)),
        maxLast: Math.max(...all.map((x) => x.maxLast)),
        minLast: Math.min(...all.map((x) => x.minLast)),
        resumed: all.reduce((s, x) => s + x.resumed, 0),
      };
    };
    /** Polls until `done`; past `ms` it throws, or (soft) logs and goes on: the verification then names what is missing. */
    const waitFor = async (what: string, of: StormProc[], done: (p: Awaited<ReturnType<typeof progress>>) => boolean, ms: number, soft = false) => {
      const until = Date.now() + ms;
      for (;;) {
        const p = await progress(of);
        if (done(p)) return p;
        if (Date.now() > until) {
          const why = `${what} did not happen within ${ms / 1000} s (${JSON.stringify(p)})`;
          if (!soft) throw new Error(why);
          log(`    ${why}`);
          return p;
        }
        await sleep(100);
      }
    };
    /** Raises `count` events at RATE per second (or until `stop()`), returns how many. */
    const paced = async (count: number, stop: () => boolean = () => false) => {
      const start = Date.now();
      let k = 0;
      const sends: Promise<void>[] = [];
      while (k < count && !stop()) {
        const wait = start + (k * 1000) / RATE - Date.now();
        if (wait > 0) await sleep(wait);
        sends.push(raise());
        k++;
      }
      await Promise.all(sends);
      return k;
    };

    // Warm-up: until every client has received an event (graphql-ws subscriptions have no ack).
    for (let attempt = 0; ; attempt++) {
      await raise();
      const until = Date.now() + 3000;
      let p = await progress(procs);
      while (p.withAny < total && Date.now() < until) {
        await sleep(100);
        p = await progress(procs);
      }
      if (p.withAny >= total) break;
      if (attempt >= 9) throw new Error(`${total - p.withAny} storm clients never received a warm-up event`);
    }
    const warm = await waitFor('the warm-up to reach every client', procs, (p) => p.minLast === p.maxLast, 20_000);
    const warmLast = warm.maxLast;

    // Before: the survivors' latency with every client connected.
    for (const p of procs) p.tell({ type: 'mark' });
    r.beforeEvents = await paced(BEFORE_EVENTS);
    const before = await waitFor('the events before the storm to reach every client', procs, (p) => p.minSinceMark >= BEFORE_EVENTS && p.minLast === p.maxLast, 30_000);
    const beforeRange: [number, number] = [warmLast + 1, before.maxLast];
    await sleep(STATS_FLUSH_MS);
    const s1 = await pgReads(pg);

    // The storm: kill -9 A; 20 events on B while its clients are away; then B is reachable.
    for (const p of procs) p.tell({ type: 'mark' });
    const tKill = Date.now();
    a.child.kill('SIGKILL');
    servers.splice(servers.indexOf(a), 1);
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let k = 0; k < MISSED / 4; k++) await raise();
    }));
    const missed = await waitFor('the missed events to reach the survivors', survivors, (p) => p.minSinceMark >= MISSED, 30_000);
    const lastMissed = missed.maxLast;
    for (const p of storm) p.tell({ type: 'await', eventId: lastMissed });
    const tSwitch = Date.now();
    proxyTo = b;
    for (const p of storm) if (p.transport === 'graphql-ws') p.tell({ type: 'target', url: b.url });
    r.awayMs = tSwitch - tKill;
    log(`    A killed; ${MISSED} events raised on B in ${r.awayMs} ms; clients may come back now`);
    let allBack = false;
    const limit = 120_000;
    const pacing = paced(Math.ceil((limit / 1000) * RATE), () => allBack && Date.now() - tSwitch > 2000);
    try {
      await waitFor(`every storm client to resume (${o.n})`, storm, (p) => p.resumed >= o.n, limit, true);
    } finally {
      allBack = true;
      r.stormEvents = await pacing;
    }
    const end = await waitFor('the last events to reach every client', procs, (p) => p.minLast === p.maxLast, 30_000, true);
    const stormRange: [number, number] = [lastMissed + 1, end.maxLast];
    const sMs = Date.now() - tKill;
    await sleep(STATS_FLUSH_MS);
    const s2 = await pgReads(pg);
    r.storm = windowOf(s1, s2, MISSED + r.stormEvents, sMs);

    // Control: the same events in the same rhythm on B alone, every client connected, nobody reconnecting.
    for (const p of procs) p.tell({ type: 'mark' });
    const c0 = Date.now();
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let k = 0; k < MISSED / 4; k++) await raise();
    }));
    const controlEvents = MISSED + (await paced(r.stormEvents));
    await waitFor('the control events to reach every client', procs, (p) => p.minSinceMark >= controlEvents && p.minLast === p.maxLast, 30_000);
    const cMs = Date.now() - c0;
    await sleep(STATS_FLUSH_MS);
    const s3 = await pgReads(pg);
    r.control = windowOf(s2, s3, controlEvents, cMs);

    // Every client against the log (read after the statistics, so it is not counted).
    const expected = (await pg.query<{ id: string }>(
      `select id from shop_events where name = 'product_stock_update' and route->>'productId' = $1 order by id`, [productId])).rows.map((x) => Number(x.id));
    const verdicts = await Promise.all(procs.map((p) => p.ask({ type: 'verify', expected, startBy: warmLast, ranges: { before: beforeRange, storm: stormRange } }, 'verify', 60_000)));
    const lat = { before: new Map() as Hist, storm: new Map() as Hist };
    const times: number[] = [];
    const timesBy: Partial<Record<Transport, number[]>> = {};
    verdicts.forEach((v, i) => {
      const p = procs[i];
      for (const k of ['clients', 'exact', 'missing', 'duplicated', 'outOfOrder', 'unknown'] as const) r.verify[k] += v[k];
      r.verify.examples.push(...v.examples.slice(0, 3 - r.verify.examples.length).map((e) => `${p.transport} ${p.role} ${e}`));
      if (p.role === 'survivor') {
        merge(lat.before, v.latency.before);
        merge(lat.storm, v.latency.storm);
        return;
      }
      if (p.transport === 'socketio') {
        r.recovered += v.recovered;
        r.notRecovered += v.notRecovered;
      } else r.gqlReconnects += v.recovered;
      const ok = v.resumedAt.filter((t) => t > 0);
      times.push(...ok);
      (timesBy[p.transport] ??= []).push(...ok);
    });
    r.latency = { before: summarize(lat.before), storm: summarize(lat.storm) };
    const sorted = times.map((t) => t - tSwitch).sort((x, y) => x - y);
    r.resumed = sorted.length;
    r.fromSwitch = { p50: rank(sorted, 0.5), p99: rank(sorted, 0.99), p100: sorted.length === o.n ? sorted[sorted.length - 1] : NaN };
    r.fromKill = { p99: r.fromSwitch.p99 + r.awayMs, p100: r.fromSwitch.p100 + r.awayMs };
    for (const [t, list] of Object.entries(timesBy) as Array<[Transport, number[]]>) {
      const s = list.map((x) => x - tSwitch).sort((x, y) => x - y);
      r.byTransport[t] = { resumed: s.length, p99: rank(s, 0.99), p100: s.length === r.clients[t] ? s[s.length - 1] : NaN };
    }
    const bad = r.verify.clients - r.verify.exact;
    if (bad) errors.push(`storm: ${bad} of ${r.verify.clients} clients do not hold every event exactly once in order (missing ${r.verify.missing}, duplicated ${r.verify.duplicated}, out of order ${r.verify.outOfOrder}, unknown ${r.verify.unknown}): ${r.verify.examples.join('; ')}`);
    if (r.notRecovered) errors.push(`storm: ${r.notRecovered} Socket.IO reconnections were not recovered`);
    log(`    ${r.resumed}/${o.n} resumed: 99 % in ${r.fromSwitch.p99} ms, 100 % in ${r.fromSwitch.p100} ms after B was reachable; ` +
      `shop_events reads ${r.storm.tables.shop_events ?? 0} (control ${r.control.tables.shop_events ?? 0}); survivors p99 ${r.latency.storm.p99} ms (before ${r.latency.before.p99} ms)`);
  } catch (err) {
    errors.push(`storm: ${err instanceof Error ? err.message : String(err)}`);
    log(`    ERROR ${errors[errors.length - 1].split('\n')[0]}`);
  } finally {
    await Promise.all(procs.map((p) => p.close()));
    await proxy?.close();
    await pg.end().catch(() => undefined);
    await Promise.all(servers.map((s) => s.stop()));
  }

  // Socket.IO fan-out CPU per delivered message, recovery on vs off, in alternating order.
  const order = o.smoke ? [true, false] : [true, false, false, true];
  const runs: NonNullable<StormResult['cpu']>['runs'] = [];
  for (const [k, on] of order.entries()) {
    log(`storm: Socket.IO fan-out, recovery ${on ? 'on' : 'off'} (${k + 1}/${order.length}), N = ${o.cpuN}`);
    const g: GroupResult = await runGroup(
      { id: `storm-cpu-recovery-${on ? 'on' : 'off'}-${k + 1}`, target: 'product', n: o.cpuN, mix: 'socketio', phases: ['burst'] },
      on ? ctx : { ...ctx, productEnv: { ...ctx.productEnv, env: { ...ctx.productEnv.env, SOCKET_RECOVERY_SECONDS: '0' } } },
    );
    const burst = g.phases.find((p) => p.phase === 'burst');
    runs.push({ recovery: on, cpuPerMsgUs: burst?.cpuPerMsgUs ?? NaN, delivered: burst?.delivered ?? 0, otherLoadPct: burst?.otherLoadPct ?? NaN, errors: g.errors });
    errors.push(...g.errors.map((e) => `storm cpu (recovery ${on ? 'on' : 'off'}): ${e}`));
    log(`    ${burst?.delivered ?? 0} msgs, ${burst?.cpuPerMsgUs.toFixed(1)} µs/msg`);
  }
  const mean = (on: boolean) => {
    const v = runs.filter((x) => x.recovery === on).map((x) => x.cpuPerMsgUs);
    return v.reduce((s, x) => s + x, 0) / v.length;
  };
  r.cpu = { n: o.cpuN, runs, on: mean(true), off: mean(false), ratio: mean(true) / mean(false) };
  return r;
}

// ------------------------------------------------------------------ report

const f0 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : Math.round(v).toLocaleString('en-US'));
const f1 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(1));
const f3 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(3));
const ok = (met: boolean | null) => (met === null ? '—' : met ? '✅' : '❌');

/** The "Reconnect storm" section of BENCHMARKS.md (between markers, so `--storm-only` can replace it). */
export function stormSection(s: StormResult | undefined, run: { date: string; command: string; mode: string }): string[] {
  if (!s) return [];
  const L: string[] = ['## Reconnect storm (issue 12)', ''];
  L.push(`Measured ${run.date} by \`${run.command}\`${run.mode === 'smoke' ? ' (smoke: too few clients to mean anything)' : ''}.`);
  L.push('');
  const n = s.opts.n;
  const resumeReads = (t: string) => (s.storm.tables[t] ?? 0) - (s.control.tables[t] ?? 0);
  const logReads = s.storm.tables.shop_events ?? 0;
  const perClient = s.resumed ? logReads / s.resumed : NaN;
  const allReads = Object.values(s.storm.tables).reduce((a, b) => a + b, 0);
  const allControl = Object.values(s.control.tables).reduce((a, b) => a + b, 0);
  const allExtra = allReads - allControl;
  L.push(
    `- **Set-up**: two product processes A and B (\`node dist/src/main.js\`, one PostgreSQL, one Redis). ${f0(n)} clients on A — ${f0(s.clients.socketio)} socket.io-client 4 (stock reconnection settings, websocket, through a TCP proxy in the harness) and ${f0(s.clients['graphql-ws'])} graphql-ws clients (\`url\` function, \`connectionParams: () => ({ lastEventId })\`, default retry wait) — plus ${f0(s.survivors)} clients on B all along (half per transport). Each follows one product (\`product_<id>\` room / \`productStockUpdate(productId)\`), anonymously. Clients run in separate processes of at most 2,500 connections.`,
    `- **Storm**: after a warm-up and ${s.beforeEvents} events at ${s.rate}/s (the survivors' "before"), A is killed with SIGKILL; ${s.missedEvents} events are raised on B while A's clients cannot connect anywhere (${f0(s.awayMs)} ms); then the proxy and the \`url\` function point at B, and events go on at ${s.rate}/s until every client is back (${s.stormEvents} events). A client has **resumed** when it holds the last missed event (with every earlier one: checked below).`,
    `- **Every client ends with every event exactly once, in order**: ${f0(s.verify.exact)} of ${f0(s.verify.clients)} clients hold exactly the log's \`product_stock_update\` events of the product (from their first warm-up event on)${s.verify.clients - s.verify.exact ? ` — **${s.verify.missing} missing, ${s.verify.duplicated} duplicated, ${s.verify.outOfOrder} out of order**` : ''}. Socket.IO reconnections with \`socket.recovered === true\`: ${f0(s.recovered)} (not recovered: ${f0(s.notRecovered)}); graphql-ws reconnections: ${f0(s.gqlReconnects)}.`,
    `- **Database reads** are counted by PostgreSQL: sequential + index scans per table (\`pg_stat_user_tables\`) and transactions (\`pg_stat_database\` commits + rollbacks) between readings taken ${STATS_FLUSH_MS / 1000} s after each window's last activity (a backend publishes its counts when it has been idle up to 10 s, or when it exits). The storm window runs from the kill until every client holds the last event; the control window follows it: the same ${s.control.events} events in the same rhythm (${s.missedEvents} as fast as B takes them, 4 in flight, then ${s.rate}/s) on B alone, with every client connected and nobody reconnecting. "Log reads" are scans of \`shop_events\` in the storm window (the event log: only replays, catch-ups and the pruning read it); "resume reads" are the storm window's scans minus the control's (what the events and B's own loops cost is in both; the windows' lengths differ a little, so time-driven reads such as the 1-second poll of \`shop_event_state\` do not cancel exactly).`,
  );
  L.push('');
  const t99 = s.fromSwitch.p99;
  L.push('| target | measured | met |', '| --- | --- | :---: |');
  L.push(`| 99 % of ${f0(n)} clients resumed with all ${s.missedEvents} missed events | ${f0(t99)} ms after B was reachable (${f0(s.fromKill.p99)} ms after the kill); 100 %: ${f0(s.fromSwitch.p100)} ms | ${ok(s.resumed === n && s.verify.exact === s.verify.clients ? true : s.resumed ? false : null)} (every event, once, in order) |`);
  L.push(`| log reads (\`shop_events\` scans) per resumed client ≤ 0.01 | ${f0(logReads)} reads / ${f0(s.resumed)} clients = ${f3(perClient)} | ${ok(Number.isFinite(perClient) ? perClient <= 0.01 : null)} |`);
  L.push(`| all table scans per resumed client (resume reads, any table) | ${f0(allExtra)} / ${f0(s.resumed)} = ${f3(s.resumed ? allExtra / s.resumed : NaN)} | ${ok(s.resumed ? allExtra / s.resumed <= 0.01 : null)} |`);
  L.push(`| survivors' p99 during the storm vs before | ${f0(s.latency.storm.p99)} vs ${f0(s.latency.before.p99)} ms (${f1(s.latency.storm.p99 / s.latency.before.p99)}×) | — |`);
  if (s.cpu) L.push(`| Socket.IO fan-out CPU per delivered message, recovery on ≤ 1.10× off | ${f1(s.cpu.on)} vs ${f1(s.cpu.off)} µs (${f1(s.cpu.ratio * 100 - 100)} %) | ${ok(Number.isFinite(s.cpu.ratio) ? s.cpu.ratio <= 1.1 : null)} |`);
  L.push('');
  L.push('**Resume times** (ms after B was reachable, by transport):', '');
  L.push('| transport | clients | resumed | p99 | 100 % |', '| --- | ---: | ---: | ---: | ---: |');
  for (const [t, v] of Object.entries(s.byTransport)) L.push(`| ${t === 'socketio' ? 'Socket.IO' : 'graphql-ws'} | ${f0(s.clients[t as Transport])} | ${f0(v!.resumed)} | ${f0(v!.p99)} | ${f0(v!.p100)} |`);
  L.push('');
  L.push('Both clients wait before reconnecting (socket.io-client: 1 s ± 50 %, doubling; graphql-ws: 1 s doubling + 0.3–3 s), and the clients that tried while no instance was reachable wait once more, so these times are mostly the clients\' own back-off; the server side is what the reads and the survivors\' latency show.');
  L.push('');
  L.push('**Reads by table** (scans; transactions on the last row):', '');
  L.push(`| table | control (${s.control.events} events, ${f1(s.control.ms / 1000)} s) | storm (${s.storm.events} events, ${f1(s.storm.ms / 1000)} s) | resume reads | per resumed client |`);
  L.push('| --- | ---: | ---: | ---: | ---: |');
  const names = [...new Set([...Object.keys(s.control.tables), ...Object.keys(s.storm.tables)])].sort();
  for (const t of names) L.push(`| \`${t}\` | ${f0(s.control.tables[t] ?? 0)} | ${f0(s.storm.tables[t] ?? 0)} | ${f0(resumeReads(t))} | ${f3(s.resumed ? resumeReads(t) / s.resumed : NaN)} |`);
  const xExtra = s.storm.xacts - s.control.xacts;
  L.push(`| transactions | ${f0(s.control.xacts)} | ${f0(s.storm.xacts)} | ${f0(xExtra)} | ${f3(s.resumed ? xExtra / s.resumed : NaN)} |`);
  L.push('');
  L.push(`**Survivors' latency** (${f0(s.survivors)} clients on B throughout; commit → receipt, ms): before ${f0(s.latency.before.count)} deliveries p50 ${f0(s.latency.before.p50)} / p99 ${f0(s.latency.before.p99)} / max ${f0(s.latency.before.max)}; during the storm ${f0(s.latency.storm.count)} deliveries p50 ${f0(s.latency.storm.p50)} / p99 ${f0(s.latency.storm.p99)} / max ${f0(s.latency.storm.max)}.`);
  L.push('');
  if (s.cpu) {
    L.push(`**Socket.IO fan-out CPU, connection state recovery on vs off** (\`SOCKET_RECOVERY_SECONDS=0\`), the regular fan-out scenario (product · Socket.IO, burst phase) at N = ${f0(s.cpu.n)}, runs in alternating order, server CPU per delivered message:`, '');
    L.push('| run | recovery | delivered | µs / message | other load % |', '| ---: | --- | ---: | ---: | ---: |');
    s.cpu.runs.forEach((x, k) => L.push(`| ${k + 1} | ${x.recovery ? 'on' : 'off'} | ${f0(x.delivered)} | ${f1(x.cpuPerMsgUs)} | ${f0(x.otherLoadPct)} |`));
    L.push('');
  }
  if (s.errors.length) {
    L.push('**Problems**:', '');
    for (const e of s.errors) L.push(`- ${e.split('\n')[0]}`);
    L.push('');
  }
  return L;
}

/**
 * `--storm-only`: writes the storm section into `out` in place (replacing the previous one, or
 * appended), leaving the rest of the report as the last full run wrote it.
 */
export function writeStormOnly(run: { storm?: StormResult; date: string; command: string; mode: string; errors: string[] }, out: string): string {
  writeSection(out, 'storm', stormSection(run.storm, run));
  const s = run.storm;
  return s
    ? `Storm: ${s.resumed}/${s.opts.n} resumed, 99 % in ${f0(s.fromSwitch.p99)} ms; log reads ${s.storm.tables.shop_events ?? 0}; ` +
        `survivors p99 ${f0(s.latency.storm.p99)} vs ${f0(s.latency.before.p99)} ms; recovery CPU ${f1(s.cpu?.on)} vs ${f1(s.cpu?.off)} µs/msg`
    : 'Storm: did not run';
}
