// Ends a drain: completes the lifecycle action, then (only then) reports it. Every completion goes through
// here, so each lifecycle action is completed explicitly and `Fleet Drain Finished` is emitted by whoever
// actually completed it — a second completer gets "No active Lifecycle Action" and stays silent.

import type { DrainReport } from '../../agent/report';
import { errorMessage, LifecycleConfigError, NoActiveLifecycleActionError } from '../aws/errors';
import type { Deps, LogKeys } from '../aws/ports';
import type { DrainerConfig } from '../config';
import type { LifecycleActionRef } from '../decide/drain-command';
import { FINISHED_DETAIL_TYPE, type FinishedDetail, outputExcerpt } from '../decide/drain-events';
import { mayHaveActiveAction } from '../decide/lifecycle-state';
import { decideResult, type InvocationResult, type Outcome } from '../decide/outcome';

/** Right after an event, "No active Lifecycle Action" can be a propagation race: retry this often… */
export const PROPAGATION_RETRY_MS = 2000;
/** …at most this many times, and only while the instance is still terminating. */
export const PROPAGATION_RETRIES = 3;
/** An action younger than this may not be visible everywhere yet. */
export const PROPAGATION_WINDOW_MS = 120_000;

export interface Completion {
  action: LifecycleActionRef;
  drainId: string;
  commandId: string | null;
  outcome: Outcome;
  reason: string;
  /** When the drain started (command requested, or lifecycle event for skipped/unreachable). */
  startedMs: number;
  /** The action is moments old: retry "No active Lifecycle Action" while the instance is still terminating. */
  young: boolean;
  invocation?: InvocationResult;
  report?: DrainReport;
}

/** `completed` by this call; `gone` when the action was already over; `config-error` when AWS refused the names. */
export type CompletionResult = 'completed' | 'gone' | 'config-error';

/** Log keys of a drain. */
export function drainKeys(action: LifecycleActionRef, drainId: string, commandId?: string | null): LogKeys {
  return {
    instanceId: action.instanceId,
    autoScalingGroupName: action.groupName,
    drainId,
    ...(commandId ? { commandId } : {}),
  };
}

/** Calls `act` on the lifecycle action, retrying a young action's "No active" while the instance is terminating. */
export async function withPropagationRetry(
  deps: Deps,
  action: LifecycleActionRef,
  young: boolean,
  act: () => Promise<void>,
): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await act();
      return;
    } catch (error) {
      if (!(error instanceof NoActiveLifecycleActionError) || !young || attempt >= PROPAGATION_RETRIES)
        throw error;
      const [state] = await deps.autoScaling.describeInstances([action.instanceId]);
      if (!mayHaveActiveAction(state?.lifecycleState)) throw error;
      await deps.sleep(PROPAGATION_RETRY_MS);
    }
  }
}

/** Completes the lifecycle action of a drain with the policy's result, then emits `Fleet Drain Finished`. */
export async function completeDrain(
  deps: Deps,
  config: DrainerConfig,
  completion: Completion,
): Promise<CompletionResult> {
  const { action, drainId, commandId, outcome } = completion;
  const keys = drainKeys(action, drainId, commandId);
  const result = decideResult(outcome, config.resultPolicy);
  let uncertain = false;
  let firstCall = true;
  try {
    await withPropagationRetry(deps, action, completion.young, async () => {
      const first = firstCall;
      firstCall = false;
      try {
        await deps.autoScaling.completeLifecycleAction(action, result);
      } catch (error) {
        // The very first call's response was lost and the SDK's retry found the action over: our own first
        // attempt most likely completed it. Report it (flagged) rather than leave the drain unreported.
        if (first && error instanceof NoActiveLifecycleActionError && error.afterRetry) {
          uncertain = true;
          return;
        }
        throw error;
      }
    });
  } catch (error) {
    if (error instanceof NoActiveLifecycleActionError) {
      deps.log.info('lifecycle action already over; nothing to complete', { ...keys, outcome });
      return 'gone';
    }
    if (error instanceof LifecycleConfigError) {
      deps.log.error(
        'CONFIGURATION ERROR: Auto Scaling refused the lifecycle action; check group and hook names',
        {
          ...keys,
          error: errorMessage(error),
        },
      );
      deps.metrics.count('ConfigErrors');
      return 'config-error';
    }
    throw error;
  }

  if (uncertain) {
    deps.log.warn('completion response lost; the SDK retry found the action over (taken as ours)', keys);
  }
  const durationMs = Math.max(0, deps.now() - completion.startedMs);
  deps.log.info('drain finished', {
    ...keys,
    outcome,
    lifecycleActionResult: result,
    durationMs,
    reason: completion.reason,
  });
  deps.metrics.count('DrainsFinished', 1, outcome);
  deps.metrics.milliseconds('DrainDuration', durationMs, outcome);
  if (outcome === 'unreachable') deps.metrics.count('Unreachable');

  const invocation = completion.invocation;
  const detail: FinishedDetail = {
    instanceId: action.instanceId,
    autoScalingGroupName: action.groupName,
    lifecycleHookName: action.hookName,
    lifecycleActionToken: action.token ?? null,
    drainId,
    commandId,
    outcome,
    lifecycleActionResult: result,
    durationMs,
    reason: completion.reason,
    adopted: action.token === undefined,
    commandStatus: invocation?.status ?? null,
    exitCode: invocation?.responseCode ?? null,
    report: completion.report ?? null,
    output:
      completion.report === undefined && invocation
        ? outputExcerpt(invocation.stdout, invocation.stderr)
        : null,
    ...(uncertain ? { completionUncertain: true as const } : {}),
  };
  // Completion is done and stays done: a failed event is logged, never retried by failing the invocation.
  try {
    await deps.events.putEvent(FINISHED_DETAIL_TYPE, { ...detail });
  } catch (error) {
    deps.log.error('could not emit Fleet Drain Finished', { ...keys, error: errorMessage(error) });
  }
  return 'completed';
}
