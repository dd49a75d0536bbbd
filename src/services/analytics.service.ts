import { z } from 'zod';
import type { Viewer } from '../auth/viewer';
import { Product } from '../entities/product.entity';
import { ProductView, UserActivity } from '../entities/analytics.entity';
import { User } from '../entities/user.entity';
import { notFound } from '../errors';
import type { ProductViewTrackedPayload, UserActivityTrackedPayload } from '../events/payloads/admin.payload';
import { nowIso, type ServiceDeps } from './context';
import type { PresenceService } from './presence/presence.service';
import { id as idSchema, parseInput } from './validation';

/** At most one stored `user_activities` row per user and activity kind per this window. */
const ACTIVITY_PERSIST_WINDOW_MS = 10_000;

export const productViewSchema = z.object({
  productId: idSchema,
  category: z.string().trim().min(1).max(100).nullish(),
  /** Milliseconds on the page: up to a day. */
  duration: z.number().int('must be whole milliseconds').min(0).max(86_400_000).optional(),
});

export const activitySchema = z.object({
  activity: z.string().trim().min(1).max(64).regex(/^[\w.:-]+$/, 'letters, digits and . _ : - only').nullish(),
});

/** Product views and user activity (heartbeats). */
export class AnalyticsService {
  /** Without Redis: when each (user, kind) last stored a row, for the persistence throttle. */
  private lastStored = new Map<string, number>();

  constructor(private deps: ServiceDeps, private presence: PresenceService) {}

  /**
   * Records a product view (anonymous viewers too). `category` defaults to the product's. After
   * commit: `product_view_tracked` to admins.
   */
  async trackProductView(
    viewer: Viewer | null,
    input: { productId: string; category?: string | null; duration?: number | null },
  ): Promise<ProductViewTrackedPayload> {
    const data = parseInput(productViewSchema, input);
    const em = this.deps.orm.em.fork();
    const view = await em.transactional(async (tx) => {
      const [product] = await tx.execute<Array<{ name: string; category: string }>>('select name, category from products where id = ?', [data.productId]);
      if (!product) throw notFound('Product', data.productId);
      const row = tx.create(ProductView, {
        product: tx.getReference(Product, data.productId),
        user: viewer ? tx.getReference(User, viewer.id) : null,
        category: data.category ?? product.category,
        durationMs: data.duration ?? null,
      });
      tx.persist(row);
      return { row, productName: product.name };
    });
    const payload: ProductViewTrackedPayload = {
      productId: data.productId,
      productName: view.productName,
      category: view.row.category,
      duration: view.row.durationMs,
      userId: viewer?.id ?? null,
      timestamp: view.row.createdAt.toISOString(),
    };
    await this.deps.hub.publish('product_view_tracked', payload, {});
    return payload;
  }

  /**
   * A signed-in user's heartbeat (`user_activity`, `recordActivity`): keeps the user online (see
   * PresenceService) and tells admins (`user_activity_tracked`, every time). Storing is throttled:
   * at most one `user_activities` row per user and kind per ACTIVITY_PERSIST_WINDOW_MS, cluster-wide
   * with Redis (a SET NX PX key), per instance without — clients beat every 30 s, a chatty client
   * must not fill the table.
   */
  async recordActivity(viewer: Viewer, input: { activity?: string | null } = {}): Promise<UserActivityTrackedPayload> {
    const data = parseInput(activitySchema, input ?? {});
    const activity = data.activity ?? 'heartbeat';
    await this.presence.activity(viewer.id);
    if (await this.shouldStore(viewer.id, activity)) {
      const em = this.deps.orm.em.fork();
      await em.transactional(async (tx) => {
        tx.persist(tx.create(UserActivity, { user: tx.getReference(User, viewer.id), kind: activity }));
      });
    }
    const payload: UserActivityTrackedPayload = {
      userId: viewer.id,
      user: { id: viewer.id, name: viewer.name, role: viewer.role },
      activity,
      timestamp: nowIso(),
    };
    await this.deps.hub.publish('user_activity_tracked', payload, {});
    return payload;
  }

  private async shouldStore(userId: string, activity: string): Promise<boolean> {
    const key = `${userId}:${activity}`;
    if (this.deps.redis) {
      const ok = await this.deps.redis.set(`${this.deps.config.redisNamespace}:activity:${key}`, '1', 'PX', ACTIVITY_PERSIST_WINDOW_MS, 'NX');
      return ok === 'OK';
    }
    const now = Date.now();
    const last = this.lastStored.get(key);
    if (last !== undefined && now - last < ACTIVITY_PERSIST_WINDOW_MS) return false;
    if (this.lastStored.size > 10_000) {
      for (const [k, t] of this.lastStored) if (now - t >= ACTIVITY_PERSIST_WINDOW_MS) this.lastStored.delete(k);
    }
    this.lastStored.set(key, now);
    return true;
  }
}
