import { ArgsType, Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { EventUser } from '../../events/payloads/common.payload';
import { connectionType, type Connection } from './connection.type';

@ObjectType()
export class Review {
  @Field(() => ID) id!: string;
  @Field(() => ID) productId!: string;
  @Field() productName!: string;
  @Field(() => Int) rating!: number;
  @Field() title!: string;
  @Field() body!: string;
  @Field({ description: "'pending' | 'approved' | 'rejected'" }) status!: string;
  @Field(() => EventUser, { description: 'The author (public fields only).' }) user!: EventUser;
  @Field() createdAt!: string;
  @Field(() => String, { nullable: true }) moderatedAt!: string | null;
}

export const ReviewConnection = connectionType('Review', Review);
export type ReviewConnection = Connection<Review>;

@ArgsType()
export class ReviewsArgs {
  @Field(() => ID) productId!: string;
  @Field(() => Int, { nullable: true, defaultValue: 20, description: 'Page size, 1–100.' }) first!: number;
  @Field(() => String, { nullable: true }) after?: string | null;
}

@InputType()
export class CreateReviewInput {
  @Field(() => ID) productId!: string;
  @Field(() => Int, { description: '1–5.' }) rating!: number;
  @Field() title!: string;
  @Field() body!: string;
}
