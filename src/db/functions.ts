import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { root } from './mikro-orm.config';

/**
 * The shop's database functions, one `.sql` file each in src/db/functions, in the order they are
 * applied: a `language sql` function is checked against what exists when it is created, so each
 * comes after the functions it calls.
 *
 * They are the hot path's transactions (cart changes, checkout, stock): the services own each
 * operation (validation, messages, events) and call one of these for its writes, in one round trip.
 * An expected refusal is raised with a SQLSTATE of class `SH` and a JSON object as DETAIL
 * (src/db/shop-sql.ts), so the whole statement rolls back and the service builds the client's error.
 */
export const DB_FUNCTIONS = [
  'shop_discount', 'shop_price', 'shop_apply_stock', 'shop_record_fact', 'shop_relay', 'shop_cart_view', 'shop_cart_apply', 'shop_checkout',
] as const;

const DIR = path.join(root, 'src/db/functions');
/** Held while the functions are applied, so instances starting together apply them once. */
const APPLY_LOCK = 726_4002;

export interface DbFunctionFile {
  name: string;
  sql: string;
  checksum: string;
}

/** The function files as they are in this checkout. */
export function dbFunctionFiles(): DbFunctionFile[] {
  return DB_FUNCTIONS.map((name) => {
    const sql = readFileSync(path.join(DIR, `${name}.sql`), 'utf8');
    return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

/**
 * The repeatable step after the migrations: applies each function file whose checksum differs from
 * the one recorded in `shop_db_functions` (a new file, or a changed one), and records it. A file
 * creates its function with `create or replace`; one that changes a function's arguments drops the
 * old signature first. A function recorded here whose file is gone is dropped (it would otherwise
 * stay callable with its old rule). Returns the names it applied.
 */
export async function applyDbFunctions(url: string, files: DbFunctionFile[] = dbFunctionFiles()): Promise<string[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('begin');
    await client.query('select pg_advisory_xact_lock($1)', [APPLY_LOCK]);
    const recorded = new Map((await client.query<{ name: string; checksum: string }>('select name, checksum from shop_db_functions')).rows
      .map((r) => [r.name, r.checksum]));
    const applied: string[] = [];
    for (const name of recorded.keys()) {
      if (files.some((f) => f.name === name)) continue;
      await client.query(`drop function if exists ${client.escapeIdentifier(name)}`);
      await client.query('delete from shop_db_functions where name = $1', [name]);
    }
    for (const f of files) {
      if (recorded.get(f.name) === f.checksum) continue;
      await client.query(f.sql);
      await client.query(
        `insert into shop_db_functions (name, checksum, applied_at) values ($1, $2, now())
         on conflict (name) do update set checksum = excluded.checksum, applied_at = excluded.applied_at`, [f.name, f.checksum]);
      applied.push(f.name);
    }
    await client.query('commit');
    return applied;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}
