import { Resolver } from 'type-graphql';

/** FlashSale operations. (Being implemented: issue 4.) */
@Resolver()
export class FlashSaleResolver {}
