// Request rates as AWS enforces them: a token bucket per account and Region (Auto Scaling: one bucket shared
// by every operation; SSM: one per operation). A call takes a token or is throttled; the bucket refills at a
// fixed rate up to its size. Neither service publishes its figures, so the sizes are the caller's choice.
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/Welcome.html (API request rate)

/** A bucket's size (the burst) and its refill rate. */
export interface RateLimit {
  burst: number;
  perSecond: number;
}

export class TokenBucket {
  private tokens: number;
  private refilledMs: number | undefined;

  constructor(readonly limit: RateLimit) {
    if (!(limit.burst >= 1) || !(limit.perSecond > 0))
      throw new RangeError(`rate limit needs burst ≥ 1 and perSecond > 0, got ${JSON.stringify(limit)}`);
    this.tokens = limit.burst;
  }

  /** Takes a token at `nowMs`; false when the bucket is empty (the call is throttled). */
  take(nowMs: number): boolean {
    if (this.refilledMs !== undefined && nowMs > this.refilledMs) {
      const refill = ((nowMs - this.refilledMs) / 1000) * this.limit.perSecond;
      this.tokens = Math.min(this.limit.burst, this.tokens + refill);
    }
    this.refilledMs = Math.max(this.refilledMs ?? nowMs, nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
