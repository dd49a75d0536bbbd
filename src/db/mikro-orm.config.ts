import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, PostgreSqlDriver } from '@mikro-orm/postgresql';
import { ReflectMetadataProvider } from '@mikro-orm/core';
import path from 'node:path';
import { entities } from '../entities';

const isTs = __filename.endsWith('.ts');
/** The repository's root, from src/db under ts-node/jest and from dist/src/db when built. */
export const root = path.resolve(__dirname, isTs ? '../..' : '../../..');

/** MikroORM options for a connection string; the CLI uses the default export (DATABASE_URL). */
export function ormConfig(clientUrl: string, opts: { debug?: boolean; pool?: number } = {}) {
  return defineConfig({
    driver: PostgreSqlDriver,
    clientUrl,
    entities,
    metadataProvider: ReflectMetadataProvider,
    // Lets the migrator find the .ts migrations under ts-node/jest and the .js ones when built.
    preferTs: isTs,
    extensions: [Migrator],
    migrations: {
      path: path.join(root, 'dist/migrations'),
      pathTs: path.join(root, 'migrations'),
      glob: '!(*.d).{js,ts}',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      emit: 'ts',
      silent: true,
    },
    pool: { min: 0, max: opts.pool ?? 10 },
    debug: opts.debug ?? false,
    forceUtcTimezone: true,
    allowGlobalContext: false,
    discovery: { warnWhenNoEntities: true },
  });
}

export default ormConfig(process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/shoe_store');
