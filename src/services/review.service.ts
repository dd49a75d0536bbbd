import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { isAdmin, type Viewer } from '../auth/viewer';
import { badInput, conflict, notFound } from '../errors';
import type { Review, ReviewConnection } from '../schema/types/review.type';
import { nowIso, type ServiceDeps } from './context';
import type { DashboardService } from './dashboard.service';
import { connection, pageSize } from './pagination';
import { id as idSchema, parseInput } from './validation';
import { productExists } from '../db/queries/catalog';
import { addRating, insertPendingReview, loadReview, moderateReview, pendingReviews, productReviewPage, reviewStatus } from '../db/queries/reviews';

const createSchema = z.object({
  productId: idSchema,
  rating: z.number().int('must be a whole number').min(1, 'must be between 1 and 5').max(5, 'must be between 1 and 5'),
  title: z.string().trim().min(1, 'is required').max(200),
  body: z.string().trim().max(5000),
});

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
        if (!(await productExists(tx, data.productId))) throw notFound('Product', data.productId);
        const id = await insertPendingReview(tx, {
          productId: data.productId, userId: viewer.id, rating: data.rating, title: data.title, body: data.body,
        });
        const review = await this.get(tx, id);
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
    if (!(await productExists(em, args.productId))) throw notFound('Product', args.productId);
    const { nodes, fetched, totalCount } = await productReviewPage(em, {
      productId: args.productId, approvedOnly: !isAdmin(viewer), first, after: args.after,
    });
    return connection(nodes, (n) => n.createdAt, { first, fetched, after: args.after, totalCount });
  }

  /** Admin: reviews awaiting moderation, oldest first. */
  async pending(first = 50): Promise<Review[]> {
    pageSize(first);
    return pendingReviews(this.deps.orm.em.fork(), first);
  }

  /**
   * Admin: approves (the product's rating counts it, `product_review_added` to the product room) or
   * rejects (no public event) a pending review. A review already moderated is BAD_USER_INPUT.
   */
  async moderate(reviewId: string, approve: boolean): Promise<Review> {
    const id = parseInput(idSchema, reviewId, 'reviewId');
    const em = this.deps.orm.em.fork();
    const review = await em.transactional(async (tx) => {
      const moderated = await moderateReview(tx, id, approve ? 'approved' : 'rejected');
      if (!moderated) {
        const status = await reviewStatus(tx, id);
        if (status === null) throw notFound('Review', id);
        throw badInput(`This review was already ${status}`, [{ path: 'reviewId', message: `already ${status}` }]);
      }
      if (!approve) return this.get(tx, id);
      const rating = await addRating(tx, moderated.productId, moderated.rating);
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
    const review = await loadReview(em, id);
    if (!review) throw notFound('Review', id);
    return review;
  }
}
