import { MikroORM } from '@mikro-orm/postgresql';
import { ormConfig } from './mikro-orm.config';

/** Connects and brings the schema up to date with the migrations in `migrations/`. */
export async function initOrm(url: string, opts: { pool?: number } = {}): Promise<MikroORM> {
  const orm = await MikroORM.init(ormConfig(url, opts));
  await orm.getMigrator().up();
  return orm;
}
