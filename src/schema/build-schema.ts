import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { AdminResolver } from '../resolvers/admin.resolver';
import { AnalyticsResolver } from '../resolvers/analytics.resolver';
import { CartResolver } from '../resolvers/cart.resolver';
import { FlashSaleResolver } from '../resolvers/flash-sale.resolver';
import { OrderResolver } from '../resolvers/order.resolver';
import { ReviewResolver } from '../resolvers/review.resolver';
import { SupportResolver } from '../resolvers/support.resolver';
import { WishlistResolver } from '../resolvers/wishlist.resolver';
import { ProductResolver } from '../resolvers/product.resolver';
import { subscriptionPayload, subscriptionResolvers } from '../resolvers/subscription.resolver';
import { UserResolver } from '../resolvers/user.resolver';
import { authChecker } from './auth-checker';

let cached: Promise<GraphQLSchema> | undefined;

/**
 * Every subscription field's value is the envelope's payload. Resolving it synchronously (instead of
 * through type-graphql's async handler) keeps the per-event execution synchronous and cheap: the
 * bridge and the fan-out engine execute each event once for all of its receivers.
 */
function resolvePayloadsSynchronously(schema: GraphQLSchema): GraphQLSchema {
  const fields = schema.getSubscriptionType()?.getFields() ?? {};
  for (const field of Object.values(fields)) {
    field.resolve = subscriptionPayload;
  }
  return schema;
}

/** The shop's schema, built once per process (it holds no state). */
export function buildShopSchema(): Promise<GraphQLSchema> {
  cached ??= buildSchema({
    resolvers: [
      UserResolver, ProductResolver, CartResolver, OrderResolver, FlashSaleResolver, ReviewResolver, WishlistResolver,
      SupportResolver, AnalyticsResolver, AdminResolver, ...subscriptionResolvers,
    ] as [Function, ...Function[]],
    authChecker,
    authMode: 'error',
    validate: false,
    // Every subscription field brings its own `subscribe` (the EventHub, with its audience rule);
    // type-graphql still insists on a pubSub, so it gets one that refuses to be used.
    pubSub: {
      publish: () => {
        throw new Error('publish through the EventHub');
      },
      subscribe: () => {
        throw new Error('subscribe through the EventHub');
      },
    },
  }).then(resolvePayloadsSynchronously);
  return cached;
}
