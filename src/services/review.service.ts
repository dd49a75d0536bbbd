import type { ServiceDeps } from './context';

/** Reviews and moderation. (Being implemented: issue 4.) */
export class ReviewService {
  constructor(private deps: ServiceDeps) {}
}
