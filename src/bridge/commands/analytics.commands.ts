import { activitySchema, productViewSchema } from '../../services/analytics.service';
import { command, type Command } from './command';

/**
 * Analytics commands from Socket.IO clients: the same service calls, and the same payload schemas,
 * as the analytics mutations.
 */
export const analyticsCommands = {
  /** `{ productId, category?, duration? }`, anonymous allowed: admins get product_view_tracked. */
  product_view: command({
    schema: productViewSchema,
    auth: false,
    run: (ctx, data) => ctx.services.analytics.trackProductView(ctx.viewer, data),
  }),

  /** The heartbeat (no payload, or `{ activity }`): keeps the user online; admins get user_activity_tracked. */
  user_activity: command({
    schema: activitySchema,
    auth: true,
    run: (ctx, data) => ctx.services.analytics.recordActivity(ctx.viewer, data),
  }),
} satisfies Record<string, Command>;
