// Reconcile (every tick): level-triggered repair over ground truth. Lists the fleet-drain commands and the
// configured groups' instances, plans with planTick, then heartbeats, finishes, expires, cancels and adopts.

import { AwsCallError, errorMessage, LifecycleConfigError } from '../aws/errors';
import type { AgentState, Deps, InstanceState, LogKeys } from '../aws/ports';
import type { DrainerConfig } from '../config';
import type { TickWork } from '../decide/classify-event';
import {
  adoptedDrainId,
  type DrainCommand,
  type LifecycleActionRef,
  type ListedCommand,
  lifecycleActionOf,
  toDrainCommand,
} from '../decide/drain-command';
import { alignTick } from '../decide/heartbeat-schedule';
import { isTerminatingWait } from '../decide/lifecycle-state';
import { drainLifetimeMs, type ExpiredDrain, findUnreachable, planTick } from '../decide/plan-tick';
import { mapConcurrent, type Settled } from '../map-concurrent';
import { type AdoptionCandidate, adoptInstances } from './adopt-instances';
import { completeDrain } from './drain-actions';
import type { FinishResult } from './finish-drain';
import { finishCommand } from './finish-drain';
import { heartbeatOrCancel } from './start-drain';

/**
 * Calls in flight at once. Auto Scaling has one API budget per account and Region shared with everything
 * else; the SDK's adaptive retry mode slows down on throttling, this keeps a tick from starting a burst.
 */
export const RECONCILE_CONCURRENCY = 10;
/** DescribeInstanceInformation takes this many instance ids per call. */
const AGENT_IDS_PER_CALL = 50;
/** SSM keeps command history for 30 days. */
const SSM_HISTORY_MS = 30 * 24 * 3600_000;
/**
 * A drain whose command ended this long ago while its instance still waits, and no status event waits in
 * the queue, lost its status event: the tick finishes it. Status events take seconds; a younger one is
 * left to its event, so the action is not completed twice (one Auto Scaling call wasted).
 */
export const LOST_STATUS_EVENT_MS = 120_000;

export interface TickSummary {
  commands: number;
  inFlight: number;
  heartbeats: number;
  finished: number;
  expired: number;
  cancelled: number;
  unreachable: number;
  skipped: number;
  adopted: number;
  failures: number;
  /** Events waiting in the lifecycle and status queues when the tick listed (null: unknown or no queue). */
  queuedLifecycleEvents: number | null;
  queuedStatusEvents: number | null;
}

/** How far back commands are listed: every command that may still own an action, and an hour more. */
export function historyWindowMs(config: DrainerConfig): number {
  return Math.min(drainLifetimeMs(config) + 3600_000, SSM_HISTORY_MS);
}

/**
 * Waiting instances without a running drain whose finished commands are listed one instance at a time;
 * with more, the whole history is listed (about one page per 50 commands).
 */
export const FINISHED_LOOKUPS_PER_TICK = 25;

/**
 * The commands the plan needs: every running one (listed with ExecutionStage Executing), and the finished
 * ones of instances that wait in Terminating:Wait without a running drain (a drain that ended: its status
 * event may be lost; a finished drain blocks adoption). Only those instances need finished commands, so a
 * tick after a large scale-in does not list the whole fleet's finished history every minute: a few
 * instances are looked up one by one, many by listing everything.
 */
async function withFinishedCommands(
  deps: Deps,
  config: DrainerConfig,
  executing: ListedCommand[],
  instances: readonly InstanceState[],
  historyStartMs: number,
): Promise<{ listed: ListedCommand[]; unknown: ReadonlySet<string>; failures: Settled<string>[] }> {
  const none = { unknown: new Set<string>(), failures: [] };
  const running = new Set<string>();
  for (const listed of executing) {
    const instanceId = listed.parameters?.instanceId?.[0];
    if (instanceId !== undefined) running.add(instanceId);
  }
  const lacking = [
    ...new Set(
      instances
        .filter(
          (instance) =>
            config.groupNames.has(instance.groupName) &&
            isTerminatingWait(instance.lifecycleState) &&
            !running.has(instance.instanceId),
        )
        .map((instance) => instance.instanceId),
    ),
  ];
  if (lacking.length === 0) return { listed: executing, ...none };
  if (lacking.length > FINISHED_LOOKUPS_PER_TICK) {
    return { listed: await deps.ssm.listCommands({ invokedAfterMs: historyStartMs }), ...none };
  }
  const byId = new Map(executing.map((listed) => [listed.commandId, listed]));
  const perInstance: ListedCommand[][] = [];
  const failures = await mapConcurrent(lacking, RECONCILE_CONCURRENCY, async (instanceId) => {
    perInstance.push(await deps.ssm.listCommands({ instanceId, invokedAfterMs: historyStartMs }));
  });
  for (const listed of perInstance.flat()) byId.set(listed.commandId, listed);
  // An instance whose finished commands could not be read is left out of this tick's plan (it has no
  // running drain to heartbeat): adopting it could start a second drain beside a finished one.
  return { listed: [...byId.values()], unknown: new Set(failures.map(({ item }) => item)), failures };
}

