import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';

const HELP = 'redis-server is required for the tests: install it with `apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis`.';

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd} || { [ -x /usr/sbin/${cmd} ] && echo /usr/sbin/${cmd}; }`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

/**
 * Finds a system binary the tests need; as root on Debian, installs its package with apt when
 * missing; otherwise fails with one line saying how to get it.
 */
export function ensureBinary(cmd: string, aptPackage: string, help: string): string {
  let bin = which(cmd);
  if (!bin && process.getuid?.() === 0 && which('apt-get')) {
    process.stderr.write(`${cmd} not found: installing ${aptPackage} with apt-get (root)…\n`);
    try {
      execFileSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${aptPackage} >/dev/null`], { stdio: 'inherit' });
    } catch {
      /* reported below */
    }
    bin = which(cmd);
  }
  if (!bin) throw new Error(help);
  return bin;
}

/** Finds redis-server (installing it as root on Debian). */
export const ensureRedisServer = (): string => ensureBinary('redis-server', 'redis-server', HELP);

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`redis-server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A throwaway redis-server on a loopback port (a free one unless given): no persistence. */
export async function startRedis(fixedPort?: number): Promise<{ url: string; port: number; process: ChildProcess; stop(): Promise<void> }> {
  const bin = ensureRedisServer();
  const port = fixedPort ?? (await freePort());
  const child = spawn(bin, ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
    stdio: 'ignore',
    detached: false,
  });
  await waitForPort(port, 10_000);
  // One stop for every caller. A process ended by a signal keeps exitCode null (its signalCode is
  // set instead), so both are checked: waiting for an 'exit' that has already fired never returns.
  let stopping: Promise<void> | null = null;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: child,
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      })),
  };
}
