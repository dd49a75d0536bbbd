import type { EntityManager } from '@mikro-orm/postgresql';

/** The admin dashboard's counts that are not another aggregate's (pending reviews: ./reviews.ts). */

/** "Today" is the current UTC calendar day; cancelled and refunded orders do not count. */
const TODAY_ORDERS_SQL = `select count(*)::int as n, coalesce(sum(total_cents), 0)::bigint as cents from orders
  where created_at >= date_trunc('day', now() at time zone 'utc') at time zone 'utc'
    and status not in ('cancelled', 'refunded')`;

/** Today's orders (the current UTC day, cancelled and refunded ones left out): how many, and their total in cents. */
export async function todayOrders(em: EntityManager): Promise<{ count: number; cents: number }> {
  const [r] = await em.execute<Array<{ n: number; cents: string | number }>>(TODAY_ORDERS_SQL);
  return { count: Number(r.n), cents: Number(r.cents) };
}

/** How many support chats are open. */
export async function countOpenSupportChats(em: EntityManager): Promise<number> {
  const [r] = await em.execute<Array<{ n: number }>>(`select count(*)::int as n from support_chats where status = 'open'`);
  return Number(r.n);
}
