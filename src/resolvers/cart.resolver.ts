import { Resolver } from 'type-graphql';

/** Cart operations. (Being implemented: issue 4.) */
@Resolver()
export class CartResolver {}
