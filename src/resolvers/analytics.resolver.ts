import { Arg, Args, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { GqlContext } from '../schema/context';
import { ProductViewTrackedPayload, UserActivityTrackedPayload } from '../events/payloads/admin.payload';
import { TrackProductViewArgs } from '../schema/types/analytics.type';

/** Product views and activity heartbeats. */
@Resolver()
export class AnalyticsResolver {
  @Mutation(() => ProductViewTrackedPayload, { description: 'Records a product view (anonymous allowed); admins get product_view_tracked.' })
  trackProductView(@Args(() => TrackProductViewArgs) args: TrackProductViewArgs, @Ctx() ctx: GqlContext): Promise<ProductViewTrackedPayload> {
    return ctx.services.analytics.trackProductView(ctx.viewer, args);
  }

  @Authorized()
  @Mutation(() => UserActivityTrackedPayload, { description: 'A heartbeat: keeps the viewer online; admins get user_activity_tracked.' })
  recordActivity(
    @Ctx() ctx: GqlContext,
    @Arg('activity', () => String, { nullable: true, description: "What the user is doing (default 'heartbeat')." }) activity?: string,
  ): Promise<UserActivityTrackedPayload> {
    return ctx.services.analytics.recordActivity(ctx.viewer!, { activity });
  }
}
