import { Resolver } from 'type-graphql';

/** Wishlist operations. (Being implemented: issue 4.) */
@Resolver()
export class WishlistResolver {}
