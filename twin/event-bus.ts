// The default event bus, Lambda's asynchronous invocation and its SQS event source mappings: events are
// matched against the template's own rules and delivered at least once, to the drainer function directly
// (a failed invocation is retried as Lambda does, twice by default, after a delay) or to an SQS queue, from
// which a mapping hands batches to the function (a failed record comes back after the visibility timeout).
// Faults can drop, duplicate or delay an event, or crash the invocation that carries it.
// https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html
// https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html

import type { Clock } from './clock';
import { type BusEvent, REGION, scheduledEvent } from './event-envelope';
import { matchesPattern } from './event-pattern';
import { type Queue, type QueueMessage, type QueueSet, sqsRecord } from './queues';
import type { TemplateMapping, TemplateRule } from './template';
import type { Timeline } from './timeline';

/**
 * What a fault does to the next matching event: `drop` it (best effort: it is lost), `duplicate` it,
 * `delay` it (at delivery: to the function or to a queue, where a duplicate is two messages), or make its
 * invocation fail before (`crash`) or after (`crash-after`) the handler ran. From a queue, the invocation is
 * the batch that carries the event: all of it fails, and comes back after the visibility timeout.
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

/**
 * One invocation of the drainer function, as the twin ran it: an asynchronous one, or one record of an SQS
 * batch (a batch of three gives three records, with the same times).
 */
export interface InvocationRecord {
  event: BusEvent;
  /** Asynchronous: Lambda's retry number. From a queue: ApproximateReceiveCount − 1. */
  attempt: number;
  /**
   * When the attempt was due (from a queue: when the message was sent, or became visible again); later than
   * that it waited for a free execution environment, or in the queue.
   */
  queuedMs: number;
  startedMs: number;
  endedMs: number | undefined;
  /** The handler's result (from a queue: the batch response). */
  result: unknown;
  /** The invocation's error; from a queue, `batch item failure` when the response listed this record. */
  error: string | undefined;
  /** From a queue: the message and the queue's name. */
  messageId?: string;
  queue?: string;
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
   * an attempt waits for a running one to end, as Lambda keeps a throttled async event in its queue. The
   * event source mappings share it.
   */
  concurrency?: number;
  /** The template's queues: what rules deliver to and mappings read from. */
  queues?: QueueSet;
  /** The event source mappings that feed the function from the queues. */
  mappings?: readonly TemplateMapping[];
}

/** One event source mapping's poller: how many of its batches run, and when it next looks. */
interface Poller {
  mapping: TemplateMapping;
  queue: Queue;
  running: number;
  wakeAtMs: number | undefined;
}

/** The messages of a batch that failed, from the handler's response (ReportBatchItemFailures). */
function failedMessages(response: unknown, batch: readonly QueueMessage[]): Set<string> | 'all' {
  // Lambda takes an empty or null response, or an empty or null list, as a complete success; anything it
  // cannot read, or an identifier not in the batch, fails the whole batch.
  // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
  if (response === undefined || response === null) return new Set();
  if (typeof response !== 'object' || Array.isArray(response)) return 'all';
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return 'all';
  const ids = new Set(batch.map((message) => message.messageId));
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !ids.has(id)) return 'all';
    failed.add(id);
  }
  return failed;
}

