// Wires configuration, ports and the three kinds of work into a Lambda handler. handler.ts calls this once
// at module scope with the real clients; tests call it with mocked clients, a fake clock and instant sleeps.

import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { describeError, errorMessage } from '../common/errors';
import { createAutoScalingPort } from './aws/auto-scaling';
import { createEventsPort } from './aws/events';
import type { Deps, Log, LogKeys, MetricsPort } from './aws/ports';
import { createQueuesPort } from './aws/sqs';
import { createSsmPort } from './aws/ssm';
import { type DrainerConfig, parseConfig } from './config';
import { classifyEvent, type Work } from './decide/classify-event';
import { mapConcurrent } from './map-concurrent';
import {
  type BatchRecord,
  type BatchResponse,
  type Delivery,
  readSqsBatch,
  retryDelaySeconds,
  type SqsEvent,
} from './sqs-batch';
import { runTick } from './tick';
import { LOOKUP_TIMEOUT_MS } from './workflows/drain-actions';
import { finishCommandById } from './workflows/finish-drain';
import { startDrain, startDrains } from './workflows/start-drain';
import { startNoticeDrain } from './workflows/start-notice-drain';

/**
 * Status records of one SQS batch handled at once. Each completes an action on the account's one Auto
 * Scaling budget, which the tick's heartbeats need too: a storm of status events waits in SQS, not in
 * throttled calls. Lifecycle records (SendCommand, on SSM's budget) are all handled at once.
 */
export const STATUS_BATCH_CONCURRENCY = 1;

/** Time for a record's completion and its event, with the SDK's retries, after its lookups. */
const COMPLETION_RESERVE_MS = 30_000;

/**
 * A record is started only with this much of the invocation left (two lookups, then a completion): one cut
 * off by the function timeout would fail the whole batch; one not started comes back alone.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
 */
export const RECORD_RESERVE_MS = 2 * LOOKUP_TIMEOUT_MS + COMPLETION_RESERVE_MS;

