/**
 * Replay: graphql-ws subscribers resuming `after` a position of the event log.
 *
 * Events are raised while nobody listens (real `adjustStock` mutations, |stockChange| = 5, so each
 * raises an `inventory_update`), then subscribers connect, and subscribe at once with
 * `inventoryUpdate(after: <eventId>)`:
 *  - on the instance that relayed those events (they are in its memory of recent events), and
 *  - on an instance started afterwards (nothing in memory: it reads the log),
 * one subscriber from `events` back, and a crowd from `crowdEvents` back (the same position for all).
 *
 * Log reads are counted by PostgreSQL, not by the product: index and sequential scans of
 * `shop_events` (`pg_stat_user_tables`) over a window in which nothing else reads that table. A
 * backend publishes its table statistics when it is idle (up to 10 s later) or when it exits, so
 * each window closes only after the product instance was stopped, and opens after a quiet wait.
 */
import { Client as PgClient } from 'pg';
import { formatEventId } from '../src/events/event-log';
import { ClientProc, makeTrigger, type FanoutContext } from './fanout';
import { cpuMicros, sleep } from './lib/proc';
import { Phase, RESUME_SUBSCRIPTION } from './lib/protocol';
import { startProduct, type ServerProc } from './lib/servers';

export interface ReplayRun {
  id: string;
  /** Where the instance found the events: its memory of recent events, or the log. */
  source: 'memory' | 'log';
  subscribers: number;
  /** `inventory_update` events after the position: what each subscriber must receive. */
  eventsBack: number;
  /** Log positions after it (every durable event, `product_stock_update` too). */
  positionsBack: number;
  expected: number;
  delivered: number;
  clientsShort: number;
  clientsOver: number;
  outOfOrder: number;
  /** From the subscribe messages to the first replayed event, and to the last subscriber's last one. */
  firstMs: number;
  allMs: number;
  /** eventsBack ÷ allMs: events per second each subscriber got. */
  eventsPerSec: number;
  /** delivered ÷ allMs: messages per second the instance wrote. */
  messagesPerSec: number;
  serverCpuPerMsgUs: number;
  /** Scans of `shop_events` (index + sequential) and rows they returned, in this run's window. */
  logScans?: number;
  logRows?: number;
  /**
   * Scans of `shop_event_state` (the log's last and pruned positions) in the same window: what
   * checking each resume point costs; every instance's poll adds about one per second.
   */
  stateScans?: number;
  /** Length of the statistics window (s): the instance's whole life for the log runs. */
  windowSeconds?: number;
}

export interface ReplayResult {
  raised: number;
  raiseSeconds: number;
  runs: ReplayRun[];
  errors: string[];
}

export interface ReplayOptions {
  ctx: FanoutContext;
  /** The product's database (the harness reads positions and statistics from it). */
  databaseUrl: string;
  /** Events raised while away; the single subscriber resumes from before all of them. */
  events: number;
  crowd: number;
  /** The crowd resumes from this many events back. */
  crowdEvents: number;
  stallMs: number;
  log: (s: string) => void;
}

/** A backend publishes its statistics within PGSTAT_IDLE_INTERVAL (10 s) of going idle. */
const STATS_FLUSH_MS = 11_000;
const PER_CLIENT_PROCESS = 500;

interface Scans { scans: number; rows: number; state: number; at: number }

