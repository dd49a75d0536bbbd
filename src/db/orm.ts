import { MikroORM } from '@mikro-orm/postgresql';
import { applyDbFunctions } from './functions';
import { ormConfig } from './mikro-orm.config';

/**
 * Connects and brings the schema up to date: the migrations in `migrations/`, then the database
 * functions in src/db/functions that changed (src/db/functions.ts).
 */
export async function initOrm(url: string, opts: { pool?: number } = {}): Promise<MikroORM> {
  const orm = await MikroORM.init(ormConfig(url, opts));
  await orm.getMigrator().up();
  await applyDbFunctions(url);
  return orm;
}
