import type { EntityManager } from '@mikro-orm/postgresql';

/** The admin dashboard's counts that are not another aggregate's (today's orders: ./orders.ts, pending reviews: ./reviews.ts). */

/** How many support chats are open. */
export async function countOpenSupportChats(em: EntityManager): Promise<number> {
  const [r] = await em.execute<Array<{ n: number }>>(`select count(*)::int as n from support_chats where status = 'open'`);
  return Number(r.n);
}
