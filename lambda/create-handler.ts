// Wires configuration, ports and the three kinds of work into a Lambda handler. handler.ts calls this once
// at module scope with the real clients; tests call it with mocked clients, a fake clock and instant sleeps.

import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { createAutoScalingPort } from './aws/auto-scaling';
import { errorMessage } from './aws/errors';
import { createEventsPort } from './aws/events';
import type { Deps, Log, MetricsPort } from './aws/ports';
import { createQueuesPort } from './aws/sqs';
import { createSsmPort } from './aws/ssm';
import { parseConfig } from './config';
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
import { startDrain } from './workflows/start-drain';

/**
 * Status records of one SQS batch handled at once (one: two environments, the status queue's maximum
 * concurrency, then complete at most two actions at a time). Each completes a lifecycle action on the account's one
 * Auto Scaling budget, which the reconcile tick's heartbeats need too: the event source mapping's maximum
 * concurrency bounds the environments, this the calls each has in flight, so a storm of status events
 * waits in SQS instead of in throttled calls. Lifecycle records (SendCommand, on SSM's own budget, with an
 * unreachable grace that must not hold the others up) are all handled at once.
 */
export const STATUS_BATCH_CONCURRENCY = 1;

/**
 * A record is started only with this much of the invocation left: the slowest record's bounded work, two
 * invocation lookups of LOOKUP_TIMEOUT_MS (a command of an earlier version is looked up twice), then a
 * completion and its event with the SDK's retries. A record cut off by the function timeout would fail the
 * whole batch, the records already done included; one not started is returned as a batch item failure and
 * comes back alone after the visibility timeout.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
 */
export const RECORD_RESERVE_MS = 2 * LOOKUP_TIMEOUT_MS + 30_000;

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

/** Builds the handler. Invalid configuration is reported on every invocation and nothing else happens. */
export function createHandler(options: HandlerOptions): Handler {
  const { log, metrics } = options;
  const parsed = parseConfig(options.env);
  const config = parsed.ok ? parsed.config : undefined;
  const deps: Deps | undefined =
    config === undefined
      ? undefined
      : {
          autoScaling: createAutoScalingPort(options.autoScaling),
          ssm: createSsmPort(options.ssm, config.documentName),
          events: createEventsPort(options.events, config.eventBusName),
          queues: createQueuesPort(options.sqs, config),
          log,
          metrics,
          now: options.now ?? Date.now,
          sleep: options.sleep ?? realSleep,
        };

  /** One EventBridge event; throws only what Lambda (or SQS) should deliver again. */
  const handleEvent = async (
    event: unknown,
    context: InvocationContext | undefined,
    delivery: Delivery | undefined,
  ): Promise<HandlerResult> => {
    let failedKeys: Record<string, unknown> = {};
    try {
      if (config === undefined || deps === undefined) {
        log.error('INVALID CONFIGURATION: fleet-drainer does nothing until it is fixed', {
          errors: parsed.ok ? [] : parsed.errors,
        });
        metrics.count('ConfigErrors');
        return { kind: 'config-error', result: 'ignored' };
      }
      let work: Work;
      try {
        work = classifyEvent(event, config);
      } catch (error) {
        // classifyEvent is total; this is a safety net so no input can make an AWS call or throw.
        work = { kind: 'ignored', reason: `unclassifiable event: ${errorMessage(error)}` };
      }
      if (work.kind === 'lifecycle') {
        failedKeys = {
          instanceId: work.instanceId,
          autoScalingGroupName: work.groupName,
          drainId: work.token,
        };
      } else if (work.kind === 'command-status') {
        failedKeys = { instanceId: work.instanceId, commandId: work.commandId };
      }
      // Sleeps (unreachable grace, adoption delay) stop short of Lambda's timeout.
      const invocationDeps: Deps =
        typeof context?.getRemainingTimeInMillis === 'function'
          ? { ...deps, remainingMs: () => context.getRemainingTimeInMillis() }
          : deps;
      switch (work.kind) {
        case 'ignored':
          log.info('event ignored', { reason: work.reason });
          return { kind: 'ignored', result: work.reason };
        case 'lifecycle':
          return { kind: work.kind, result: await startDrain(invocationDeps, config, work, delivery) };
        case 'command-status':
          return {
            kind: work.kind,
            result: await finishCommandById(invocationDeps, config, work, delivery?.sentMs),
          };
        case 'tick': {
          const summary = await runTick(invocationDeps, config, work);
          return { kind: work.kind, result: JSON.stringify(summary) };
        }
      }
    } catch (error) {
      // Only AWS failures that outlasted the SDK's retries get here. Failing the invocation (or the record)
      // makes Lambda, or SQS, deliver it again: never lose a drain by swallowing them.
      log.error('event failed; it will be delivered again', { ...failedKeys, error: errorMessage(error) });
      throw error;
    }
  };

  /** Failed records come back after a short back-off, not the queue's 30-minute visibility timeout. */
  const bringBackSooner = async (records: readonly BatchRecord[]): Promise<void> => {
    if (deps === undefined) return;
    const queues = deps.queues;
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
          error: errorMessage(error),
        });
      }
    });
  };

  const handler = async (
    event: unknown,
    context?: InvocationContext,
  ): Promise<HandlerResult | BatchResponse> => {
    try {
      const records = readSqsBatch(event);
      if (records === undefined) return await handleEvent(event, context, undefined);
      // EventBridge delivers at least once: the same event twice in one batch is handled once.
      const seen = new Set<string>();
      const unique = records.filter((record) => {
        const id = (record.event as { id?: unknown } | undefined)?.id;
        if (typeof id !== 'string') return true;
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
      });
      const starts = unique.every(
        (record) => (record.event as { source?: unknown } | undefined)?.source === 'aws.autoscaling',
      );
      const limit = starts ? unique.length : STATUS_BATCH_CONCURRENCY;
      const remainingMs =
        typeof context?.getRemainingTimeInMillis === 'function'
          ? () => context.getRemainingTimeInMillis()
          : undefined;
      const notStarted: string[] = [];
      const failures = await mapConcurrent(unique, limit, async (record) => {
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
        await handleEvent(record.event, context, record.delivery);
      });
      if (notStarted.length > 0) {
        log.warn('too little time left in this invocation; records returned to the queue unstarted', {
          records: notStarted.length,
          remainingMs: remainingMs?.(),
        });
      }
      const failedIds = [...failures.map(({ item }) => item.messageId), ...notStarted];
      await bringBackSooner(unique.filter((record) => failedIds.includes(record.messageId)));
      return { batchItemFailures: failedIds.map((id) => ({ itemIdentifier: id })) };
    } finally {
      metrics.flush();
    }
  };
  return handler as Handler;
}
