// Work scheduled in the twin's clock time and run by the twin's pump, so delays, retries and ticks follow
// a stepped or manual clock exactly as lifecycle timeouts do.

import type { Clock } from './clock';

export class Timeline {
  private entries: { atMs: number; run: () => void }[] = [];

  constructor(private readonly clock: Clock) {}

  /** Runs `run` at the next pump at or after `atMs`. */
  at(atMs: number, run: () => void): void {
    this.entries.push({ atMs, run });
  }

  after(ms: number, run: () => void): void {
    this.at(this.clock.now() + ms, run);
  }

  /** Runs everything that is due, in time order. */
  pump(): void {
    const now = this.clock.now();
    const due = this.entries.filter((entry) => entry.atMs <= now).sort((a, b) => a.atMs - b.atMs);
    this.entries = this.entries.filter((entry) => entry.atMs > now);
    for (const entry of due) entry.run();
  }

  clear(): void {
    this.entries = [];
  }
}
