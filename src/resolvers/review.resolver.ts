import { Arg, Args, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { Role } from '../entities/user.entity';
import type { GqlContext } from '../schema/context';
import { CreateReviewInput, Review, ReviewConnection, ReviewsArgs } from '../schema/types/review.type';

@Resolver()
export class ReviewResolver {
  @Query(() => ReviewConnection, { description: "A product's reviews, newest first: approved ones only, every status for admins." })
  reviews(@Args(() => ReviewsArgs) args: ReviewsArgs, @Ctx() ctx: GqlContext): Promise<ReviewConnection> {
    return ctx.services.reviews.list(ctx.viewer, args);
  }

  @Authorized(Role.ADMIN)
  @Query(() => [Review], { description: 'Reviews awaiting moderation, oldest first.' })
  pendingReviews(@Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first: number, @Ctx() ctx: GqlContext): Promise<Review[]> {
    return ctx.services.reviews.pending(first);
  }

  @Authorized()
  @Mutation(() => Review, { description: 'Rating 1–5, one review per user and product (CONFLICT); pending until an admin approves it.' })
  createReview(@Arg('input', () => CreateReviewInput) input: CreateReviewInput, @Ctx() ctx: GqlContext): Promise<Review> {
    return ctx.services.reviews.create(ctx.viewer!, input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Review, { description: 'Approves (product_review_added to the product room) or rejects a pending review.' })
  moderateReview(
    @Arg('reviewId', () => ID) reviewId: string,
    @Arg('approve', () => Boolean) approve: boolean,
    @Ctx() ctx: GqlContext,
  ): Promise<Review> {
    return ctx.services.reviews.moderate(reviewId, approve);
  }
}
