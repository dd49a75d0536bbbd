import { Resolver } from 'type-graphql';

/** Review operations. (Being implemented: issue 4.) */
@Resolver()
export class ReviewResolver {}
