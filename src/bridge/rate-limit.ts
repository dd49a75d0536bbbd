/** A token bucket: `points` commands per `windowMs`, refilled continuously. */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();

  constructor(private points: number, private windowMs: number) {
    this.tokens = points;
  }

  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.points, this.tokens + ((now - this.last) * this.points) / this.windowMs);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
