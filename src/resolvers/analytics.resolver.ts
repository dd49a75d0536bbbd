import { Resolver } from 'type-graphql';

/** Analytics operations. (Being implemented: issue 4.) */
@Resolver()
export class AnalyticsResolver {}
