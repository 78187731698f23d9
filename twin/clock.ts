// Time for the twin's control plane. One clock drives the lifecycle timeouts, SSM timeouts, the schedule and
// (for a composed handler) the Lambda's own `now`/`sleep`, so shrunk time stays consistent on both sides.

/** What the models read the time from. */
export interface Clock {
  now(): number;
  /** Resolves after `ms` of this clock's time. */
  sleep(ms: number): Promise<void>;
  /** Called by the twin's pump on every beat; clocks that move by steps advance here. */
  step?(): void;
}

/** The wall clock. */
export const wallClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/**
 * A clock that moves `stepMs` on every beat of the twin's pump (every 20 ms of wall time: `stepMs / 20`
 * times faster than the wall), and only then. Lets a test keep the Lambda's real bounds (H ≥ 4 ticks of
 * ≥ 60 s) while a heartbeat timeout lasts seconds. When the machine is loaded the pump beats late and the
 * clock slows with it, so a starved handler never sees timeouts that the real service would not give it.
 */
export class SteppedClock implements Clock {
  private sleepers: { atMs: number; resolve: () => void }[] = [];

  constructor(
    readonly stepMs: number,
    private timeMs = Date.now(),
  ) {}

  now(): number {
    return this.timeMs;
  }

  sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => this.sleepers.push({ atMs: this.timeMs + ms, resolve }));
  }

  step(): void {
    this.timeMs += this.stepMs;
    const due = this.sleepers.filter((sleeper) => sleeper.atMs <= this.timeMs);
    this.sleepers = this.sleepers.filter((sleeper) => sleeper.atMs > this.timeMs);
    for (const sleeper of due) sleeper.resolve();
  }
}

/** A clock that only moves when told to: for the pure models' tests. */
export class ManualClock implements Clock {
  constructor(private timeMs = Date.parse('2026-11-22T10:00:00Z')) {}
  now(): number {
    return this.timeMs;
  }
  advance(ms: number): void {
    this.timeMs += ms;
  }
  async sleep(ms: number): Promise<void> {
    this.timeMs += ms;
  }
}
