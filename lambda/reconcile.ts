// Reconcile (every tick): level-triggered repair over ground truth. Lists the fleet-drain commands and the
// configured groups' instances, plans with planTick, then heartbeats, finishes, expires, cancels and adopts.

import { adoptInstances } from './adopt-instances';
import type { TickWork } from './classify-event';
import { completeDrain } from './complete-drain';
import type { DrainerConfig } from './config';
import { type DrainCommand, lifecycleActionOf, toDrainCommand } from './drain-command';
import { AwsCallError, errorMessage, LifecycleConfigError } from './errors';
import { finishCommand } from './finish-drain';
import { alignTick } from './heartbeat-schedule';
import { mapConcurrent, type Settled } from './map-concurrent';
import { drainLifetimeMs, planTick } from './plan-tick';
import type { Deps } from './ports';
import { heartbeatOrCancel } from './start-drain';

/**
 * Calls in flight at once. Auto Scaling has one API budget per account and Region shared with everything
 * else; the SDK's adaptive retry mode slows down on throttling, this keeps a tick from starting a burst.
 */
export const RECONCILE_CONCURRENCY = 10;
/** SSM keeps command history for 30 days. */
const SSM_HISTORY_MS = 30 * 24 * 3600_000;

export interface TickSummary {
  commands: number;
  inFlight: number;
  heartbeats: number;
  finished: number;
  expired: number;
  cancelled: number;
  adopted: number;
  failures: number;
}

/** How far back commands are listed: every command that may still own an action, and an hour more. */
export function historyWindowMs(config: DrainerConfig): number {
  return Math.min(drainLifetimeMs(config) + 3600_000, SSM_HISTORY_MS);
}

/** One reconcile tick. Throws (so Lambda retries the tick) only when some AWS call failed for good. */
export async function reconcile(deps: Deps, config: DrainerConfig, tick: TickWork): Promise<TickSummary> {
  const nowMs = deps.now();
  const historyStartMs = nowMs - historyWindowMs(config);
  const [listed, instances] = await Promise.all([
    deps.ssm.listCommands({ invokedAfterMs: historyStartMs }),
    deps.autoScaling.describeGroupInstances([...config.groupNames]),
  ]);
  const commands = listed
    .map(toDrainCommand)
    .filter((command): command is DrainCommand => command !== undefined);
  const plan = planTick({
    commands,
    instances,
    nowMs,
    tickMs: alignTick(tick.timeMs, config.tickPeriodMs),
    config,
  });

  const summary: TickSummary = {
    commands: commands.length,
    inFlight: plan.inFlight,
    heartbeats: 0,
    finished: 0,
    expired: 0,
    cancelled: 0,
    adopted: 0,
    failures: 0,
  };
  const failures: Settled<unknown>[] = [];
  const run = async <T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> => {
    failures.push(...(await mapConcurrent(items, RECONCILE_CONCURRENCY, fn)));
  };

  await run(plan.heartbeat, async (command) => {
    if ((await heartbeatOrCancel(deps, lifecycleActionOf(command.params), command, false)) === 'heartbeat') {
      summary.heartbeats += 1;
    } else summary.cancelled += 1;
  });
  await run(plan.finish, async (command) => {
    // Lost status event, or another hook still holds the instance (then this ends as "already over").
    if ((await finishCommand(deps, config, command)) === 'completed') summary.finished += 1;
  });
  await run(plan.expire, async ({ command, running }) => {
    const result = await completeDrain(deps, config, {
      action: lifecycleActionOf(command.params),
      drainId: command.params.drainId,
      commandId: command.commandId,
      outcome: 'expired',
      reason: `drain command still ${command.status} past its deadline ${command.params.deadline}`,
      startedMs: command.requestedMs,
      young: false,
    });
    if (result === 'completed') summary.expired += 1;
    // Completed first, cancelled second: the cancel's status event then finds the action over and stays silent.
    for (const stale of running) await deps.ssm.cancelCommand(stale);
    summary.cancelled += running.length;
  });
  await run(plan.cancel, async (command) => {
    deps.log.info('lifecycle action is over; cancelling its drain command', {
      instanceId: command.params.instanceId,
      autoScalingGroupName: command.params.autoScalingGroupName,
      drainId: command.params.drainId,
      commandId: command.commandId,
    });
    deps.metrics.count('LifecycleActionsGone');
    await deps.ssm.cancelCommand(command);
    summary.cancelled += 1;
  });

  const adoption = await adoptInstances(deps, config, plan.adopt, historyStartMs, RECONCILE_CONCURRENCY);
  summary.adopted = adoption.adopted;
  failures.push(...adoption.failures);

  if (summary.heartbeats > 0) deps.metrics.count('Heartbeats', summary.heartbeats);
  summary.failures = failures.length;
  for (const { error } of failures) {
    if (error instanceof LifecycleConfigError) deps.metrics.count('ConfigErrors');
    deps.log.error(
      error instanceof LifecycleConfigError
        ? 'CONFIGURATION ERROR during reconcile'
        : 'reconcile step failed',
      {
        error: errorMessage(error),
      },
    );
  }
  deps.log.info('reconcile tick done', { ...summary });
  const retryable = failures.find(({ error }) => !(error instanceof LifecycleConfigError));
  if (retryable !== undefined) {
    throw new AwsCallError(
      `${failures.length} reconcile step(s) failed; first: ${errorMessage(retryable.error)}`,
      {
        cause: retryable.error,
      },
    );
  }
  return summary;
}
