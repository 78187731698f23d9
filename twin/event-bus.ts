// The default event bus and Lambda's asynchronous invocation: events are matched against the template's own
// rules and delivered to the drainer function at least once. A failed invocation is retried as Lambda does
// (twice by default, after a delay), and faults can drop, duplicate, delay an event or crash the invocation.
// https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html

import type { Clock } from './clock';
import { type BusEvent, scheduledEvent } from './event-envelope';
import { matchesPattern } from './event-pattern';
import type { TemplateRule } from './template';
import type { Timeline } from './timeline';

/**
 * What a fault does to the next matching event: `drop` it (best effort: it is lost), `duplicate` it,
 * `delay` it, or make its invocation fail before (`crash`) or after (`crash-after`) the handler ran.
 */
export type EventFaultKind = 'drop' | 'duplicate' | 'delay' | 'crash' | 'crash-after';

export interface EventFault {
  kind: EventFaultKind;
  /** Which events it applies to; all when absent. */
  match?: (event: BusEvent) => boolean;
  /** How many events it applies to. Default 1. */
  times?: number;
  /** For `delay`, in clock time. */
  delayMs?: number;
}

/** One invocation of the drainer function, as the twin ran it. */
export interface InvocationRecord {
  event: BusEvent;
  attempt: number;
  /** When the attempt was due; later than that it waited for a free execution environment. */
  queuedMs: number;
  startedMs: number;
  endedMs: number | undefined;
  result: unknown;
  error: string | undefined;
}

export interface BusOptions {
  /** Lambda's retries of a failed async invocation (the template's EventInvokeConfig). */
  retryAttempts: number;
  /** Delay before each retry, in clock time. Lambda waits about 1 min, then 2 min. */
  retryDelaysMs: number[];
  /** Period of the schedule rules, in clock time; defaults to the rules' own rate. */
  tickPeriodMs?: number;
  /**
   * Most invocations running at once (the function's concurrency: 1,000 per account by default). Beyond it
   * an attempt waits for a running one to end, as Lambda keeps a throttled async event in its queue.
   */
  concurrency?: number;
}

export class EventBus {
  readonly events: BusEvent[] = [];
  readonly invocations: InvocationRecord[] = [];
  private readonly faults: (EventFault & { remaining: number })[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly waiting: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly rules: readonly TemplateRule[],
    private readonly invoke: (event: BusEvent) => Promise<unknown>,
    private readonly clock: Clock,
    private readonly timeline: Timeline,
    private readonly options: BusOptions,
  ) {}

  /** Adds a fault for the next matching event(s). */
  inject(fault: EventFault): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1 });
  }

  /** An event arrives on the bus: every enabled rule whose pattern matches delivers it to its target. */
  publish(event: BusEvent): void {
    this.events.push(event);
    for (const rule of this.rules) {
      if (!rule.enabled || !rule.targetsFunction || rule.eventPattern === undefined) continue;
      if (matchesPattern(rule.eventPattern, event)) this.deliver(event);
    }
  }

  /** Starts the schedule rules' ticks, aligned to their period as EventBridge fires them. */
  startSchedules(): void {
    for (const rule of this.rules) {
      if (!rule.enabled || !rule.targetsFunction || rule.schedulePeriodMs === undefined) continue;
      const periodMs = this.options.tickPeriodMs ?? rule.schedulePeriodMs;
      const next = (afterMs: number) => {
        const atMs = Math.floor(afterMs / periodMs) * periodMs + periodMs;
        this.timeline.at(atMs, () => {
          if (this.stopped) return;
          this.deliver(scheduledEvent(rule.arn, atMs));
          next(atMs);
        });
      };
      next(this.clock.now());
    }
  }

  /** Stops deliveries and retries; waits (bounded) for invocations in flight. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true;
    const all = Promise.allSettled([...this.inFlight]);
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }

  private takeFault(event: BusEvent, kinds: EventFaultKind[]): EventFault | undefined {
    const fault = this.faults.find(
      (candidate) =>
        candidate.remaining > 0 && kinds.includes(candidate.kind) && (candidate.match?.(event) ?? true),
    );
    if (fault !== undefined) fault.remaining -= 1;
    return fault;
  }

  private deliver(event: BusEvent): void {
    const fault = this.takeFault(event, ['drop', 'duplicate', 'delay']);
    if (fault?.kind === 'drop') return;
    const delayMs = fault?.kind === 'delay' ? (fault.delayMs ?? 0) : 0;
    this.timeline.after(delayMs, () => this.attempt(event, 0));
    if (fault?.kind === 'duplicate') this.timeline.after(delayMs, () => this.attempt(event, 0));
  }

  private attempt(event: BusEvent, attempt: number, queuedMs = this.clock.now()): void {
    if (this.stopped) return;
    if (this.inFlight.size >= (this.options.concurrency ?? Number.POSITIVE_INFINITY)) {
      this.waiting.push(() => this.attempt(event, attempt, queuedMs));
      return;
    }
    const record: InvocationRecord = {
      event,
      attempt,
      queuedMs,
      startedMs: this.clock.now(),
      endedMs: undefined,
      result: undefined,
      error: undefined,
    };
    this.invocations.push(record);
    const crash = this.takeFault(event, ['crash', 'crash-after']);
    const run = (async () => {
      if (crash?.kind === 'crash') throw new Error('twin: injected crash before the handler ran');
      record.result = await this.invoke(event);
      if (crash?.kind === 'crash-after') throw new Error('twin: injected crash after the handler ran');
    })().then(
      () => {
        record.endedMs = this.clock.now();
      },
      (error: unknown) => {
        record.endedMs = this.clock.now();
        record.error = error instanceof Error ? error.message : String(error);
        if (attempt < this.options.retryAttempts) {
          const delayMs = this.options.retryDelaysMs[attempt] ?? this.options.retryDelaysMs.at(-1) ?? 60_000;
          this.timeline.after(delayMs, () => this.attempt(event, attempt + 1));
        }
      },
    );
    this.inFlight.add(run);
    void run.finally(() => {
      this.inFlight.delete(run);
      this.waiting.shift()?.();
    });
  }
}
