import { Resolver } from 'type-graphql';

/** Support operations. (Being implemented: issue 4.) */
@Resolver()
export class SupportResolver {}
