import { Client as PgClient } from 'pg';
import type { EmbeddedDatabase } from '../../src/db/embedded';

/** A URL of the same server naming another database. */
const withDatabase = (url: string, name: string) => url.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);

/**
 * Creates an empty database on the run's PostgreSQL (dropping one left by an earlier run) and
 * returns its URLs: the same server, settings and disk as the product's own, but nothing in it.
 */
export async function freshDatabase(db: EmbeddedDatabase, name: string): Promise<{ url: string; tcpUrl: string }> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const admin = new PgClient({ connectionString: db.tcpUrl });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${name}`);
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  return { url: withDatabase(db.url, name), tcpUrl: withDatabase(db.tcpUrl, name) };
}
