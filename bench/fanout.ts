/**
 * One fan-out group: fresh server process(es), N real load clients in separate processes, then the
 * measured phases (1 event/s, paced 5 events/s, burst), every message accounted for.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { cpuMicros, machineBusyMicros, rssBytes, sleep, stopChild, sumOver, track } from './lib/proc';
import { Phase, type FromClient, type ToClient, type Transport } from './lib/protocol';
import { RemoteProfiler, summarizeProfile, type CpuProfile, type ProfileSummary } from './lib/profiler';
import { startBaseline, startProduct, type ProductEnv, type ServerProc } from './lib/servers';
import { merge, summarize, type Hist, type Summary } from './lib/stats';

/** `product-before`: the product built from the commit before the event log (the same run's "before"). */
export type TargetKind = 'product' | 'product-2x' | 'product-before' | 'bare-socketio' | 'bare-graphql-ws';
export type Mix = 'socketio' | 'graphql-ws' | 'half';

export interface Durations {
  /** Seconds of the 1 event/s phase. */
  rate1: number;
  /** Seconds of the paced 5 events/s phase. */
  rate5: number;
  /** Target number of messages (events × clients) of the burst; events = clamp(this / N). */
  burstMessages: number;
  burstMinEvents: number;
  burstMaxEvents: number;
  /** Give up waiting for a phase's messages after this long without progress. */
  stallMs: number;
  /** Seconds to wait after connecting before measuring RSS. */
  settleMs: number;
  /** How long to measure the idle CPU with N clients connected. */
  idleMs: number;
  clientsPerProcess: number;
  connectConcurrency: number;
}

export interface GroupSpec {
  id: string;
  target: TargetKind;
  n: number;
  mix: Mix;
  phases: Array<'rate1' | 'rate5' | 'burst'>;
  /** Profile the (first) server during the burst through the inspector. */
  profile?: boolean;
}

export interface TransportStats extends Summary {
  delivered: number;
  expected: number;
}

export interface PhaseResult {
  phase: 'rate1' | 'rate5' | 'burst';
  events: number;
  failedTriggers: number;
  expected: number;
  delivered: number;
  clientsShort: number;
  clientsOver: number;
  latency: Summary;
  byTransport: Partial<Record<Transport, TransportStats>>;
  serverCpuUs: number;
  cpuPerMsgUs: number;
  clientCpuPerMsgUs: number;
  /**
   * Share of the machine (all cores) busy with anything but the server(s) and the load clients
   * during the phase: PostgreSQL, Redis, the orchestrator — and any foreign load (noise).
   */
  otherLoadPct: number;
  /** From the first send to the last receipt. */
  spanMs: number;
  msgsPerSec: number;
  /** Time to hand all events to the server (burst). */
  sendMs: number;
  payloadBytes: number;
}

export interface GroupResult {
  spec: GroupSpec;
  connected: number;
  connectFailed: number;
  connectMs: number;
  byTransportClients: Partial<Record<Transport, number>>;
  rssBefore: number;
  rssAfter: number;
  rssPerConn: number;
  warmupEvents: number;
  /** Server CPU (µs) per event with no client connected: the cost of publishing itself. */
  eventCostUs: number;
  /** Server CPU (ms per second) with N clients connected and idle. */
  idleCpuMsPerSec: number;
  phases: PhaseResult[];
  errors: string[];
  /** Run a second time because other processes loaded the machine during the first. */
  retried?: boolean;
  profile?: ProfileSummary & { file?: string };
  /** Profile of publishing events with no client connected (the mutation path alone). */
  eventProfile?: ProfileSummary;
  /** Profile of the idle window (N clients connected, no events). */
  idleProfile?: ProfileSummary;
  rawProfile?: CpuProfile;
}

/** A build of the product on its database: where to start it, and what its events adjust. */
export interface ProductTarget {
  productEnv: ProductEnv;
  /** Product id and variants of the bench product whose stock the events adjust. */
  eventProduct: { id: string; variants: Array<{ size: string; color: string }> };
  adminToken: string;
}

export interface FanoutContext extends ProductTarget {
  /** The build before the event log, on a database of its own (target `product-before`). */
  before?: ProductTarget;
  logDir: string;
  d: Durations;
  log: (s: string) => void;
}

