import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { EventUser, DurablePayload } from './common.payload';

@ObjectType()
export class UserOfflinePayload {
  @Field(() => ID) userId!: string;
  @Field() timestamp!: string;
}

@ObjectType()
export class ConnectionStatsPayload {
  @Field(() => Int) totalConnections!: number;
  @Field(() => Int) authenticatedUsers!: number;
  @Field(() => Int) adminConnections!: number;
  @Field() timestamp!: string;
}

@ObjectType()
export class DashboardMetricUpdatePayload {
  @Field({ description: 'ordersToday | revenueToday | activeConnections | pendingReviews | openSupportChats' })
  metric!: string;
  @Field(() => Float) value!: number;
  @Field() timestamp!: string;
}

@ObjectType({ implements: DurablePayload })
export class AdminNotificationPayload extends DurablePayload {
  @Field({ description: 'out_of_stock | flash_sale_ended | …' }) type!: string;
  @Field() title!: string;
  @Field() message!: string;
  @Field({ description: "'info' | 'warning' | 'critical'" }) severity!: string;
  @Field(() => ID, { nullable: true }) entityId!: string | null;
  @Field() timestamp!: string;
}

@ObjectType()
export class ProductViewTrackedPayload {
  @Field(() => ID) productId!: string;
  @Field() productName!: string;
  @Field(() => String, { nullable: true }) category!: string | null;
  @Field(() => Int, { nullable: true, description: 'Milliseconds on the page.' }) duration!: number | null;
  @Field(() => ID, { nullable: true }) userId!: string | null;
  @Field() timestamp!: string;
}

@ObjectType()
export class UserActivityTrackedPayload {
  @Field(() => ID) userId!: string;
  @Field(() => EventUser) user!: EventUser;
  @Field() activity!: string;
  @Field() timestamp!: string;
}
