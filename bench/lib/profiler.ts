import WebSocket from 'ws';

/**
 * V8's sampling CPU profiler (the one behind `node --cpu-prof`), driven through the inspector of a
 * server started with `--inspect=127.0.0.1:<port>`, so the profile covers exactly one measured
 * window instead of the process's whole life (start-up, migrations, schema build).
 */
export class RemoteProfiler {
  private ws!: WebSocket;
  private next = 1;
  private pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();

  static async attach(inspectPort: number): Promise<RemoteProfiler> {
    const list = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
    const p = new RemoteProfiler();
    p.ws = new WebSocket(list[0].webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 1024 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      p.ws.once('open', () => resolve());
      p.ws.once('error', reject);
    });
    p.ws.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as { id?: number; result?: unknown; error?: { message: string } };
      if (m.id === undefined) return;
      const w = p.pending.get(m.id);
      if (!w) return;
      p.pending.delete(m.id);
      if (m.error) w.reject(new Error(m.error.message));
      else w.resolve(m.result);
    });
    await p.call('Profiler.enable');
    await p.call('Profiler.setSamplingInterval', { interval: 500 });
    return p;
  }

  call<T = any>(method: string, params?: Record<string, unknown>): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  start(): Promise<void> {
    return this.call('Profiler.start');
  }

  async stop(): Promise<CpuProfile> {
    const r = await this.call<{ profile: CpuProfile }>('Profiler.stop');
    return r.profile;
  }

  close(): void {
    this.ws.close();
  }
}

export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }; children?: number[] }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  where: string;
  selfMs: number;
  pct: number;
}

/** Where a frame lives: a package under node_modules, node's internals, or the product's own code. */
export function moduleOf(url: string): string {
  if (!url) return '(native/V8)';
  if (url.startsWith('node:')) return 'node core';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const m = /\/dist\/(src\/.*)$/.exec(url);
  if (m) return `product ${m[1].replace(/\.js$/, '')}`;
  return url.replace(/^file:\/\//, '');
}

const SPECIAL = new Set(['(garbage collector)', '(program)', '(idle)', '(root)']);

const whereOf = (url: string, lineNumber: number) =>
  url ? `${url.replace(/^.*\/node_modules\//, '').replace(/^.*\/dist\//, '').replace(/^file:\/\//, '')}:${lineNumber + 1}` : '';

export interface ProfileSummary {
  /** Self time per function; native frames (no script) are charged to their nearest JS caller, shown as `caller → native`. */
  functions: ProfileRow[];
  /** The same self time by package (node_modules), node core, or product file. */
  modules: ProfileRow[];
  /** Inclusive (self + callees) time of the product's own functions (dist/src). */
  product: ProfileRow[];
  totalMs: number;
  idleMs: number;
}

/** Self and inclusive times, as shares of the non-idle samples. */
export function summarizeProfile(p: CpuProfile, top = 15): ProfileSummary {
  const byNode = new Map<number, CpuProfile['nodes'][number]>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byNode.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  const fn = new Map<string, ProfileRow>();
  const mod = new Map<string, ProfileRow>();
  const incl = new Map<string, ProfileRow>();
  const add = (m: Map<string, ProfileRow>, key: string, name: string, where: string, us: number) => {
    const row = m.get(key) ?? { name, where, selfMs: 0, pct: 0 };
    row.selfMs += us / 1000;
    m.set(key, row);
  };
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const n = byNode.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    // A native frame (a syscall wrapper, a V8 builtin) is charged to the nearest frame with a script.
    let owner = n;
    let nativeName = '';
    if (!url && !SPECIAL.has(functionName)) {
      nativeName = functionName || '(native)';
      for (let up = parent.get(n.id); up !== undefined; up = parent.get(up)) {
        const c = byNode.get(up)!;
        if (c.callFrame.url) {
          owner = c;
          break;
        }
      }
    }
    const oc = owner.callFrame;
    const name = nativeName && owner !== n ? `${oc.functionName || '(anonymous)'} → ${nativeName}` : functionName || '(anonymous)';
    const where = whereOf(oc.url, oc.lineNumber);
    add(fn, `${name}@${where}`, name, where, us);
    add(mod, SPECIAL.has(functionName) ? functionName : moduleOf(oc.url), SPECIAL.has(functionName) ? functionName : moduleOf(oc.url), '', us);
    // Inclusive time of product functions: once per distinct function on the stack.
    const seen = new Set<string>();
    for (let up: number | undefined = id; up !== undefined; up = parent.get(up)) {
      const c = byNode.get(up)!.callFrame;
      if (!/\/dist\/src\//.test(c.url)) continue;
      const w = whereOf(c.url, c.lineNumber);
      const key = `${c.functionName}@${w}`;
      if (seen.has(key)) continue;
      seen.add(key);
      add(incl, key, c.functionName || '(anonymous)', w, us);
    }
    void lineNumber;
  }
  const finish = (rows: ProfileRow[], n = top) =>
    rows
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, n)
      .map((r) => ({ ...r, selfMs: Math.round(r.selfMs * 10) / 10, pct: total ? Math.round((r.selfMs / (total / 1000)) * 1000) / 10 : 0 }));
  return { functions: finish([...fn.values()]), modules: finish([...mod.values()]), product: finish([...incl.values()], 12), totalMs: total / 1000, idleMs: idle / 1000 };
}