export interface HandlerOptions {
  env: Record<string, string | undefined>;
  autoScaling: AutoScalingClient;
  ssm: SSMClient;
  events: EventBridgeClient;
  sqs: SQSClient;
  log: Log;
  metrics: MetricsPort;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** The part of Lambda's context the handler reads. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

/** What an invocation did; Lambda ignores it for async invocations, tests and the twin read it. */
export interface HandlerResult {
  kind: Work['kind'] | 'config-error';
  result: string;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The handler: an SQS batch of EventBridge events (the event queues) gets the batch response Lambda's event
 * source mapping reads; an EventBridge event (the schedule, a direct invocation) gets what was done.
 */
export interface Handler {
  (event: SqsEvent, context?: InvocationContext): Promise<BatchResponse>;
  (event: unknown, context?: InvocationContext): Promise<HandlerResult>;
}

/** What every invocation of one handler shares. */
interface Wiring {
  log: Log;
  metrics: MetricsPort;
  parsed: ReturnType<typeof parseConfig>;
  /** Undefined while the configuration is invalid. */
  ready: { config: DrainerConfig; deps: Deps } | undefined;
}

/** Builds the handler. Invalid configuration is reported on every invocation and nothing else happens. */
export function createHandler(options: HandlerOptions): Handler {
  const parsed = parseConfig(options.env);
  const wiring: Wiring = {
    log: options.log,
    metrics: options.metrics,
    parsed,
    ready: parsed.ok ? { config: parsed.config, deps: buildDeps(options, parsed.config) } : undefined,
  };
  const handler = async (
    event: unknown,
    context?: InvocationContext,
  ): Promise<HandlerResult | BatchResponse> => {
    try {
      const records = readSqsBatch(event);
      if (records === undefined) return await handleEvent(wiring, event, context, undefined);
      return await handleBatch(wiring, records, context);
    } finally {
      wiring.metrics.flush();
    }
  };
  return handler as Handler;
}

function buildDeps(options: HandlerOptions, config: DrainerConfig): Deps {
  return {
    autoScaling: createAutoScalingPort(options.autoScaling),
    ssm: createSsmPort(options.ssm, config.documentName),
    events: createEventsPort(options.events, config.eventBusName),
    queues: createQueuesPort(options.sqs, config),
    log: options.log,
    metrics: options.metrics,
    now: options.now ?? Date.now,
    sleep: options.sleep ?? realSleep,
  };
}

/** Sleeps (unreachable grace, adoption delay) stop short of Lambda's timeout. */
function withRemainingTime(deps: Deps, context: InvocationContext | undefined): Deps {
  return typeof context?.getRemainingTimeInMillis === 'function'
    ? { ...deps, remainingMs: () => context.getRemainingTimeInMillis() }
    : deps;
}

/** classifyEvent is total; the catch is a safety net so no input can make an AWS call or throw. */
function classify(event: unknown, config: DrainerConfig): Work {
  try {
    return classifyEvent(event, config);
  } catch (error) {
    return { kind: 'ignored', reason: `unclassifiable event: ${errorMessage(error)}` };
  }
}

/** The log keys of a piece of work, for the line that says it failed. */
function keysOf(work: Work): LogKeys {
  if (work.kind === 'lifecycle') {
    return { instanceId: work.instanceId, autoScalingGroupName: work.groupName, drainId: work.token };
  }
  if (work.kind === 'command-status') return { instanceId: work.instanceId, commandId: work.commandId };
  if (work.kind === 'instance-notice') return { instanceId: work.instanceId, trigger: work.trigger };
  return {};
}

/** One EventBridge event; throws only what Lambda (or SQS) should deliver again. */
async function handleEvent(
  { log, metrics, parsed, ready }: Wiring,
  event: unknown,
  context: InvocationContext | undefined,
  delivery: Delivery | undefined,
): Promise<HandlerResult> {
  if (ready === undefined) {
    log.error('INVALID CONFIGURATION: fleet-drainer does nothing until it is fixed', {
      errors: parsed.ok ? [] : parsed.errors,
    });
    metrics.count('ConfigErrors');
    return { kind: 'config-error', result: 'ignored' };
  }
  const work = classify(event, ready.config);
  try {
    return await runWork(withRemainingTime(ready.deps, context), ready.config, work, delivery);
  } catch (error) {
    // Only AWS failures that outlasted the SDK's retries get here. Failing the invocation (or the record)
    // makes Lambda, or SQS, deliver it again: never lose a drain by swallowing them.
    log.error('event failed; it will be delivered again', { ...keysOf(work), error: describeError(error) });
    throw error;
  }
}

async function runWork(
  deps: Deps,
  config: DrainerConfig,
  work: Work,
  delivery: Delivery | undefined,
): Promise<HandlerResult> {
  switch (work.kind) {
    case 'ignored':
      deps.log.info('event ignored', { reason: work.reason });
      return { kind: 'ignored', result: work.reason };
    case 'lifecycle':
      return { kind: work.kind, result: await startDrain(deps, config, work, delivery) };
    case 'instance-notice':
      return { kind: work.kind, result: await startNoticeDrain(deps, config, work, delivery) };
    case 'command-status':
      return { kind: work.kind, result: await finishCommandById(deps, config, work, delivery?.sentMs) };
    case 'tick':
      return { kind: work.kind, result: JSON.stringify(await runTick(deps, config, work)) };
  }
}

/** EventBridge delivers at least once: the same event twice in one batch is handled once. */
function uniqueRecords(records: readonly BatchRecord[]): BatchRecord[] {
  const seen = new Set<string>();
  return records.filter((record) => {
    const id = (record.event as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'string') return true;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** Sources of the lifecycle queue's events: lifecycle actions and EC2 notices (SendCommand, not Auto Scaling). */
const START_SOURCES: ReadonlySet<unknown> = new Set(['aws.autoscaling', 'aws.ec2']);

/** Lifecycle-queue records all at once; status records STATUS_BATCH_CONCURRENCY at a time. */
function batchConcurrency(records: readonly BatchRecord[]): number {
  const starts = records.every((record) =>
    START_SOURCES.has((record.event as { source?: unknown } | undefined)?.source),
  );
  return starts ? Math.max(1, records.length) : STATUS_BATCH_CONCURRENCY;
}

/** A lifecycle record of a batch, with its work: started together with the batch's others. */
interface LifecycleRecord {
  record: BatchRecord;
  work: Extract<Work, { kind: 'lifecycle' }>;
}

/** The batch's lifecycle actions (valid configuration only); the other records are handled one by one. */
function splitLifecycle(
  { ready }: Wiring,
  records: readonly BatchRecord[],
): { lifecycle: LifecycleRecord[]; others: BatchRecord[] } {
  const lifecycle: LifecycleRecord[] = [];
  const others: BatchRecord[] = [];
  for (const record of records) {
    const work =
      ready !== undefined && record.event !== undefined ? classify(record.event, ready.config) : undefined;
    if (work?.kind === 'lifecycle') lifecycle.push({ record, work });
    else others.push(record);
  }
  return { lifecycle, others };
}

/**
 * Starts a batch's lifecycle actions together (start-drain.ts: one SendCommand per group and 50 instances).
 * Returns the message ids of those that failed.
 */
async function startTogether(
  wiring: Wiring,
  lifecycle: readonly LifecycleRecord[],
  context: InvocationContext | undefined,
): Promise<string[]> {
  if (lifecycle.length === 0 || wiring.ready === undefined) return [];
  const { config, deps } = wiring.ready;
  const requests = lifecycle.map(({ work, record }) => ({ work, delivery: record.delivery }));
  const settled = await startDrains(withRemainingTime(deps, context), config, requests);
  return settled.flatMap((result, index) => {
    if (result.status === 'fulfilled') return [];
    const { work, record } = lifecycle[index] as LifecycleRecord;
    // Only AWS failures that outlasted the SDK's retries get here: SQS delivers the record again.
    wiring.log.error('event failed; it will be delivered again', {
      ...keysOf(work),
      error: describeError(result.reason),
    });
    return [record.messageId];
  });
}

/** An SQS batch: failed records, and those not started for lack of time, are returned as item failures. */
async function handleBatch(
  wiring: Wiring,
  records: readonly BatchRecord[],
  context: InvocationContext | undefined,
): Promise<BatchResponse> {
  const { log } = wiring;
  const { lifecycle, others } = splitLifecycle(wiring, uniqueRecords(records));
  const remainingMs =
    typeof context?.getRemainingTimeInMillis === 'function'
      ? () => context.getRemainingTimeInMillis()
      : undefined;
  const notStarted: string[] = [];
  const tooLate = (remainingMs?.() ?? Number.POSITIVE_INFINITY) < RECORD_RESERVE_MS;
  if (tooLate) notStarted.push(...lifecycle.map(({ record }) => record.messageId));
  const startFailures = tooLate ? [] : await startTogether(wiring, lifecycle, context);
  const failures = await mapConcurrent(others, batchConcurrency(others), async (record) => {
    if (record.event === undefined) {
      log.warn('queue message is not an event (its body is not JSON); dropped', {
        messageId: record.messageId,
      });
      return;
    }
    const leftMs = remainingMs?.();
    if (leftMs !== undefined && leftMs < RECORD_RESERVE_MS) {
      notStarted.push(record.messageId);
      return;
    }
    await handleEvent(wiring, record.event, context, record.delivery);
  });
  if (notStarted.length > 0) {
    log.warn('too little time left in this invocation; records returned to the queue unstarted', {
      records: notStarted.length,
      remainingMs: remainingMs?.(),
    });
  }
  const failedIds = [...startFailures, ...failures.map(({ item }) => item.messageId), ...notStarted];
  await bringBackSooner(
    wiring,
    [...lifecycle.map(({ record }) => record), ...others].filter((record) =>
      failedIds.includes(record.messageId),
    ),
  );
  return { batchItemFailures: failedIds.map((id) => ({ itemIdentifier: id })) };
}

/** Failed records come back after a short back-off, not the queue's 30-minute visibility timeout. */
async function bringBackSooner({ log, ready }: Wiring, records: readonly BatchRecord[]): Promise<void> {
  if (ready === undefined) return;
  const queues = ready.deps.queues;
  const returning = records.filter((record) => record.receiptHandle !== '' && record.queueArn !== '');
  // At most a batch (10): all at once.
  await mapConcurrent(returning, Math.max(1, returning.length), async (record) => {
    const seconds = retryDelaySeconds(record.delivery?.receiveCount ?? 1);
    try {
      await queues.retryAfter(record.queueArn, record.receiptHandle, seconds);
    } catch (error) {
      // It comes back all the same, after the queue's visibility timeout.
      log.warn('could not bring a failed record back sooner', {
        messageId: record.messageId,
        error: describeError(error),
      });
    }
  });
}