export async function runReplay(o: ReplayOptions): Promise<ReplayResult> {
  const result: ReplayResult = { raised: 0, raiseSeconds: 0, runs: [], errors: [] };
  const { ctx, log } = o;
  // One connection reads statistics only (its own statements touch no shop_events rows).
  const stats = new PgClient({ connectionString: o.databaseUrl });
  await stats.connect();
  const scans = async (): Promise<Scans> => {
    await stats.query('select pg_stat_clear_snapshot()');
    const r = await stats.query<{ relname: string; scans: string; rows: string }>(
      `select relname, coalesce(seq_scan, 0) + coalesce(idx_scan, 0) as scans, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) as rows
         from pg_stat_user_tables where relname in ('shop_events', 'shop_event_state')`);
    const of = (t: string) => r.rows.find((x) => x.relname === t);
    return { scans: Number(of('shop_events')?.scans ?? 0), rows: Number(of('shop_events')?.rows ?? 0), state: Number(of('shop_event_state')?.scans ?? 0), at: Date.now() };
  };
  /** Statistics once the backends of a stopped instance have exited and published theirs. */
  const settled = async (): Promise<Scans> => {
    let prev = await scans();
    for (let i = 0; i < 20; i++) {
      await sleep(500);
      const now = await scans();
      if (now.scans === prev.scans && now.rows === prev.rows && now.state === prev.state) return now;
      prev = now;
    }
    return prev;
  };
  const servers: ServerProc[] = [];
  const stop = async (s: ServerProc) => {
    servers.splice(servers.indexOf(s), 1);
    await s.stop();
  };
  try {
    // The instance that relays (and so remembers) the events.
    const relay = await startProduct(ctx.productEnv, 'replay-relay');
    servers.push(relay);
    const trigger = makeTrigger('product', [relay], ctx);
    for (let i = 0; i < 20; i++) await trigger(Phase.warmup);

    // Positions and ids through a connection of its own, closed before any window opens.
    const q = new PgClient({ connectionString: o.databaseUrl });
    await q.connect();
    let single: { after: string; at: number; eventsBack: number; positionsBack: number };
    let crowd: typeof single;
    try {
      const quiet = async () => {
        for (let i = 0; i < 100; i++) {
          const r = await q.query<{ n: string }>('select count(*) as n from shop_outbox');
          if (Number(r.rows[0].n) === 0) break;
          await sleep(100);
        }
        await sleep(300);
      };
      await quiet();
      const p0 = Number((await q.query<{ last_id: string }>('select last_id from shop_event_state')).rows[0].last_id);
      log(`  replay: raising ${o.events} events with nobody subscribed (after position ${p0})`);
      const t0 = Date.now();
      let next = 0;
      let failed = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (next < o.events) {
          next++;
          if (!(await trigger(Phase.replay))) failed++;
        }
      }));
      result.raiseSeconds = (Date.now() - t0) / 1000;
      result.raised = o.events - failed;
      if (failed) result.errors.push(`${failed} adjustStock mutations failed while raising the replayed events`);
      await quiet();
      const last = Number((await q.query<{ last_id: string }>('select last_id from shop_event_state')).rows[0].last_id);
      const point = async (at: number) => {
        // The log stores payloads without their eventId: it is the position, formatted.
        const r = await q.query<{ n: string }>(
          `select count(*) as n from shop_events where id > $1 and name = 'inventory_update'`, [at]);
        return { after: formatEventId(at), at, eventsBack: Number(r.rows[0].n), positionsBack: last - at };
      };
      single = await point(p0);
      // The crowd's position: just before the crowdEvents-th last inventory_update.
      const c = await q.query<{ id: string }>(
        `select id from shop_events where id > $1 and name = 'inventory_update' order by id desc offset $2 limit 1`, [p0, o.crowdEvents - 1]);
      crowd = c.rows.length ? await point(Number(c.rows[0].id) - 1) : single;
      log(`  replay: ${single.eventsBack} events (${single.positionsBack} positions) in ${result.raiseSeconds.toFixed(1)} s; the crowd resumes ${crowd.eventsBack} events back`);
    } finally {
      await q.end();
    }

    const run = async (id: string, source: ReplayRun['source'], server: ServerProc, n: number, from: typeof single): Promise<ReplayRun> => {
      const clients: ClientProc[] = [];
      try {
        const procs = Math.ceil(n / PER_CLIENT_PROCESS);
        for (let p = 0; p < procs; p++) {
          const count = Math.floor(n / procs) + (p < n % procs ? 1 : 0);
          clients.push(new ClientProc('graphql-ws', count, server.url));
        }
        const ready = await Promise.all(clients.map((c) =>
          c.ask({ type: 'connect', transport: 'graphql-ws', url: c.url, count: c.count, concurrency: 100, label: id, defer: true }, 'ready', 120_000)));
        const failed = ready.reduce((s, r) => s + r.failed, 0);
        if (failed) throw new Error(`${failed} graphql-ws connections failed: ${ready.flatMap((r) => r.errors).join('; ')}`);
        const expected = n * from.eventsBack;
        const cpu0 = cpuMicros(server.pid);
        const t0 = Date.now();
        await Promise.all(clients.map((c) => c.ask({ type: 'subscribe', query: RESUME_SUBSCRIPTION, variables: { after: from.after } }, 'subscribed')));
        // Until every subscriber has its replay, or no progress for stallMs.
        let got = -1;
        let lastChange = Date.now();
        for (;;) {
          if (!server.alive()) throw new Error(`${server.name} died. Log:\n${server.logTail()}`);
          const counts = await Promise.all(clients.map((c) => c.ask({ type: 'counts' }, 'counts')));
          const now = counts.reduce((s, r) => s + r.perPhase[Phase.replay], 0);
          if (now >= expected) break;
          if (now !== got) {
            got = now;
            lastChange = Date.now();
          } else if (Date.now() - lastChange > o.stallMs) break;
          await sleep(50);
        }
        const cpu1 = cpuMicros(server.pid);
        const reports = await Promise.all(clients.map((c) => c.ask({ type: 'report', phase: Phase.replay, expectedPerClient: from.eventsBack }, 'report')));
        const end = await Promise.all(clients.map((c) => c.ask({ type: 'counts' }, 'counts')));
        const delivered = reports.reduce((s, r) => s + r.received, 0);
        const first = Math.min(...reports.map((r) => r.firstRecv || Infinity));
        const lastRecv = Math.max(...reports.map((r) => r.lastRecv));
        const allMs = Math.max(1, lastRecv - t0);
        const r: ReplayRun = {
          id, source, subscribers: n, eventsBack: from.eventsBack, positionsBack: from.positionsBack, expected, delivered,
          clientsShort: reports.reduce((s, x) => s + x.clientsShort, 0),
          clientsOver: reports.reduce((s, x) => s + x.clientsOver, 0),
          outOfOrder: end.reduce((s, x) => s + x.outOfOrder, 0),
          firstMs: Number.isFinite(first) ? first - t0 : NaN,
          allMs,
          eventsPerSec: (from.eventsBack / allMs) * 1000,
          messagesPerSec: (delivered / allMs) * 1000,
          serverCpuPerMsgUs: delivered ? (cpu1 - cpu0) / delivered : NaN,
        };
        const errs = end.reduce((s, x) => s + x.errors + x.unexpectedCloses, 0);
        if (delivered !== expected || r.clientsShort || r.clientsOver) result.errors.push(`${id}: delivered ${delivered}/${expected} (${r.clientsShort} subscribers short, ${r.clientsOver} over)`);
        if (r.outOfOrder) result.errors.push(`${id}: ${r.outOfOrder} events out of order or repeated`);
        if (errs) result.errors.push(`${id}: ${errs} client-side errors or closes`);
        log(`    ${id}: ${n} × ${from.eventsBack} events from ${source}: all in ${allMs} ms (first after ${f0(r.firstMs)} ms), ` +
          `${f0(r.eventsPerSec)} events/s per subscriber, ${f0(r.messagesPerSec)} msgs/s, ${r.serverCpuPerMsgUs.toFixed(1)} µs CPU/msg`);
        return r;
      } finally {
        await Promise.all(clients.map((c) => c.close()));
      }
    };

    // From memory, on the instance that relayed the events: one window for both runs.
    await sleep(STATS_FLUSH_MS);
    const m0 = await scans();
    const mem1 = await run('memory-1', 'memory', relay, 1, single);
    const memN = await run(`memory-${o.crowd}`, 'memory', relay, o.crowd, crowd);
    await stop(relay);
    const m1 = await settled();
    mem1.logScans = memN.logScans = m1.scans - m0.scans;
    mem1.logRows = memN.logRows = m1.rows - m0.rows;
    mem1.stateScans = memN.stateScans = m1.state - m0.state;
    mem1.windowSeconds = memN.windowSeconds = (m1.at - m0.at) / 1000;
    result.runs.push(mem1, memN);

    // From the log, each on an instance started after the events (nothing of them in its memory; a
    // cold process, as after a restart: warming it up would need a log read inside the window).
    for (const [id, n, from] of [['log-1', 1, single], [`log-${o.crowd}`, o.crowd, crowd]] as const) {
      const s0 = await settled();
      const fresh = await startProduct(ctx.productEnv, `replay-${id}`);
      servers.push(fresh);
      const r = await run(id, 'log', fresh, n, from);
      await stop(fresh);
      const s1 = await settled();
      r.logScans = s1.scans - s0.scans;
      r.logRows = s1.rows - s0.rows;
      r.stateScans = s1.state - s0.state;
      r.windowSeconds = (s1.at - s0.at) / 1000;
      log(`    ${id}: ${r.logScans} scans of shop_events (${r.logRows} rows) = ${(r.logScans / n).toFixed(4)} per subscriber; ${r.stateScans} of shop_event_state in ${r.windowSeconds.toFixed(0)} s`);
      result.runs.push(r);
    }
  } catch (err) {
    result.errors.push(err instanceof Error ? err.message : String(err));
  } finally {
    for (const s of servers.splice(0)) await s.stop();
    await stats.end();
  }
  return result;
}

const f0 = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '—');