const ADJUST = 'mutation Adjust($p: ID!, $v: VariantInput!, $d: Int!) { adjustStock(productId: $p, variant: $v, delta: $d) { id } }';

/** Publishes one event on the target and resolves when the server answered (true = published). */
type Trigger = (magnitude: number) => Promise<boolean>;

/** The product build a target kind runs. */
function productTarget(kind: TargetKind, ctx: FanoutContext): ProductTarget {
  if (kind !== 'product-before') return ctx;
  if (!ctx.before) throw new Error('no build before the event log in this run');
  return ctx.before;
}

export function makeTrigger(kind: TargetKind, servers: ServerProc[], ctx: FanoutContext): Trigger {
  let i = 0;
  if (kind === 'product' || kind === 'product-2x' || kind === 'product-before') {
    const { eventProduct, adminToken } = productTarget(kind, ctx);
    const body = (magnitude: number, k: number) =>
      JSON.stringify({
        query: ADJUST,
        variables: {
          p: eventProduct.id,
          v: eventProduct.variants[k % eventProduct.variants.length],
          d: (Math.floor(k / eventProduct.variants.length) % 2 === 0 ? -1 : 1) * magnitude,
        },
      });
    return async (magnitude) => {
      const k = i++;
      const server = servers[k % servers.length];
      try {
        const res = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
          body: body(magnitude, k),
        });
        const json = (await res.json()) as { errors?: Array<{ message: string }> };
        if (json.errors?.length) {
          ctx.log(`    adjustStock failed: ${json.errors[0].message}`);
          return false;
        }
        return true;
      } catch (err) {
        ctx.log(`    adjustStock failed: ${String(err)}`);
        return false;
      }
    };
  }
  return async (magnitude) => {
    const k = i++;
    const server = servers[k % servers.length];
    try {
      const sign = k % 2 === 0 ? -1 : 1;
      const res = await fetch(`${server.url}/publish?stockChange=${sign * magnitude}`, { method: 'POST' });
      await res.text();
      return res.status === 200;
    } catch (err) {
      ctx.log(`    publish failed: ${String(err)}`);
      return false;
    }
  };
}

/** One load-client process (bench/client.ts), driven over IPC. */
export class ClientProc {
  child: ChildProcess;
  private waiters: Array<{ type: string; resolve: (m: any) => void }> = [];
  fatal?: string;

