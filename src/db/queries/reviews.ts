import type { EntityManager } from '@mikro-orm/postgresql';
import type { Review } from '../../schema/types/review.type';
import { keysetPage } from '../../services/pagination';

/** The reviews' SQL: reviews with their product and author, moderation, and the products' ratings. */

interface ReviewRow {
  id: string;
  product_id: string;
  product_name: string;
  user_id: string;
  user_name: string;
  user_role: string;
  rating: number;
  title: string;
  body: string;
  status: string;
  created_at: Date;
  moderated_at: Date | null;
}

const REVIEW_SELECT = `select r.id::text as id, r.product_id::text as product_id, p.name as product_name, u.id::text as user_id,
    u.name as user_name, u.role::text as user_role, r.rating, r.title, r.body, r.status::text as status, r.created_at, r.moderated_at
  from reviews r join products p on p.id = r.product_id join users u on u.id = r.user_id`;

const iso = (d: Date | string) => new Date(d).toISOString();

function reviewView(r: ReviewRow): Review {
  return {
    id: String(r.id), productId: String(r.product_id), productName: r.product_name, rating: Number(r.rating),
    title: r.title, body: r.body, status: r.status,
    user: { id: String(r.user_id), name: r.user_name, role: r.user_role },
    createdAt: iso(r.created_at), moderatedAt: r.moderated_at ? iso(r.moderated_at) : null,
  };
}

/** One review, or null when there is none of this id. */
export async function loadReview(em: EntityManager, id: string): Promise<Review | null> {
  const [row] = await em.execute<ReviewRow[]>(`${REVIEW_SELECT} where r.id = ?`, [id]);
  return row ? reviewView(row) : null;
}

/**
 * Inserts a pending review: its id. A second review of the product by the user is a
 * UniqueConstraintViolationException.
 */
export async function insertPendingReview(em: EntityManager, r: { productId: string; userId: string; rating: number; title: string; body: string }): Promise<string> {
  // Millisecond precision, like every other created_at here: page cursors carry ISO strings.
  const [row] = await em.execute<Array<{ id: string }>>(
    `insert into reviews (id, product_id, user_id, rating, title, body, status, created_at)
           values (gen_random_uuid(), ?, ?, ?, ?, ?, 'pending', date_trunc('milliseconds', now())) returning id::text as id`,
    [r.productId, r.userId, r.rating, r.title, r.body]);
  return String(row.id);
}

/** One keyset page of a product's reviews, newest first (only approved ones with `approvedOnly`), and how many there are. */
export async function productReviewPage(em: EntityManager, q: { productId: string; approvedOnly: boolean; first: number; after?: string | null }): Promise<{ nodes: Review[]; fetched: number; totalCount: number }> {
  const where = ['r.product_id = ?'];
  const params: unknown[] = [q.productId];
  if (q.approvedOnly) where.push(`r.status = 'approved'`);
  const { rows, totalCount } = await keysetPage<ReviewRow>(em, {
    select: REVIEW_SELECT, countFrom: 'from reviews r', alias: 'r', where, params, order: 'desc', first: q.first, after: q.after,
  });
  return { nodes: rows.slice(0, q.first).map(reviewView), fetched: rows.length, totalCount };
}

/** Reviews awaiting moderation, oldest first, at most `first`. */
export async function pendingReviews(em: EntityManager, first: number): Promise<Review[]> {
  const rows = await em.execute<ReviewRow[]>(
    `${REVIEW_SELECT} where r.status = 'pending' order by r.created_at, r.id limit ?`, [first]);
  return rows.map(reviewView);
}

/** How many reviews await moderation. */
export async function countPendingReviews(em: EntityManager): Promise<number> {
  const [r] = await em.execute<Array<{ n: number }>>(`select count(*)::int as n from reviews where status = 'pending'`);
  return Number(r.n);
}

/** Moderates a pending review: its product and rating, or null when no pending review has this id. */
export async function moderateReview(em: EntityManager, id: string, status: 'approved' | 'rejected'): Promise<{ productId: string; rating: number } | null> {
  const rows = await em.execute<Array<{ product_id: string; rating: number }>>(
    `update reviews set status = ?, moderated_at = now() where id = ? and status = 'pending'
         returning product_id::text as product_id, rating`,
    [status, id]);
  return rows.length ? { productId: String(rows[0].product_id), rating: Number(rows[0].rating) } : null;
}

/** A review's status, or null when there is no review of this id. */
export async function reviewStatus(em: EntityManager, id: string): Promise<string | null> {
  const [r] = await em.execute<Array<{ status: string }>>('select status::text as status from reviews where id = ?', [id]);
  return r ? r.status : null;
}

/** Counts one more approved rating in a product's rating: the new sum and count. */
export async function addRating(em: EntityManager, productId: string, rating: number): Promise<{ sum: number; count: number }> {
  const [p] = await em.execute<Array<{ rating_sum: number; rating_count: number }>>(
    `update products set rating_sum = rating_sum + ?, rating_count = rating_count + 1 where id = ?
         returning rating_sum, rating_count`,
    [rating, productId]);
  return { sum: Number(p.rating_sum), count: Number(p.rating_count) };
}
