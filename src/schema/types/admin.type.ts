import { Field, Float, Int, ObjectType } from 'type-graphql';

/** The current value of every dashboard metric (`dashboard_metric_update` carries one at a time). */
@ObjectType('Dashboard')
export class DashboardType {
  @Field(() => Int, { description: 'Orders placed today (UTC), not cancelled or refunded.' }) ordersToday!: number;
  @Field(() => Float, { description: 'Sum of those orders’ totals.' }) revenueToday!: number;
  @Field(() => Int, { description: 'Open Socket.IO and GraphQL WebSocket connections, all instances.' }) activeConnections!: number;
  @Field(() => Int, { description: 'Reviews awaiting moderation.' }) pendingReviews!: number;
  @Field(() => Int) openSupportChats!: number;
  @Field() timestamp!: string;
}

/** `connectionStats` answers with the fields of `connection_stats`. */
