import { fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePort, sleep, stopChild, track } from './proc';

/** The repository root (this file runs from dist/bench/lib/). */
export const ROOT = path.resolve(__dirname, '..', '..', '..');

/** How long a product process gets to exit after SIGTERM before it is killed. */
export const SHUTDOWN_GRACE_MS = 5000;

/** Product processes that did not exit promptly on SIGTERM (a product finding, not a harness error). */
export const slowShutdowns: Array<{ name: string; ms: number; code: number | null; signal: string | null }> = [];
export const counters = { productStarts: 0 };

export interface ServerProc {
  name: string;
  url: string;
  pid: number;
  child: ChildProcess;
  /** Inspector port when started for profiling. */
  inspectPort?: number;
  alive(): boolean;
  stop(): Promise<void>;
  logTail(): string;
}

export interface ProductEnv {
  databaseUrl: string;
  redisUrl: string;
  dataDir: string;
  jwtSecret: string;
  adminEmail: string;
  adminPassword: string;
  logDir: string;
  /** The build to run (a directory holding `dist/src/main.js`); the current tree when omitted. */
  root?: string;
  /** Redis key and channel prefix: builds on different databases keep apart on the one Redis. */
  redisNamespace?: string;
  /** Extra environment for the product (e.g. `SOCKET_RECOVERY_SECONDS`). */
  env?: Record<string, string>;
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Starts the product exactly as a user would: `node dist/src/main.js` with its environment, in its
 * own process, listening on loopback. Resolves when /readyz answers 200.
 */
export async function startProduct(env: ProductEnv, name: string, opts: { inspect?: boolean } = {}): Promise<ServerProc> {
  counters.productStarts++;
  const port = await freePort();
  const inspectPort = opts.inspect ? await freePort() : undefined;
  const log = path.join(env.logDir, `${name}.log`);
  const fd = openSync(log, 'a');
  const root = env.root ?? ROOT;
  const args = [
    ...(inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
    path.join(root, 'dist/src/main.js'),
  ];
  const child = track(
    spawn(process.execPath, args, {
      cwd: root,
      stdio: ['ignore', fd, fd],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        GRAPHQL_INTROSPECTION: 'true',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: env.databaseUrl,
        REDIS_URL: env.redisUrl,
        ...(env.redisNamespace ? { REDIS_NAMESPACE: env.redisNamespace } : {}),
        DATA_DIR: env.dataDir,
        JWT_SECRET: env.jwtSecret,
        LOG_LEVEL: process.env.BENCH_SERVER_LOG_LEVEL || 'warn',
        ADMIN_EMAIL: env.adminEmail,
        ADMIN_PASSWORD: env.adminPassword,
        SEED_DEMO_DATA: 'true',
        RATE_LIMIT_POINTS: '100000000',
        RATE_LIMIT_WINDOW_MS: '1000',
        ...env.env,
      },
    }),
  );
  closeSync(fd);
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited during start-up (${child.exitCode ?? child.signalCode}). Log ${log}:\n${tail(log)}`);
    }
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > until) {
      await stopChild(child, 1000, 'SIGKILL');
      throw new Error(`${name} not ready within 90 s. Log ${log}:\n${tail(log)}`);
    }
    await sleep(100);
  }
  return {
    name, url, pid: child.pid!, child, inspectPort,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: async () => {
      // SIGTERM first (the product drains and closes); a shutdown that hangs is noted and killed.
      const t = Date.now();
      await stopChild(child, SHUTDOWN_GRACE_MS);
      if (child.signalCode === 'SIGKILL' || Date.now() - t > 3000) {
        slowShutdowns.push({ name, ms: Date.now() - t, code: child.exitCode, signal: child.signalCode });
        process.stderr.write(`    ${name}: did not exit within ${SHUTDOWN_GRACE_MS / 1000} s of SIGTERM (${child.signalCode ?? `code ${child.exitCode}`})\n`);
      }
    },
    logTail: () => tail(log),
  };
}

/** Starts one of the raw-baseline servers (bench/baselines/*.js) in its own process. */
export async function startBaseline(kind: 'socketio' | 'graphql-ws', logDir: string, opts: { inspect?: boolean } = {}): Promise<ServerProc> {
  const name = `bare-${kind}`;
  const log = path.join(logDir, `${name}.log`);
  const fd = openSync(log, 'a');
  const inspectPort = opts.inspect ? await freePort() : undefined;
  const child = track(fork(path.join(__dirname, '..', 'baselines', `${kind}.js`), [], {
    stdio: ['ignore', fd, fd, 'ipc'],
    execArgv: inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : [],
  }));
  closeSync(fd);
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${name} did not start. Log ${log}:\n${tail(log)}`)), 15_000);
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${name} exited during start-up (${code}). Log ${log}:\n${tail(log)}`));
    });
    child.on('message', (m: { type?: string; port?: number }) => {
      if (m?.type === 'listening') {
        clearTimeout(t);
        resolve(m.port!);
      }
    });
  });
  return {
    name, url: `http://127.0.0.1:${port}`, pid: child.pid!, child, inspectPort,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: () => stopChild(child, 5000),
    logTail: () => tail(log),
  };
}

export interface GqlResponse<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/** Kept-alive loopback connections for the harness's own requests (cheaper per request than fetch). */
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** One GraphQL request over HTTP (node:http with a keep-alive agent: the harness shares the cores with the server). */
export function gql<T = Record<string, any>>(url: string, query: string, variables?: Record<string, unknown>, token?: string, retried = false): Promise<GqlResponse<T>> {
  const body = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/graphql`, {
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve(JSON.parse(text) as GqlResponse<T>);
        } catch {
          resolve({ errors: [{ message: `HTTP ${res.statusCode}: ${text.slice(0, 200)}` }] });
        }
      });
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // The server closed an idle kept-alive socket as we reused it: the request never reached it (Node's documented retry).
      if (req.reusedSocket && err.code === 'ECONNRESET' && !retried) gql<T>(url, query, variables, token, true).then(resolve, reject);
      else reject(err);
    });
    req.end(body);
  });
}

export async function gqlOk<T = Record<string, any>>(url: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<T> {
  const r = await gql<T>(url, query, variables, token);
  if (r.errors?.length || !r.data) throw new Error(`GraphQL error: ${JSON.stringify(r.errors ?? r).slice(0, 500)}`);
  return r.data;
}
