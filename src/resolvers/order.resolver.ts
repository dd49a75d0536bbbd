import { Arg, Args, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { Role } from '../entities/user.entity';
import type { GqlContext } from '../schema/context';
import { AllOrdersArgs, CheckoutInput, Order, OrderConnection, OrdersArgs, UpdateOrderStatusArgs } from '../schema/types/order.type';

/** Checkout and orders. Someone else's order is NOT_FOUND (never FORBIDDEN), so ids cannot be probed. */
@Resolver()
export class OrderResolver {
  @Authorized()
  @Mutation(() => Order, {
    description: 'Turns the cart into a pending order, all or nothing (INSUFFICIENT_STOCK names the short variants). ' +
      'A retry with the same idempotencyKey returns the first order.',
  })
  checkout(@Arg('input', () => CheckoutInput) input: CheckoutInput, @Ctx() ctx: GqlContext): Promise<Order> {
    return ctx.services.orders.checkout(ctx.viewer!, input);
  }

  @Authorized()
  @Query(() => OrderConnection, { description: "The viewer's orders, newest first." })
  orders(@Args(() => OrdersArgs) args: OrdersArgs, @Ctx() ctx: GqlContext): Promise<OrderConnection> {
    return ctx.services.orders.myOrders(ctx.viewer!, args);
  }

  @Authorized()
  @Query(() => Order, { description: "One of the viewer's orders (any order for admins); others are NOT_FOUND." })
  order(@Arg('id', () => ID) id: string, @Ctx() ctx: GqlContext): Promise<Order> {
    return ctx.services.orders.order(ctx.viewer!, id);
  }

  @Authorized(Role.ADMIN)
  @Query(() => OrderConnection, { description: 'Every order, newest first, optionally in one status.' })
  allOrders(@Args(() => AllOrdersArgs) args: AllOrdersArgs, @Ctx() ctx: GqlContext): Promise<OrderConnection> {
    return ctx.services.orders.allOrders(ctx.viewer!, args);
  }

  @Authorized()
  @Mutation(() => Order, { description: 'The owner cancels a pending order; the stock returns. Admins use updateOrderStatus.' })
  cancelOrder(@Arg('orderId', () => ID) orderId: string, @Ctx() ctx: GqlContext): Promise<Order> {
    return ctx.services.orders.cancel(ctx.viewer!, orderId);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Order, { description: 'Moves an order along the status machine (other moves are BAD_USER_INPUT); the owner gets order_status_update.' })
  updateOrderStatus(@Args(() => UpdateOrderStatusArgs) args: UpdateOrderStatusArgs, @Ctx() ctx: GqlContext): Promise<Order> {
    return ctx.services.orders.updateStatus(ctx.viewer!, args);
  }
}
