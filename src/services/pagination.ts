import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput } from '../errors';
import { id as idSchema } from './validation';

/**
 * Keyset pagination on (created_at, id), shared by every Relay connection. Every created_at is
 * written with millisecond precision, so a cursor's ISO string compares exactly.
 */
interface Cursor {
  createdAt: string;
  id: string;
}

const encodeCursor = (createdAt: Date | string, id: string): string =>
  Buffer.from(`${new Date(createdAt).toISOString()}|${id}`).toString('base64url');

function decodeCursor(cursor: string): Cursor {
  const [createdAt, id] = Buffer.from(String(cursor), 'base64url').toString('utf8').split('|');
  if (!createdAt || !id || Number.isNaN(Date.parse(createdAt)) || !idSchema.safeParse(id).success) {
    throw badInput('Invalid cursor', [{ path: 'after', message: 'is not a cursor from this API' }]);
  }
  return { createdAt, id };
}

/** A page size: 1–100, `fallback` when omitted. */
export function pageSize(first: number | null | undefined, fallback = 20): number {
  const n = first ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > 100) {
    throw badInput('first must be between 1 and 100', [{ path: 'first', message: 'must be between 1 and 100' }]);
  }
  return n;
}

/** The condition "after this cursor" for a table alias, in ascending or descending order. */
function afterCursor(alias: string, after: string | null | undefined, order: 'asc' | 'desc'): { sql: string; params: unknown[] } | null {
  if (!after) return null;
  const c = decodeCursor(after);
  return { sql: `(${alias}.created_at, ${alias}.id) ${order === 'asc' ? '>' : '<'} (?::timestamptz, ?::uuid)`, params: [c.createdAt, c.id] };
}

/** A Relay connection from one page of nodes (fetched with `first + 1` rows to know if more follow). */
export function connection<T extends { id: string }>(
  nodes: T[],
  createdAtOf: (node: T) => Date | string,
  opts: { first: number; fetched: number; after?: string | null; totalCount: number },
) {
  const edges = nodes.slice(0, opts.first).map((node) => ({ cursor: encodeCursor(createdAtOf(node), node.id), node }));
  return {
    edges,
    totalCount: opts.totalCount,
    pageInfo: {
      hasNextPage: opts.fetched > opts.first,
      hasPreviousPage: !!opts.after,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

/**
 * One keyset page: the rows of `select` (a `select … from …` whose main table has the alias
 * `alias`) matching `where`, ordered by (created_at, id) in `order`, after the cursor `after`, at
 * most `first + 1` of them (the extra one says whether more follow); and how many match in all
 * (`countFrom`: the `from …` to count over).
 */
export async function keysetPage<R>(em: EntityManager, q: {
  select: string; countFrom: string; alias: string; where: string[]; params: unknown[];
  order: 'asc' | 'desc'; first: number; after?: string | null;
}): Promise<{ rows: R[]; totalCount: number }> {
  const filter = (w: string[]) => (w.length ? `where ${w.join(' and ')}` : '');
  const [{ count }] = await em.execute<Array<{ count: string }>>(`select count(*) ${q.countFrom} ${filter(q.where)}`, q.params);
  const after = afterCursor(q.alias, q.after, q.order);
  const where = after ? [...q.where, after.sql] : q.where;
  const params = after ? [...q.params, ...after.params] : q.params;
  const rows = await em.execute<R[]>(
    `${q.select} ${filter(where)} order by ${q.alias}.created_at ${q.order}, ${q.alias}.id ${q.order} limit ?`, [...params, q.first + 1]);
  return { rows, totalCount: Number(count) };
}
