// Wires configuration, ports and the three kinds of work into a Lambda handler. handler.ts calls this once
// at module scope with the real clients; tests call it with mocked clients, a fake clock and instant sleeps.

import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { createAutoScalingPort } from './aws-auto-scaling';
import { createEventsPort } from './aws-events';
import { createSsmPort } from './aws-ssm';
import { classifyEvent, type Work } from './classify-event';
import { parseConfig } from './config';
import { errorMessage } from './errors';
import { finishCommandById } from './finish-drain';
import type { Deps, Log, MetricsPort } from './ports';
import { reconcile } from './reconcile';
import { startDrain } from './start-drain';

export interface HandlerOptions {
  env: Record<string, string | undefined>;
  autoScaling: AutoScalingClient;
  ssm: SSMClient;
  events: EventBridgeClient;
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

/** Builds the handler. Invalid configuration is reported on every invocation and nothing else happens. */
export function createHandler(
  options: HandlerOptions,
): (event: unknown, context?: InvocationContext) => Promise<HandlerResult> {
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
          log,
          metrics,
          now: options.now ?? Date.now,
          sleep: options.sleep ?? realSleep,
        };

  return async (event, context) => {
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
          return { kind: work.kind, result: await startDrain(invocationDeps, config, work) };
        case 'command-status':
          return {
            kind: work.kind,
            result: await finishCommandById(invocationDeps, config, work.commandId, work.instanceId),
          };
        case 'tick': {
          const summary = await reconcile(invocationDeps, config, work);
          return { kind: work.kind, result: JSON.stringify(summary) };
        }
      }
    } catch (error) {
      // Only AWS failures that outlasted the SDK's retries get here. Failing the invocation makes Lambda
      // retry it (async invocations are retried twice): never lose a drain by swallowing them.
      log.error('invocation failed; Lambda will retry it', { ...failedKeys, error: errorMessage(error) });
      throw error;
    } finally {
      metrics.flush();
    }
  };
}
