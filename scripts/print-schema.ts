/**
 * Prints the shop's GraphQL schema as SDL, built from the code (type-graphql), sorted so the file
 * diffs cleanly.
 *
 *   node dist/scripts/print-schema.js            writes schema.graphql
 *   node dist/scripts/print-schema.js --check    exits 1 when the committed schema.graphql differs
 *   node dist/scripts/print-schema.js --stdout   prints it
 */
import 'reflect-metadata';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { buildShopSchema } from '../src/schema/build-schema';

const HEADER = '# Generated from the code by `npm run schema:print` (scripts/print-schema.ts). Do not edit.\n\n';

/** The repository root, from scripts/ (ts-node) or dist/scripts/ (built). */
function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + __dirname);
    dir = up;
  }
  return dir;
}

export async function schemaSdl(): Promise<string> {
  const schema = await buildShopSchema();
  return HEADER + printSchema(lexicographicSortSchema(schema)) + '\n';
}

/** The first differing line, for a readable failure. */
function firstDifference(a: string, b: string): string {
  const la = a.split('\n');
  const lb = b.split('\n');
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) return `line ${i + 1}:\n  committed: ${la[i] ?? '<end of file>'}\n  from code: ${lb[i] ?? '<end of file>'}`;
  }
  return '';
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const file = path.join(repoRoot(), 'schema.graphql');
  const sdl = await schemaSdl();
  if (args.includes('--stdout')) {
    process.stdout.write(sdl);
    return;
  }
  if (args.includes('--check')) {
    const committed = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (committed === sdl) {
      process.stdout.write(`schema.graphql is up to date (${sdl.split('\n').length} lines)\n`);
      return;
    }
    process.stderr.write(
      (committed ? `schema.graphql differs from the schema the code builds, first at ${firstDifference(committed, sdl)}\n` : 'schema.graphql is missing\n') +
        'Run `npm run schema:print` (or `npm run codegen`) and commit schema.graphql.\n' +
        'To see the whole difference: `node dist/scripts/print-schema.js --stdout | diff schema.graphql -`\n',
    );
    process.exitCode = 1;
    return;
  }
  writeFileSync(file, sdl);
  process.stdout.write(`wrote ${path.relative(process.cwd(), file) || file}\n`);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`print-schema failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
