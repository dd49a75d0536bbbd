import { spawn } from 'node:child_process';
import path from 'node:path';
import { ensureBinary } from './redis-server';

const HELP = 'haproxy is required for the deploy test: install it with `apt-get install -y haproxy` (Debian/Ubuntu) or `brew install haproxy`.';
export const HAPROXY_CFG = path.resolve(__dirname, '../../deploy/haproxy.cfg');

/** Finds haproxy (installing it as root on Debian). */
export const ensureHaproxy = (): string => ensureBinary('haproxy', 'haproxy', HELP);

export interface ServerState {
  backend: string;
  server: string;
  /** `UP`, `DOWN`, `UP 1/2`, `DOWN 1/2`, `MAINT`, … as HAProxy reports it. */
  status: string;
}

/**
 * Real HAProxy in the foreground (`-db`) on deploy/haproxy.cfg, configured through the environment
 * variables the file reads; `states()` reads its stats page (CSV).
 */
export async function startHaproxy(env: Record<string, string>) {
  const bin = ensureHaproxy();
  const child = spawn(bin, ['-f', HAPROXY_CFG, '-db'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const statsUrl = `http://${env.STATS_LISTEN}/stats;csv`;
  const states = async (): Promise<ServerState[]> => {
    const csv = await (await fetch(statsUrl)).text();
    const [header, ...rows] = csv.trim().split('\n');
    const cols = header.replace(/^# /, '').split(',');
    const at = (name: string) => cols.indexOf(name);
    return rows
      .map((r) => r.split(','))
      .filter((c) => !['FRONTEND', 'BACKEND'].includes(c[at('svname')]))
      .map((c) => ({ backend: c[at('pxname')], server: c[at('svname')], status: c[at('status')] }));
  };
  const until = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}):\n${log}`);
    try {
      await states();
      break;
    } catch {
      if (Date.now() > until) throw new Error(`haproxy did not answer on ${env.STATS_LISTEN}:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    states,
    log: () => log,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}