/** A step that failed for good; `heartbeat` when a lifecycle action missed a heartbeat because of it. */
interface StepFailure {
  error: unknown;
  keys: LogKeys;
  heartbeat: boolean;
}

function commandKeys(command: DrainCommand): LogKeys {
  return {
    instanceId: command.params.instanceId,
    autoScalingGroupName: command.params.autoScalingGroupName,
    drainId: command.params.drainId,
    commandId: command.commandId,
  };
}

/**
 * One reconcile tick. A step that fails is logged and left to the next tick; the tick throws (so Lambda
 * retries it with the same scheduled time) only when a heartbeat failed — a retry is what keeps that action
 * from timing out, while one permanently failing drain must not make every tick fail.
 */
export async function reconcile(deps: Deps, config: DrainerConfig, tick: TickWork): Promise<TickSummary> {
  const nowMs = deps.now();
  const historyStartMs = nowMs - historyWindowMs(config);
  const groupNames = [...config.groupNames];
  const failures: StepFailure[] = [];
  // The queues' depths only tell what is not lost: their failure must not cost the tick its heartbeats.
  const queued = (queue: 'lifecycle' | 'status') =>
    deps.queues.waitingMessages(queue).catch((error: unknown) => {
      failures.push({ error, keys: { call: 'GetQueueAttributes', queue }, heartbeat: false });
      return undefined;
    });
  const [executing, instances, warmPool, queuedStatus] = await Promise.all([
    deps.ssm.listCommands({ invokedAfterMs: historyStartMs, executingOnly: true }),
    deps.autoScaling.describeGroupInstances(groupNames),
    // Its failure (a role without autoscaling:DescribeWarmPool, throttling) must not cost the tick its
    // heartbeats; the plan then leaves alone the drains of instances no group lists.
    deps.autoScaling.describeWarmPoolInstances(groupNames).catch((error: unknown) => {
      failures.push({ error, keys: { call: 'DescribeWarmPool' }, heartbeat: false });
      return undefined;
    }),
    queued('status'),
  ]);
  const finished = await withFinishedCommands(
    deps,
    config,
    executing,
    [...instances, ...(warmPool ?? [])],
    historyStartMs,
  );
  for (const { item, error } of finished.failures) {
    failures.push({ error, keys: { instanceId: item, call: 'ListCommands' }, heartbeat: false });
  }
  const commands = finished.listed
    .map(toDrainCommand)
    .filter((command): command is DrainCommand => command !== undefined);
  const tickMs = alignTick(tick.timeMs);
  const known = (instance: InstanceState) => !finished.unknown.has(instance.instanceId);
  const plan = planTick({
    commands,
    instances: instances.filter(known),
    warmPool: (warmPool ?? []).filter(known),
    warmPoolListed: warmPool !== undefined,
    nowMs,
    tickMs,
    config,
  });

  const summary: TickSummary = {
    commands: commands.length,
    inFlight: plan.inFlight,
    heartbeats: 0,
    finished: 0,
    expired: 0,
    cancelled: 0,
    unreachable: 0,
    skipped: 0,
    adopted: 0,
    failures: 0,
    queuedLifecycleEvents: null,
    queuedStatusEvents: queuedStatus ?? null,
  };
  const run = async <T>(
    items: readonly T[],
    keysOf: (item: T) => LogKeys,
    fn: (item: T) => Promise<void>,
    heartbeat = false,
  ): Promise<void> => {
    for (const { item, error } of await mapConcurrent(items, RECONCILE_CONCURRENCY, fn)) {
      failures.push({ error, keys: keysOf(item), heartbeat });
    }
  };
  const endDrain = async (drain: ExpiredDrain, outcome: 'expired' | 'unreachable', reason: string) => {
    const { command, running } = drain;
    const result = await completeDrain(deps, config, {
      action: lifecycleActionOf(command.params),
      drainId: command.params.drainId,
      commandId: command.commandId,
      outcome,
      reason,
      startedMs: command.requestedMs,
      young: false,
    });
    if (result === 'completed') {
      if (outcome === 'expired') summary.expired += 1;
      else summary.unreachable += 1;
    }
    // Completed first, cancelled second: the cancel's own status event then finds the action over and stays silent.
    for (const stale of running) await deps.ssm.cancelCommand(stale);
    summary.cancelled += running.length;
  };
  const heartbeat = async (command: DrainCommand) => {
    if ((await heartbeatOrCancel(deps, lifecycleActionOf(command.params), command, false)) === 'heartbeat') {
      summary.heartbeats += 1;
    } else summary.cancelled += 1;
  };

  // Hosts that died under their drain, or never got it, among the drains about to be heartbeated (SSM's
  // agent status): a host that died leaves its command InProgress until its timeouts, one offline since
  // before delivery leaves it Pending for TimeoutSeconds plus the execution timeout, and its action would be
  // heartbeated until deadline + grace. Completed as unreachable instead. Unknown (the lookup failed):
  // heartbeat all.
  const agents = new Map<string, AgentState>();
  let agentsKnown = true;
  const watchIds = [...new Set(plan.watch.map(({ command }) => command.params.instanceId))];
  const chunks: string[][] = [];
  for (let index = 0; index < watchIds.length; index += AGENT_IDS_PER_CALL) {
    chunks.push(watchIds.slice(index, index + AGENT_IDS_PER_CALL));
  }
  await run(
    chunks,
    (ids) => ({ instanceIds: ids.length }),
    async (ids) => {
      try {
        for (const [id, agent] of await deps.ssm.describeAgents(ids)) agents.set(id, agent);
      } catch (error) {
        agentsKnown = false;
        throw error;
      }
    },
  );
  const gone = agentsKnown ? findUnreachable(plan.watch, agents, deps.now()) : [];
  const goneIds = new Set(gone.map(({ command }) => command.commandId));

  // Heartbeats next: they are the time-critical step (heartbeat-schedule.ts counts on them going out
  // within a couple of minutes of the tick's scheduled time). A finished drain whose heartbeat is due is
  // completed instead (one call either way, and the action ends); if that does not happen, it is beaten.
  await run(
    plan.heartbeat.filter((command) => !goneIds.has(command.commandId)),
    commandKeys,
    heartbeat,
    true,
  );
  const candidates: AdoptionCandidate[] = [];
  const afterFinish = (command: DrainCommand, result: FinishResult) => {
    if (result === 'completed') summary.finished += 1;
    // The instance waits, but not for this drain: a drain of an earlier life (warm-pool reuse), or its
    // token's action is over. Whatever holds it now is adopted (the adoption's probe tells whether it is
    // our hook). Finished commands up to this one no longer block that.
    if (result === 'stale' || result === 'gone') {
      candidates.push({
        instanceId: command.params.instanceId,
        groupName: command.params.autoScalingGroupName,
        lifecycleState: 'Terminating:Wait',
        ignoreFinishedUntilMs: command.requestedMs,
      });
    }
  };
  // A drain that ended moments ago, with no status event queued, is being completed by its event right
  // now: completing it too would cost a second call (and the instance an adoption probe). If that event is
  // lost, the lost-event step below completes it within minutes, long before the action could time out.
  const statusEventsFlow = queuedStatus === undefined || queuedStatus === 0;
  await run(
    plan.finishDue,
    commandKeys,
    async (command) => {
      const result = await finishCommand(
        deps,
        config,
        command,
        statusEventsFlow ? { endedAtLeastMsAgo: LOST_STATUS_EVENT_MS } : {},
      );
      afterFinish(command, result);
      if (result === 'not-found' || result === 'not-terminal') await heartbeat(command);
    },
    true,
  );
  // Lost status events: only while none wait in the status queue (a storm's are queued, not lost), and
  // only for commands that ended a while ago.
  if (statusEventsFlow) {
    await run(plan.finish, commandKeys, async (command) => {
      afterFinish(
        command,
        await finishCommand(deps, config, command, { endedAtLeastMsAgo: LOST_STATUS_EVENT_MS }),
      );
    });
  }
  await run(
    plan.expire,
    (drain) => commandKeys(drain.command),
    (drain) =>
      endDrain(
        drain,
        'expired',
        `drain command still ${drain.command.status} past its deadline ${drain.command.params.deadline}`,
      ),
  );
  await run(plan.cancel, commandKeys, async (command) => {
    deps.log.info('lifecycle action is over; cancelling its drain command', commandKeys(command));
    deps.metrics.count('LifecycleActionsGone');
    await deps.ssm.cancelCommand(command);
    summary.cancelled += 1;
  });
  await run(
    gone,
    (drain) => commandKeys(drain.command),
    (drain) => endDrain(drain, 'unreachable', drain.reason),
    // It was left out of the heartbeats: a completion that failed is a heartbeat missed (the tick is retried).
    true,
  );

  // Instances leaving a stopped or hibernated warm pool: nothing to drain, complete (their event was lost).
  await run(
    plan.skip,
    (instance) => ({ instanceId: instance.instanceId, autoScalingGroupName: instance.groupName }),
    async (instance) => {
      const action: LifecycleActionRef = {
        groupName: instance.groupName,
        hookName: config.hookName,
        instanceId: instance.instanceId,
        token: undefined,
      };
      const result = await completeDrain(deps, config, {
        action,
        drainId: adoptedDrainId(instance.instanceId, tickMs),
        commandId: null,
        outcome: 'skipped',
        reason: `instance leaving a warm pool of ${instance.poolState} instances, whose lifecycle event was lost`,
        startedMs: deps.now(),
        young: false,
      });
      if (result === 'completed') summary.skipped += 1;
    },
  );

  // Lifecycle events waiting in the queue are not lost: while some wait, adopting would race their starts.
  const queuedLifecycle = await queued('lifecycle');
  summary.queuedLifecycleEvents = queuedLifecycle ?? null;
  const allCandidates = [...plan.adopt, ...candidates];
  if (queuedLifecycle !== undefined && queuedLifecycle > 0 && allCandidates.length > 0) {
    deps.log.info('lifecycle events are queued; adopting nothing this tick', {
      queuedLifecycleEvents: queuedLifecycle,
      candidates: allCandidates.length,
    });
  }
  const adoption = await adoptInstances(
    deps,
    config,
    queuedLifecycle !== undefined && queuedLifecycle > 0 ? [] : allCandidates,
    historyStartMs,
    tickMs,
    RECONCILE_CONCURRENCY,
    async () => ((await queued('lifecycle')) ?? 0) > 0,
  );
  summary.adopted = adoption.adopted;
  summary.heartbeats += adoption.heartbeats;
  for (const { item, error, heartbeat } of adoption.failures) {
    failures.push({
      error,
      keys: { instanceId: item.instanceId, autoScalingGroupName: item.groupName },
      heartbeat,
    });
  }

  if (summary.heartbeats > 0) deps.metrics.count('Heartbeats', summary.heartbeats);
  summary.failures = failures.length;
  for (const { error, keys } of failures) {
    const configError = error instanceof LifecycleConfigError;
    if (configError) deps.metrics.count('ConfigErrors');
    deps.log.error(configError ? 'CONFIGURATION ERROR during reconcile' : 'reconcile step failed', {
      ...keys,
      error: errorMessage(error),
    });
  }
  deps.log.info('reconcile tick done', { ...summary });
  const missedHeartbeat = failures.find(
    ({ error, heartbeat }) => heartbeat && !(error instanceof LifecycleConfigError),
  );
  if (missedHeartbeat !== undefined) {
    throw new AwsCallError(
      `${failures.length} reconcile step(s) failed, a heartbeat among them; first: ${errorMessage(missedHeartbeat.error)}`,
      { cause: missedHeartbeat.error },
    );
  }
  return summary;
}