  constructor(public transport: Transport, public count: number, public url: string) {
    this.child = track(fork(path.join(__dirname, 'client.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    this.child.on('message', (m: FromClient) => {
      if (m.type === 'fatal') {
        this.fatal = m.message;
        return;
      }
      const idx = this.waiters.findIndex((w) => w.type === m.type);
      if (idx >= 0) this.waiters.splice(idx, 1)[0].resolve(m);
    });
    this.child.on('exit', (code) => {
      if (code && !this.fatal) this.fatal = `client process exited with ${code}`;
      for (const w of this.waiters.splice(0)) w.resolve({ type: 'exited' });
    });
  }

  ask<T extends FromClient['type']>(msg: ToClient, reply: T, timeoutMs = 30_000): Promise<Extract<FromClient, { type: T }>> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`load client (${this.transport}) did not answer ${msg.type} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        type: reply,
        resolve: (m) => {
          clearTimeout(t);
          if (m.type === 'exited') reject(new Error(`load client (${this.transport}) exited: ${this.fatal ?? 'unknown'}`));
          else resolve(m);
        },
      });
      if (this.child.connected) this.child.send(msg);
      else reject(new Error(`load client (${this.transport}) is gone: ${this.fatal ?? 'unknown'}`));
    });
  }

  async close(): Promise<void> {
    try {
      await this.ask({ type: 'close' }, 'closed', 20_000);
    } catch {
      /* killed below */
    }
    await stopChild(this.child, 3000, 'SIGKILL');
  }
}

/** How many clients of each transport go to each server, in processes of at most `per` clients. */
function plan(spec: GroupSpec, servers: ServerProc[], per: number): Array<{ transport: Transport; url: string; count: number }> {
  const shares: Array<[Transport, number]> =
    spec.mix === 'half' ? [['socketio', Math.floor(spec.n / 2)], ['graphql-ws', spec.n - Math.floor(spec.n / 2)]] : [[spec.mix, spec.n]];
  const out: Array<{ transport: Transport; url: string; count: number }> = [];
  for (const [transport, total] of shares) {
    servers.forEach((s, si) => {
      const onServer = Math.floor(total / servers.length) + (si < total % servers.length ? 1 : 0);
      const procs = Math.max(1, Math.ceil(onServer / per));
      for (let p = 0; p < procs; p++) {
        const count = Math.floor(onServer / procs) + (p < onServer % procs ? 1 : 0);
        if (count > 0) out.push({ transport, url: s.url, count });
      }
    });
  }
  return out;
}

async function startServers(spec: GroupSpec, ctx: FanoutContext): Promise<ServerProc[]> {
  switch (spec.target) {
    case 'product':
      return [await startProduct(ctx.productEnv, `${spec.id}-a`, { inspect: spec.profile })];
    case 'product-before':
      return [await startProduct(productTarget(spec.target, ctx).productEnv, `${spec.id}-a`, { inspect: spec.profile })];
    case 'product-2x': {
      const a = await startProduct(ctx.productEnv, `${spec.id}-a`, { inspect: spec.profile });
      const b = await startProduct(ctx.productEnv, `${spec.id}-b`);
      return [a, b];
    }
    case 'bare-socketio':
      return [await startBaseline('socketio', ctx.logDir, { inspect: spec.profile })];
    case 'bare-graphql-ws':
      return [await startBaseline('graphql-ws', ctx.logDir)];
  }
}

export async function runGroup(spec: GroupSpec, ctx: FanoutContext): Promise<GroupResult> {
  const { d, log } = ctx;
  const result: GroupResult = {
    spec, connected: 0, connectFailed: 0, connectMs: 0, byTransportClients: {}, rssBefore: 0, rssAfter: 0, rssPerConn: 0,
    warmupEvents: 0, eventCostUs: NaN, idleCpuMsPerSec: NaN, phases: [], errors: [],
  };
  const servers = await startServers(spec, ctx);
  const pids = servers.map((s) => s.pid);
  const clients: ClientProc[] = [];
  let profiler: RemoteProfiler | undefined;
  const checkAlive = () => {
    for (const s of servers) if (!s.alive()) throw new Error(`${s.name} died. Log:\n${s.logTail()}`);
    for (const c of clients) if (c.fatal) throw new Error(`a load client failed: ${c.fatal}`);
  };
  try {
    const trigger = makeTrigger(spec.target, servers, ctx);
    // Warm the server's code paths with no clients connected, then measure the fixed cost of one
    // event (the trigger itself: for the product, the HTTP mutation, SQL and publish) as the median
    // of three batches, and take the idle RSS.
    for (let i = 0; i < 20; i++) await trigger(Phase.warmup);
    await sleep(300);
    if (spec.profile && servers[0].inspectPort) profiler = await RemoteProfiler.attach(servers[0].inspectPort);
    {
      const k = 10;
      const costs: number[] = [];
      await profiler?.start();
      for (let batch = 0; batch < 3; batch++) {
        const c0 = sumOver(pids, cpuMicros);
        for (let i = 0; i < k; i++) await trigger(Phase.warmup);
        await sleep(50);
        costs.push((sumOver(pids, cpuMicros) - c0) / k);
      }
      result.eventCostUs = costs.sort((a, b) => a - b)[1];
      if (profiler) result.eventProfile = summarizeProfile(await profiler.stop());
    }
    await sleep(500);
    result.rssBefore = sumOver(pids, rssBytes);

    const started = Date.now();
    for (const p of plan(spec, servers, d.clientsPerProcess)) clients.push(new ClientProc(p.transport, p.count, p.url));
    const ready = await Promise.all(
      clients.map((c) => c.ask({ type: 'connect', transport: c.transport, url: c.url, count: c.count, concurrency: d.connectConcurrency, label: spec.id }, 'ready', 300_000)),
    );
    result.connectMs = Date.now() - started;
    ready.forEach((r, i) => {
      result.connected += r.connected;
      result.connectFailed += r.failed;
      const t = clients[i].transport;
      result.byTransportClients[t] = (result.byTransportClients[t] ?? 0) + r.connected;
      if (r.failed) result.errors.push(`${r.failed} ${t} connections failed: ${r.errors.join('; ')}`);
    });
    log(`    ${result.connected}/${spec.n} connected in ${(result.connectMs / 1000).toFixed(1)} s`);
    if (result.connectFailed) throw new Error(result.errors.join('\n'));
    await sleep(d.settleMs);
    checkAlive();
    result.rssAfter = sumOver(pids, rssBytes);
    result.rssPerConn = (result.rssAfter - result.rssBefore) / result.connected;

    const poll = async () => {
      const all = await Promise.all(clients.map((c) => c.ask({ type: 'counts' }, 'counts')));
      const perPhase = all.reduce((s, r) => s.map((v, i) => v + r.perPhase[i]), new Array<number>(all[0].perPhase.length).fill(0));
      return {
        perPhase,
        withWarmup: all.reduce((s, r) => s + r.withWarmup, 0),
        unexpectedCloses: all.reduce((s, r) => s + r.unexpectedCloses, 0),
        errors: all.reduce((s, r) => s + r.errors, 0),
      };
    };

    /** Waits until `phase` has `expected` messages, or no progress for stallMs. */
    const drain = async (phase: number, expected: number) => {
      let last = -1;
      let lastChange = Date.now();
      for (;;) {
        checkAlive();
        const c = await poll();
        const got = c.perPhase[phase];
        if (got >= expected) return got;
        if (got !== last) {
          last = got;
          lastChange = Date.now();
        } else if (Date.now() - lastChange > d.stallMs) return got;
        await sleep(100);
      }
    };

    // Warm-up: until every client has received an event (graphql-ws subscriptions have no ack).
    for (let attempt = 0; attempt < 10; attempt++) {
      if (await trigger(Phase.warmup)) result.warmupEvents++;
      const until = Date.now() + Math.max(3000, d.stallMs);
      let c = await poll();
      let stableSince = Date.now();
      let prev = c.perPhase[Phase.warmup];
      while (c.withWarmup < result.connected && Date.now() < until) {
        await sleep(100);
        c = await poll();
        if (c.perPhase[Phase.warmup] !== prev) {
          prev = c.perPhase[Phase.warmup];
          stableSince = Date.now();
        } else if (Date.now() - stableSince > 1500) break;
      }
      if (c.withWarmup >= result.connected) break;
    }
    let w = await poll();
    if (w.withWarmup < result.connected) throw new Error(`${result.connected - w.withWarmup} clients never received a warm-up event`);
    // Let the warm-up traffic finish before measuring.
    for (let prev = -1; prev !== w.perPhase[Phase.warmup]; ) {
      prev = w.perPhase[Phase.warmup];
      await sleep(300);
      w = await poll();
    }

    // Idle cost: server CPU per second with N clients connected and no events.
    {
      await profiler?.start();
      const c0 = sumOver(pids, cpuMicros);
      const t = Date.now();
      await sleep(d.idleMs);
      result.idleCpuMsPerSec = (sumOver(pids, cpuMicros) - c0) / (Date.now() - t);
      if (profiler) result.idleProfile = summarizeProfile(await profiler.stop());
    }

    for (const phaseName of spec.phases) {
      const phase = phaseName === 'rate1' ? Phase.rate1 : phaseName === 'rate5' ? Phase.rate5 : Phase.burst;
      const cpu0 = sumOver(pids, cpuMicros);
      const clientCpu0 = sumOver(clients.map((c) => c.child.pid!), cpuMicros);
      const machine0 = machineBusyMicros();
      const t0 = Date.now();
      let events = 0;
      let failed = 0;
      const count = (ok: boolean): void => void (ok ? events++ : failed++);
      let sendMs = 0;
      if (phaseName === 'burst') {
        if (profiler) await profiler.start();
        const m = Math.max(d.burstMinEvents, Math.min(d.burstMaxEvents, Math.round(d.burstMessages / spec.n)));
        let next = 0;
        const concurrency = 8;
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (next < m) {
              next++;
              count(await trigger(phase));
            }
          }),
        );
        sendMs = Date.now() - t0;
      } else {
        const rate = phaseName === 'rate1' ? 1 : 5;
        const secs = phaseName === 'rate1' ? d.rate1 : d.rate5;
        const total = Math.max(1, Math.round(rate * secs));
        const sends: Promise<void>[] = [];
        for (let k = 0; k < total; k++) {
          const due = t0 + (k * 1000) / rate;
          const wait = due - Date.now();
          if (wait > 0) await sleep(wait);
          sends.push(trigger(phase).then(count));
        }
        await Promise.all(sends);
        sendMs = Date.now() - t0;
      }
      const expected = events * result.connected;
      await drain(phase, expected);
      const cpu1 = sumOver(pids, cpuMicros);
      const clientCpu1 = sumOver(clients.map((c) => c.child.pid!), cpuMicros);
      const machine1 = machineBusyMicros();
      const wallUs = (Date.now() - t0) * 1000;
      if (phaseName === 'burst' && profiler) {
        result.rawProfile = await profiler.stop();
        result.profile = summarizeProfile(result.rawProfile);
      }
      const reports = await Promise.all(clients.map((c) => c.ask({ type: 'report', phase, expectedPerClient: events }, 'report')));
      const all: Hist = new Map();
      const byT: Partial<Record<Transport, { hist: Hist; delivered: number; expected: number }>> = {};
      let delivered = 0;
      let short = 0;
      let over = 0;
      let lastRecv = 0;
      let bytes = 0;
      reports.forEach((r, i) => {
        merge(all, r.hist);
        const t = clients[i].transport;
        const bt = (byT[t] ??= { hist: new Map(), delivered: 0, expected: 0 });
        merge(bt.hist, r.hist);
        bt.delivered += r.received;
        bt.expected += events * clients[i].count;
        delivered += r.received;
        short += r.clientsShort;
        over += r.clientsOver;
        lastRecv = Math.max(lastRecv, r.lastRecv);
        bytes = bytes || r.bytes;
      });
      const spanMs = Math.max(1, lastRecv - t0);
      const pr: PhaseResult = {
        phase: phaseName, events, failedTriggers: failed, expected, delivered, clientsShort: short, clientsOver: over,
        latency: summarize(all),
        byTransport: Object.fromEntries(Object.entries(byT).map(([t, v]) => [t, { ...summarize(v.hist), delivered: v.delivered, expected: v.expected }])),
        serverCpuUs: cpu1 - cpu0,
        cpuPerMsgUs: delivered ? (cpu1 - cpu0) / delivered : NaN,
        clientCpuPerMsgUs: delivered ? (clientCpu1 - clientCpu0) / delivered : NaN,
        otherLoadPct: Math.max(0, (100 * (machine1 - machine0 - (cpu1 - cpu0) - (clientCpu1 - clientCpu0))) / (wallUs * availableParallelism())),
        spanMs, msgsPerSec: (delivered / spanMs) * 1000, sendMs, payloadBytes: bytes,
      };
      result.phases.push(pr);
      const lat = pr.latency;
      log(
        `    ${phaseName.padEnd(5)} ${events} ev → ${delivered}/${expected} msgs` +
          `  p50 ${lat.p50} p95 ${lat.p95} p99 ${lat.p99} ms  cpu ${pr.cpuPerMsgUs.toFixed(1)} µs/msg` +
          (phaseName === 'burst' ? `  ${Math.round(pr.msgsPerSec)} msgs/s` : ''),
      );
      if (failed) result.errors.push(`${phaseName}: ${failed} triggers failed`);
      if (delivered !== expected || short || over) result.errors.push(`${phaseName}: delivered ${delivered}/${expected} (${short} clients short, ${over} over)`);
    }
    const end = await poll();
    if (end.unexpectedCloses) result.errors.push(`${end.unexpectedCloses} connections closed unexpectedly`);
    if (end.errors) result.errors.push(`${end.errors} client-side errors`);
    checkAlive();
  } catch (err) {
    result.errors.push(err instanceof Error ? err.message : String(err));
  } finally {
    profiler?.close();
    const t0 = Date.now();
    await Promise.all(clients.map((c) => c.close()));
    const t1 = Date.now();
    await Promise.all(servers.map((s) => s.stop()));
    const t2 = Date.now();
    if (t2 - t0 > 3000) log(`    (clients closed in ${((t1 - t0) / 1000).toFixed(1)} s, server(s) stopped in ${((t2 - t1) / 1000).toFixed(1)} s)`);
  }
  return result;
}
