import type { Knex } from '@mikro-orm/knex';
import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Runs one statement with its parameters bound, in `em`'s transaction when it has one. Unlike
 * `em.execute`, which writes every parameter into the SQL text (escaping strings one character at a
 * time), the parameters travel apart from the statement: for the event log's large JSON values this
 * is most of the relay's allocation, and of its garbage collection. `?` marks a parameter. Errors
 * are MikroORM's, as `em.execute` throws them (a unique violation is a UniqueConstraintViolationException).
 */
export async function query<R>(em: EntityManager, sql: string, params: unknown[] = []): Promise<R[]> {
  const trx = em.getTransactionContext<Knex.Transaction>();
  const knex = trx ?? em.getKnex();
  try {
    const result = await knex.raw(sql, params as Knex.RawBinding[]);
    return (result as { rows: R[] }).rows;
  } catch (err) {
    throw em.getDriver().convertException(err as Error);
  }
}
