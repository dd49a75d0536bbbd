import { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { applyDbFunctions } from './functions';
import { ormConfig } from './mikro-orm.config';

/** Held (per session) while one instance brings the schema up to date. */
const SCHEMA_LOCK = 726_4003;

/**
 * Connects and brings the schema up to date: the migrations in `migrations/`, then the database
 * functions in src/db/functions that changed (src/db/functions.ts). Instances starting together take
 * turns (an advisory lock on a connection of its own): the first migrates, the others find nothing
 * pending.
 */
export async function initOrm(url: string, opts: { pool?: number } = {}): Promise<MikroORM> {
  const orm = await MikroORM.init(ormConfig(url, opts));
  try {
    const lock = new Client({ connectionString: url });
    await lock.connect();
    try {
      await lock.query('select pg_advisory_lock($1)', [SCHEMA_LOCK]);
      await orm.getMigrator().up();
      await applyDbFunctions(url);
    } finally {
      // Ending the session releases its lock.
      await lock.end();
    }
  } catch (err) {
    await orm.close(true);
    throw err;
  }
  return orm;
}
