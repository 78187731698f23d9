// Virtual time for the scale bench: every timer of the process (the twin's pump and schedule, the handler's
// sleeps, the SDK's retry backoff and adaptive rate limiter) runs on @sinonjs/fake-timers, and the clock jumps
// to the next timer whenever the process is idle: no HTTP request in flight and nothing left to run. Loopback
// I/O still happens for real, so the real SDK clients talk to the twin over HTTP; computation takes no
// virtual time (the handler's CPU cost is measured separately, by bench/lambda-bench.mjs).

import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import FakeTimers from '@sinonjs/fake-timers';

type InstalledClock = ReturnType<typeof FakeTimers.install>;

/** The real timers, kept before the fakes are installed (for sampling and for the idle check). */
const realSetImmediate = globalThis.setImmediate;
export const realSetInterval = globalThis.setInterval;
export const realClearInterval = globalThis.clearInterval;

// A request is in flight from its start until it closes: answered, failed or aborted (by a timeout, say).
const requestsInFlight = new Set<ClientRequest>();
subscribe('http.client.request.start', (message) => {
  const { request } = message as { request: ClientRequest };
  requestsInFlight.add(request);
  request.once('close', () => requestsInFlight.delete(request));
});

/** Idle rounds in a row before the clock may jump: lets a response's continuation issue its next call. */
const QUIET_ROUNDS = 4;
/** Real time a request may stay unanswered before it counts as lost. */
const STUCK_MS = 30_000;

export class VirtualTime {
  private readonly clock: InstalledClock;
  /** Requests that never ended (a twin defect if ever non-zero). */
  stuckRequests = 0;

  constructor(startMs: number) {
    this.clock = FakeTimers.install({
      now: startMs,
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
      // A timer made before the clock was installed may still be cleared through the fakes.
      shouldClearNativeTimers: true,
    });
    // Node runs a timer of less than 1 ms after 1 ms; the fakes would run it at once, at the same virtual
    // millisecond, and a caller that waits for time to pass (the SDK's adaptive rate limiter) would spin.
    type Schedule = (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => unknown;
    const fakeSetTimeout = globalThis.setTimeout as unknown as Schedule;
    const fakeSetInterval = globalThis.setInterval as unknown as Schedule;
    const delay = (ms: unknown) => Math.max(1, Math.trunc(Number(ms) || 0));
    const clamped =
      (schedule: Schedule): Schedule =>
      (callback, ms, ...args) =>
        schedule(callback, delay(ms), ...args);
    globalThis.setTimeout = clamped(fakeSetTimeout) as unknown as typeof setTimeout;
    globalThis.setInterval = clamped(fakeSetInterval) as unknown as typeof setInterval;
  }

  /** Waits (real time) until no request is in flight for a few event-loop rounds in a row. */
  async settle(): Promise<void> {
    let quiet = 0;
    const since = performance.now();
    while (quiet < QUIET_ROUNDS) {
      await new Promise((resolve) => realSetImmediate(resolve));
      quiet = requestsInFlight.size === 0 ? quiet + 1 : 0;
      if (performance.now() - since > STUCK_MS) {
        // A request the twin never answers would stop time for good: say so, and let time go on.
        const stuck = [...requestsInFlight].map((request) => `${request.method} ${request.path}`);
        process.stderr.write(
          `virtual time: ${stuck.length} request(s) unanswered for ${STUCK_MS} ms: ${stuck.join(', ')}\n`,
        );
        this.stuckRequests += stuck.length;
        for (const request of requestsInFlight) requestsInFlight.delete(request);
        return;
      }
    }
  }

  /** Runs until `done()` holds, or virtual time reaches `untilMs`: settle, jump to the next timer, repeat. */
  async runUntil(done: () => boolean, untilMs: number): Promise<void> {
    for (;;) {
      await this.settle();
      if (done() || this.clock.now >= untilMs) return;
      this.clock.next();
    }
  }

  /** For progress lines: requests in flight and timers pending. */
  get state(): string {
    return `${requestsInFlight.size} requests in flight, ${this.clock.countTimers()} timers`;
  }

  uninstall(): void {
    this.clock.uninstall();
  }
}
