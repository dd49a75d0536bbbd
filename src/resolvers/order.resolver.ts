import { Resolver } from 'type-graphql';

/** Order operations. (Being implemented: issue 4.) */
@Resolver()
export class OrderResolver {}
