import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { isAdmin, type Viewer } from '../auth/viewer';
import { badInput, conflict, notFound } from '../errors';
import type { Review, ReviewConnection } from '../schema/types/review.type';
import { nowIso, type ServiceDeps } from './context';
import type { DashboardService } from './dashboard.service';
import { connection, keysetPage, pageSize } from './pagination';
import { id as idSchema, parseInput } from './validation';

const createSchema = z.object({
  productId: idSchema,
  rating: z.number().int('must be a whole number').min(1, 'must be between 1 and 5').max(5, 'must be between 1 and 5'),
  title: z.string().trim().min(1, 'is required').max(200),
  body: z.string().trim().max(5000),
});

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
const average = (sum: number, count: number) => (count ? Math.round((sum / count) * 100) / 100 : 0);


/**
 * Reviews and moderation: one review per user and product, `pending` until an admin approves it.
 * Only approved reviews count in a product's rating, maintained in the moderating transaction.
 */
export class ReviewService {
  /** `dashboard` refreshes the pendingReviews metric when wired; reviews work without it. */
  constructor(private deps: ServiceDeps, private dashboard: DashboardService) {}

  /** A signed-in user's review, pending moderation; a second one for the same product is CONFLICT. */
  async create(viewer: Viewer, input: unknown): Promise<Review> {
    const data = parseInput(createSchema, input);
    const em = this.deps.orm.em.fork();
    let reviewId: string;
    try {
      reviewId = await em.transactional(async (tx) => {
        const product = await tx.execute('select 1 from products where id = ?', [data.productId]);
        if (!product.length) throw notFound('Product', data.productId);
        // Millisecond precision, like every other created_at here: page cursors carry ISO strings.
        const [row] = await tx.execute<Array<{ id: string }>>(
          `insert into reviews (id, product_id, user_id, rating, title, body, status, created_at)
           values (gen_random_uuid(), ?, ?, ?, ?, ?, 'pending', date_trunc('milliseconds', now())) returning id::text as id`,
          [data.productId, viewer.id, data.rating, data.title, data.body]);
        const review = await this.get(tx, String(row.id));
        await this.deps.outbox.emit(tx, [{
          name: 'new_review_notification',
          payload: {
            reviewId: review.id, productId: review.productId, productName: review.productName, rating: review.rating,
            title: review.title, user: review.user, timestamp: nowIso(),
          },
          route: {},
        }]);
        return review.id;
      });
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) {
        throw conflict('You have already reviewed this product', { field: 'productId' });
      }
      throw err;
    }
    const review = await this.get(em, reviewId);
    await this.dashboard.publishMetrics(['pendingReviews']);
    return review;
  }

  /**
   * A product's reviews, newest first, as a Relay connection: approved ones only, every status
   * for admins. An unknown product is NOT_FOUND.
   */
  async list(viewer: Viewer | null, args: { productId: string; first?: number | null; after?: string | null }): Promise<ReviewConnection> {
    const first = pageSize(args.first);
    if (!idSchema.safeParse(args.productId).success) throw notFound('Product', String(args.productId));
    const em = this.deps.orm.em.fork();
    const product = await em.execute('select 1 from products where id = ?', [args.productId]);
    if (!product.length) throw notFound('Product', args.productId);
    const where = ['r.product_id = ?'];
    const params: unknown[] = [args.productId];
    if (!isAdmin(viewer)) where.push(`r.status = 'approved'`);
    const { rows, totalCount } = await keysetPage<ReviewRow>(em, {
      select: REVIEW_SELECT, countFrom: 'from reviews r', alias: 'r', where, params, order: 'desc', first, after: args.after,
    });
    const nodes = rows.slice(0, first).map((r) => this.view(r));
    return connection(nodes, (n) => n.createdAt, { first, fetched: rows.length, after: args.after, totalCount });
  }

  /** Admin: reviews awaiting moderation, oldest first. */
  async pending(first = 50): Promise<Review[]> {
    pageSize(first);
    const rows = await this.deps.orm.em.fork().execute<ReviewRow[]>(
      `${REVIEW_SELECT} where r.status = 'pending' order by r.created_at, r.id limit ?`, [first]);
    return rows.map((r) => this.view(r));
  }

  /**
   * Admin: approves (the product's rating counts it, `product_review_added` to the product room) or
   * rejects (no public event) a pending review. A review already moderated is BAD_USER_INPUT.
   */
  async moderate(reviewId: string, approve: boolean): Promise<Review> {
    const id = parseInput(idSchema, reviewId, 'reviewId');
    const em = this.deps.orm.em.fork();
    const review = await em.transactional(async (tx) => {
      const rows = await tx.execute<Array<{ product_id: string; rating: number }>>(
        `update reviews set status = ?, moderated_at = now() where id = ? and status = 'pending'
         returning product_id::text as product_id, rating`,
        [approve ? 'approved' : 'rejected', id]);
      if (!rows.length) {
        const [r] = await tx.execute<Array<{ status: string }>>('select status::text as status from reviews where id = ?', [id]);
        if (!r) throw notFound('Review', id);
        throw badInput(`This review was already ${r.status}`, [{ path: 'reviewId', message: `already ${r.status}` }]);
      }
      if (!approve) return this.get(tx, id);
      const [p] = await tx.execute<Array<{ rating_sum: number; rating_count: number }>>(
        `update products set rating_sum = rating_sum + ?, rating_count = rating_count + 1 where id = ?
         returning rating_sum, rating_count`,
        [rows[0].rating, rows[0].product_id]);
      const rating = { sum: Number(p.rating_sum), count: Number(p.rating_count) };
      const approved = await this.get(tx, id);
      await this.deps.outbox.emit(tx, [{
        name: 'product_review_added',
        payload: {
          reviewId: approved.id, productId: approved.productId, rating: approved.rating, title: approved.title, body: approved.body,
          user: approved.user, averageRating: average(rating.sum, rating.count), reviewCount: rating.count, timestamp: nowIso(),
        },
        route: { productId: approved.productId },
      }]);
      return approved;
    });
    await this.dashboard.publishMetrics(['pendingReviews']);
    return review;
  }

  private async get(em: EntityManager, id: string): Promise<Review> {
    const [row] = await em.execute<ReviewRow[]>(`${REVIEW_SELECT} where r.id = ?`, [id]);
    if (!row) throw notFound('Review', id);
    return this.view(row);
  }

  private view(r: ReviewRow): Review {
    return {
      id: String(r.id), productId: String(r.product_id), productName: r.product_name, rating: Number(r.rating),
      title: r.title, body: r.body, status: r.status,
      user: { id: String(r.user_id), name: r.user_name, role: r.user_role },
      createdAt: iso(r.created_at), moderatedAt: r.moderated_at ? iso(r.moderated_at) : null,
    };
  }
}
