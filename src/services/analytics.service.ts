import type { ServiceDeps } from './context';

/** Product views and user activity. (Being implemented: issue 4.) */
export class AnalyticsService {
  constructor(private deps: ServiceDeps) {}
}
