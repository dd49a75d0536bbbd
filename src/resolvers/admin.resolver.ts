import { Authorized, Ctx, Query, Resolver } from 'type-graphql';
import { Role } from '../entities/user.entity';
import type { GqlContext } from '../schema/context';
import { ConnectionStatsPayload } from '../events/payloads/admin.payload';
import { DashboardType } from '../schema/types/admin.type';

/** Admin monitoring: dashboard metrics and connections. */
@Resolver()
export class AdminResolver {
  @Authorized(Role.ADMIN)
  @Query(() => DashboardType, { description: 'Every dashboard metric now.' })
  dashboard(@Ctx() ctx: GqlContext): Promise<DashboardType> {
    return ctx.services.dashboard.dashboard();
  }

  @Authorized(Role.ADMIN)
  @Query(() => ConnectionStatsPayload, { description: 'Connections across all instances, as connection_stats carries them.' })
  connectionStats(@Ctx() ctx: GqlContext): Promise<ConnectionStatsPayload> {
    return ctx.services.presence.stats();
  }
}
