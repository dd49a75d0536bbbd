/**
 * What the delivery metrics cost, against the fan-out engine's own per-message work, measured in
 * the same run (`npm run bench:metrics`, about 40 s):
 *
 * - a WebSocket server in this process and N real `ws` clients in a child process (receiving
 *   costs the server nothing);
 * - the engine's write loop (src/subscriptions/fanout.ts `deliver`: one `socket.send(prefix + json + '}')`
 *   per member), over groups of 1, 10, 100 and N members, with and without the one
 *   `ShopMetrics.delivered` call per event per group that the engine makes; trials alternate
 *   on/off so that drift in the machine's load hits both;
 * - server CPU (user + system of this process, the kernel's socket writes included) per message,
 *   until the clients received every message.
 *
 * The engine also checks the audience and looks up the shared execution per group; that work is
 * left out, so the share reported is an upper bound.
 */
import 'reflect-metadata';
import { fork, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import path from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { ShopMetrics, type MetricSources } from '../src/metrics/shop-metrics';
import { catalogue } from '../src/events/catalogue';
import { writeSection } from './lib/sections';

const N = Number(process.env.METRICS_BENCH_CLIENTS ?? 1000);
const MESSAGES = Number(process.env.METRICS_BENCH_MESSAGES ?? 100_000);
const REPS = 3;
const GROUP_SIZES = [1, 10, 100, N];

if (process.argv[2] === 'client') {
  // The child: N connections; reports once it has received `expect` messages in total.
  const url = process.argv[3];
  let got = 0;
  let expect = Infinity;
  let open = 0;
  const check = () => {
    if (got >= expect) {
      process.send!({ done: got });
      got = 0;
      expect = Infinity;
    }
  };
  process.on('message', (m: { expect: number }) => {
    expect = m.expect;
    check();
  });
  for (let i = 0; i < N; i++) {
    const ws = new WebSocket(url);
    ws.on('open', () => ++open === N && process.send!({ open }));
    ws.on('message', () => {
      got++;
      check();
    });
  }
} else {
  void main();
}

const none = () => [];
const sources: MetricSources = {
  openConnections: () => ({ 'socket.io': 0, 'graphql-ws': 0 }), fanoutGroups: none, socketRooms: none,
  hub: () => ({ published: new Map(), dropped: new Map() }),
  eventLog: () => ({ position: 0, relayed: 0, delivered: 0, caughtUp: 0, logReads: 0 }),
  replayed: () => ({ 'socket.io': 0, 'graphql-ws': 0 }),
  dependencies: async () => ({ database: true }), cluster: async () => null,
};

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function main() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const sockets: WebSocket[] = [];
  wss.on('connection', (s) => sockets.push(s));
  const child: ChildProcess = fork(__filename, ['client', url], { stdio: 'inherit' });
  const next = () => new Promise<{ open?: number; done?: number }>((r) => child.once('message', r));
  await next();
  while (sockets.length < N) await new Promise((r) => setTimeout(r, 10));

  const metrics = new ShopMetrics(sources, 'bench');
  const names = Object.keys(catalogue);
  const json = JSON.stringify({ data: { inventoryUpdate: { productId: 'p'.repeat(36), variant: { size: '42', color: 'black' }, stockChange: -1, timestamp: new Date().toISOString() } } });

  // One event over every group: what `deliver` does, plus its one metrics call per group when `on`.
  const trial = async (size: number, on: boolean) => {
    const groups: WebSocket[][] = [];
    for (let i = 0; i < N; i += size) groups.push(sockets.slice(i, i + size));
    const events = Math.max(1, Math.round(MESSAGES / N));
    const total = events * N;
    const received = next();
    child.send({ expect: total });
    const t0 = cpuUs();
    for (let e = 0; e < events; e++) {
      const envelope = { name: names[e % names.length], payload: null, route: {}, at: Date.now() - 5 };
      for (const members of groups) {
        let written = 0;
        for (const s of members) {
          s.send(`{"id":"${written}","type":"next","payload":` + json + '}');
          written++;
        }
        if (on) metrics.delivered('graphql-ws', envelope, written);
      }
      // Let the writes drain between events, as between two events from the hub.
      await new Promise((r) => setImmediate(r));
    }
    await received;
    return (cpuUs() - t0) / total;
  };

  // The call alone, in a tight loop: ns per event per group.
  const calls = 1_000_000;
  const envelopes = names.map((name) => ({ name, payload: null, route: {}, at: Date.now() }));
  const c0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) metrics.delivered(i & 1 ? 'graphql-ws' : 'socket.io', envelopes[i % envelopes.length], 1);
  const callNs = Number(process.hrtime.bigint() - c0) / calls;

  await trial(10, true); // warm-up
  const rows: string[] = [];
  const shares: number[] = [];
  const diffs: number[] = [];
  for (const size of GROUP_SIZES) {
    const off: number[] = [];
    const onv: number[] = [];
    for (let r = 0; r < REPS; r++) {
      off.push(await trial(size, false));
      onv.push(await trial(size, true));
    }
    const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const [a, b] = [med(off), med(onv)];
    // The metrics' own share: the call's cost per member, against the measured cost per message.
    const share = (callNs / 1000 / size / a) * 100;
    shares.push(share);
    diffs.push(((b - a) / a) * 100);
    rows.push(`| ${size.toLocaleString('en-US')} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(((b - a) / a) * 100).toFixed(1)} % | ${share.toFixed(2)} % |`);
  }
  const table = [
    '| group size | CPU µs/msg, metrics off | on | difference (noise included) | the call\'s own share |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ];
  process.stdout.write([
    `metrics overhead: ${N} ws clients, ~${MESSAGES.toLocaleString('en-US')} messages per trial, median of ${REPS}; ShopMetrics.delivered: ${callNs.toFixed(0)} ns per call`,
    '', ...table, '',
  ].join('\n'));
  const worst = Math.max(...shares);
  const out = path.resolve(__dirname, '../..', process.env.METRICS_BENCH_OUT ?? 'BENCHMARKS.md');
  writeSection(out, 'metrics-overhead', [
    '## Metrics overhead (issue 13)',
    '',
    `Measured ${new Date().toISOString()} by \`npm run bench:metrics\` (Node ${process.version}, \`nproc\` = ${cpus().length}): ${N.toLocaleString('en-US')} real \`ws\` clients, ~${MESSAGES.toLocaleString('en-US')} messages per trial, median of ${REPS} trials per setting, metrics off and on alternating. What is measured and why is in [bench/README.md](bench/README.md#metrics-overhead).`,
    '',
    `\`ShopMetrics.delivered\` (one call per event per fan-out group or room emit) costs **${callNs.toFixed(0)} ns** per call.`,
    '',
    ...table,
    '',
    `Target: the cost of measuring under 5 % of fan-out CPU per message. The call's share is at most ${worst.toFixed(2)} % (a group of one subscriber, the worst case) ${worst < 5 ? '✅' : '❌'}; the on/off differences (${diffs.map((d) => `${d >= 0 ? '+' : ''}${d.toFixed(1)} %`).join(', ')}) mix the call's cost with the noise of a shared 2-core machine (a median of ${REPS} trials per setting).`,
    '',
  ]);
  process.stdout.write(`section written to ${path.relative(process.cwd(), out)}\n`);
  child.kill();
  wss.close();
  for (const s of sockets) s.terminate();
  process.exit(0);
}