export class EventBus {
  readonly events: BusEvent[] = [];
  /** When each event of `events` was put on the bus, in clock time (its `time` is in whole seconds). */
  readonly publishedMs = new WeakMap<BusEvent, number>();
  readonly invocations: InvocationRecord[] = [];
  private readonly faults: (EventFault & { remaining: number })[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly waiting: (() => void)[] = [];
  private readonly pollers: Poller[] = [];
  /** Queues whose mappings will look at the next beat. */
  private readonly pollDue = new Set<Queue>();
  private stopped = false;

  constructor(
    private readonly rules: readonly TemplateRule[],
    private readonly invoke: (event: unknown) => Promise<unknown>,
    private readonly clock: Clock,
    private readonly timeline: Timeline,
    private readonly options: BusOptions,
  ) {
    for (const mapping of options.mappings ?? []) {
      const queue = options.queues?.get(mapping.queueId);
      if (queue === undefined) throw new Error(`twin: mapping ${mapping.logicalId} reads an unknown queue`);
      if (mapping.enabled) this.pollers.push({ mapping, queue, running: 0, wakeAtMs: undefined });
    }
  }

  /** Adds a fault for the next matching event(s). */
  inject(fault: EventFault): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1 });
  }

  /** An event arrives on the bus: every enabled rule whose pattern matches delivers it to its target. */
  publish(event: BusEvent): void {
    this.events.push(event);
    this.publishedMs.set(event, this.clock.now());
    for (const rule of this.rules) {
      if (!rule.enabled || rule.eventPattern === undefined) continue;
      if (!matchesPattern(rule.eventPattern, event)) continue;
      if (rule.targetsFunction) this.deliver(event, () => this.attempt(event, 0));
      for (const queueId of rule.queueIds) {
        const queue = this.options.queues?.get(queueId);
        if (queue !== undefined) this.deliver(event, () => this.enqueue(queue, event));
      }
    }
  }

  /**
   * SendMessage by a rule's SQS target. The queue's mappings look at the next beat of the timeline, once
   * for everything sent in this one, so a burst of events makes full batches as Lambda's pollers see it.
   */
  private enqueue(queue: Queue, event: BusEvent): void {
    if (this.stopped) return;
    queue.send(event, this.clock.now());
    if (this.pollDue.has(queue)) return;
    this.pollDue.add(queue);
    this.timeline.after(0, () => {
      this.pollDue.delete(queue);
      this.poll(queue);
    });
  }

  /** Lets every mapping of `queue` (all mappings when absent) take what it can. */
  private poll(queue?: Queue): void {
    for (const poller of this.pollers) if (queue === undefined || poller.queue === queue) this.poke(poller);
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
          const event = scheduledEvent(rule.arn, atMs);
          this.deliver(event, () => this.attempt(event, 0));
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

  private deliver(event: BusEvent, send: () => void): void {
    const fault = this.takeFault(event, ['drop', 'duplicate', 'delay']);
    if (fault?.kind === 'drop') return;
    const delayMs = fault?.kind === 'delay' ? (fault.delayMs ?? 0) : 0;
    this.timeline.after(delayMs, send);
    if (fault?.kind === 'duplicate') this.timeline.after(delayMs, send);
  }

  private hasCapacity(): boolean {
    return this.inFlight.size < (this.options.concurrency ?? Number.POSITIVE_INFINITY);
  }

  /**
   * The mapping's poller: while it runs fewer than MaximumConcurrency batches and the function has room,
   * it takes up to BatchSize visible messages (after the batching window, if any) and invokes the function
   * with them; then it looks again when the next hidden message becomes visible.
   */
  private poke(poller: Poller): void {
    if (this.stopped) return;
    const { mapping, queue } = poller;
    const nowMs = this.clock.now();
    let wakeMs = queue.nextVisibleMs(nowMs);
    while (poller.running < (mapping.maximumConcurrency ?? Number.POSITIVE_INFINITY) && this.hasCapacity()) {
      const windowMs = mapping.maximumBatchingWindowSeconds * 1000;
      const oldest = queue.oldestVisibleMs(nowMs);
      if (oldest === undefined) break;
      if (windowMs > 0 && queue.counts(nowMs).visible < mapping.batchSize && oldest + windowMs > nowMs) {
        wakeMs = Math.min(wakeMs ?? Number.POSITIVE_INFINITY, oldest + windowMs);
        break;
      }
      const batch = queue.receive(mapping.batchSize, nowMs);
      if (batch.length === 0) continue; // all of them went to the dead-letter queue: look again
      this.runBatch(poller, batch);
      wakeMs = queue.nextVisibleMs(nowMs);
    }
    if (wakeMs !== undefined && (poller.wakeAtMs === undefined || wakeMs < poller.wakeAtMs)) {
      const atMs = wakeMs;
      poller.wakeAtMs = atMs;
      this.timeline.at(atMs, () => {
        if (poller.wakeAtMs === atMs) poller.wakeAtMs = undefined;
        this.poke(poller);
      });
    }
  }

  /** The first fault of `kinds` that matches an event of the batch. */
  private takeBatchFault(batch: readonly QueueMessage[], kinds: EventFaultKind[]): EventFault | undefined {
    for (const message of batch) {
      const fault = this.takeFault(message.event, kinds);
      if (fault !== undefined) return fault;
    }
    return undefined;
  }

  /** One invocation with an SQS batch; deletes what succeeded, leaves the rest to reappear. */
  private runBatch(poller: Poller, batch: QueueMessage[]): void {
    const { mapping, queue } = poller;
    const startedMs = this.clock.now();
    const records = batch.map(
      (message): InvocationRecord => ({
        event: message.event,
        attempt: message.receiveCount - 1,
        queuedMs: message.queuedMs,
        startedMs,
        endedMs: undefined,
        result: undefined,
        error: undefined,
        messageId: message.messageId,
        queue: queue.spec.name,
      }),
    );
    this.invocations.push(...records);
    // A crash before the handler wins over one after it (which then stays for a later batch).
    const crash = this.takeBatchFault(batch, ['crash']) ?? this.takeBatchFault(batch, ['crash-after']);
    const event = { Records: batch.map((message) => sqsRecord(message, queue, REGION)) };
    poller.running += 1;
    const run = (async () => {
      if (crash?.kind === 'crash') throw new Error('twin: injected crash before the handler ran');
      const response = await this.invoke(event);
      if (crash?.kind === 'crash-after') throw new Error('twin: injected crash after the handler ran');
      return response;
    })().then(
      (response) => {
        const endedMs = this.clock.now();
        const failed = mapping.reportBatchItemFailures ? failedMessages(response, batch) : new Set<string>();
        batch.forEach((message, index) => {
          const record = records[index] as InvocationRecord;
          record.endedMs = endedMs;
          record.result = response;
          if (failed === 'all') record.error = 'malformed batch response: the whole batch failed';
          else if (failed.has(message.messageId)) record.error = 'batch item failure';
          else queue.remove(message);
        });
      },
      (error: unknown) => {
        const endedMs = this.clock.now();
        for (const record of records) {
          record.endedMs = endedMs;
          record.error = error instanceof Error ? error.message : String(error);
        }
      },
    );
    this.track(run, () => {
      poller.running -= 1;
    });
  }

  /** Counts an invocation against the function's concurrency; when it ends, the next one may start. */
  private track(run: Promise<void>, ended?: () => void): void {
    this.inFlight.add(run);
    void run.finally(() => {
      this.inFlight.delete(run);
      ended?.();
      this.waiting.shift()?.();
      this.poll();
    });
  }

  private attempt(event: BusEvent, attempt: number, queuedMs = this.clock.now()): void {
    if (this.stopped) return;
    if (!this.hasCapacity()) {
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
    this.track(run);
  }
}
