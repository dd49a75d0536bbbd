import { Resolver } from 'type-graphql';

/** Admin operations. (Being implemented: issue 4.) */
@Resolver()
export class AdminResolver {}
