import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from './clients';

/** The real process, as `npm start` runs it (`node dist/src/main.js`), for tests that start, stop or kill it. */
const ROOT = path.resolve(__dirname, '../..');
const MAIN = path.join(ROOT, 'dist/src/main.js');

/** The newest modification time under the given folders (TypeScript sources only). */
function newestSource(dirs: string[]): number {
  let newest = 0;
  const visit = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) for (const f of readdirSync(p)) visit(path.join(p, f));
    else if (p.endsWith('.ts')) newest = Math.max(newest, st.mtimeMs);
  };
  for (const d of dirs) if (existsSync(d)) visit(d);
  return newest;
}

/** Builds dist/ only when it is missing or older than the sources (a build takes several seconds). */
export function ensureBuilt(): void {
  const fresh = existsSync(MAIN) && statSync(MAIN).mtimeMs >= newestSource(['src', 'migrations'].map((d) => path.join(ROOT, d)));
  if (fresh) return;
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}\n${r.stderr}`);
}

export interface Proc {
  child: ChildProcess;
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function start(env: Record<string, string | undefined>): Proc {
  const base = { ...process.env };
  for (const k of ['REDIS_URL', 'DATABASE_URL', 'JWT_SECRET', 'ADMIN_EMAIL', 'ADMIN_PASSWORD', 'SEED_DEMO_DATA', 'PORT', 'NODE_ENV']) delete base[k];
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: { ...base, HOST: '127.0.0.1', LOG_LEVEL: process.env.LIFECYCLE_LOG_LEVEL ?? 'warn', ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, out: () => out, exited };
}

export async function ready(p: Proc): Promise<void> {
  let gone = false;
  void p.exited.then(() => (gone = true));
  await waitFor(() => gone || /Shoe Store API ready/.test(p.out()), 60_000, 'the printed start-up banner');
  if (gone) throw new Error(`the process exited during start-up:\n${p.out()}`);
}

/** Waits for the exit, at most `ms`; kills it (and fails) past that. */
export async function exitWithin(p: Proc, ms: number) {
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());
  const r = await Promise.race([p.exited, timeout]);
  if (r === 'timeout') {
    p.child.kill('SIGKILL');
    throw new Error(`the process did not exit within ${ms} ms:\n${p.out()}`);
  }
  return r;
}

