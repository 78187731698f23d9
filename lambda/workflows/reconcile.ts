// Reconcile (every tick): level-triggered repair over ground truth. Lists the fleet-drain commands and the
// configured groups' instances, plans with planTick, then heartbeats, finishes, expires, cancels and skips.
// It returns the instances to adopt; the tick (tick.ts) adopts them next and reports.

import { describeError, errorMessage } from '../../common/errors';
import { AwsCallError, LifecycleConfigError } from '../aws/errors';
import type { AgentState, Deps, InstanceState, LogKeys } from '../aws/ports';
import type { DrainerConfig } from '../config';
import type { TickWork } from '../decide/classify-event';
import { isTerminalStatus } from '../decide/command-status';
import {
  adoptedDrainId,
  type DrainCommand,
  isLifecycleDrainId,
  type LifecycleActionRef,
  type ListedCommand,
  lifecycleActionOf,
  toDrainCommands,
} from '../decide/drain-command';
import type { AdoptionCandidate } from '../decide/fleet-state';
import { alignTick } from '../decide/heartbeat-schedule';
import { isTerminatingWait } from '../decide/lifecycle-state';
import {
  drainLifetimeMs,
  type ExpiredDrain,
  findUnreachable,
  planTick,
  type TickPlan,
  type UnreachableDrain,
} from '../decide/plan-tick';
import { mapConcurrent, type Settled } from '../map-concurrent';
import { completeDrain, type FinishResult, finishCommand, heartbeatOrCancel } from './drain-actions';

/**
 * Calls in flight at once. Auto Scaling has one API budget per account and Region shared with everything
 * else; the SDK's adaptive retry mode slows down on throttling, this keeps a tick from starting a burst.
 */
export const RECONCILE_CONCURRENCY = 10;
/** DescribeInstanceInformation takes this many instance ids per call. */
export const AGENT_IDS_PER_CALL = 50;
const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;
/** SSM keeps command history for 30 days. */
const SSM_HISTORY_MS = 30 * DAY_MS;
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
  return Math.min(drainLifetimeMs(config) + HOUR_MS, SSM_HISTORY_MS);
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
  ctx: TickContext,
  executing: ListedCommand[],
  instances: readonly InstanceState[],
): Promise<{ listed: ListedCommand[]; unknown: ReadonlySet<string>; failures: Settled<string>[] }> {
  const { deps, config, historyStartMs } = ctx;
  const none = { unknown: new Set<string>(), failures: [] };
  const running = new Set<string>();
  for (const command of executing.flatMap(toDrainCommands)) {
    // A running EC2-notice drain owns no action: its instance's finished lifecycle drains are still listed.
    // A batched command runs while any of its drains does: each drain's own status counts.
    if (!isTerminalStatus(command.status) && isLifecycleDrainId(command.params.drainId))
      running.add(command.params.instanceId);
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
export interface StepFailure {
  error: unknown;
  keys: LogKeys;
  heartbeat: boolean;
}

/** What the phases of one tick share: its inputs, its running summary, its failures. */
export interface TickContext {
  deps: Deps;
  config: DrainerConfig;
  nowMs: number;
  /** The tick's scheduled time, aligned to the minute. */
  tickMs: number;
  /** Commands are listed from here (historyWindowMs). */
  historyStartMs: number;
  summary: TickSummary;
  failures: StepFailure[];
  /** Instances to adopt: the plan's, then those whose finished drain turned out stale or gone. */
  candidates: AdoptionCandidate[];
}

/** What the tick listed: commands, instances (warm pools' included), and whether status events queue. */
interface Listing {
  commands: DrainCommand[];
  instances: InstanceState[];
  warmPool: InstanceState[] | undefined;
  unknown: ReadonlySet<string>;
  queuedStatus: number | undefined;
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
 * The reconcile phases of one tick, in order: heartbeats first (the time-critical step), then finishes,
 * expiries, cancels, unreachable hosts and skipped warm-pool instances. A failed step is recorded in the
 * context and left to the next tick; finishTick reports them.
 */
export async function reconcile(deps: Deps, config: DrainerConfig, tick: TickWork): Promise<TickContext> {
  const ctx = startTick(deps, config, tick);
  const listing = await listFleet(ctx);
  const plan = planFromListing(ctx, listing);
  const gone = await findLostHosts(ctx, plan);
  await heartbeatDrains(ctx, plan, gone);
  const statusEventsFlow = listing.queuedStatus === undefined || listing.queuedStatus === 0;
  await finishDueDrains(ctx, plan, { statusEventsFlow });
  if (statusEventsFlow) await finishLostStatusEvents(ctx, plan);
  await expireDrains(ctx, plan);
  await cancelOrphanCommands(ctx, plan);
  await completeUnreachable(ctx, gone);
  await skipStoppedPoolInstances(ctx, plan);
  ctx.candidates = [...plan.adopt, ...ctx.candidates];
  return ctx;
}

function startTick(deps: Deps, config: DrainerConfig, tick: TickWork): TickContext {
  const nowMs = deps.now();
  return {
    deps,
    config,
    nowMs,
    tickMs: alignTick(tick.timeMs),
    historyStartMs: nowMs - historyWindowMs(config),
    failures: [],
    candidates: [],
    summary: {
      commands: 0,
      inFlight: 0,
      heartbeats: 0,
      finished: 0,
      expired: 0,
      cancelled: 0,
      unreachable: 0,
      skipped: 0,
      adopted: 0,
      failures: 0,
      queuedLifecycleEvents: null,
      queuedStatusEvents: null,
    },
  };
}

/**
 * Events waiting in a queue; undefined when unknown. The depths only tell what is not lost: their failure
 * must not cost the tick its heartbeats.
 */
export function queuedEvents(ctx: TickContext, queue: 'lifecycle' | 'status'): Promise<number | undefined> {
  return ctx.deps.queues.waitingMessages(queue).catch((error: unknown) => {
    ctx.failures.push({ error, keys: { call: 'GetQueueAttributes', queue }, heartbeat: false });
    return undefined;
  });
}

async function listFleet(ctx: TickContext): Promise<Listing> {
  const { deps, config, historyStartMs } = ctx;
  const groupNames = [...config.groupNames];
  const [executing, instances, warmPool, queuedStatus] = await Promise.all([
    deps.ssm.listCommands({ invokedAfterMs: historyStartMs, executingOnly: true }),
    deps.autoScaling.describeGroupInstances(groupNames),
    // Its failure (a role without autoscaling:DescribeWarmPool, throttling) must not cost the tick its
    // heartbeats; the plan then leaves alone the drains of instances no group lists.
    deps.autoScaling.describeWarmPoolInstances(groupNames).catch((error: unknown) => {
      ctx.failures.push({ error, keys: { call: 'DescribeWarmPool' }, heartbeat: false });
      return undefined;
    }),
    queuedEvents(ctx, 'status'),
  ]);
  const finished = await withFinishedCommands(ctx, executing, [...instances, ...(warmPool ?? [])]);
  for (const { item, error } of finished.failures) {
    ctx.failures.push({ error, keys: { instanceId: item, call: 'ListCommands' }, heartbeat: false });
  }
  const commands = finished.listed.flatMap(toDrainCommands);
  return { commands, instances, warmPool, unknown: finished.unknown, queuedStatus };
}

function planFromListing(ctx: TickContext, listing: Listing): TickPlan {
  const known = (instance: InstanceState) => !listing.unknown.has(instance.instanceId);
  const plan = planTick({
    commands: listing.commands,
    instances: listing.instances.filter(known),
    warmPool: (listing.warmPool ?? []).filter(known),
    warmPoolListed: listing.warmPool !== undefined,
    nowMs: ctx.nowMs,
    tickMs: ctx.tickMs,
    config: ctx.config,
  });
  ctx.summary.commands = listing.commands.length;
  ctx.summary.inFlight = plan.inFlight;
  ctx.summary.queuedStatusEvents = listing.queuedStatus ?? null;
  return plan;
}

/** Runs `fn` over `items`, RECONCILE_CONCURRENCY at a time, recording each failure in the context. */
async function runStep<T>(
  ctx: TickContext,
  items: readonly T[],
  keysOf: (item: T) => LogKeys,
  fn: (item: T) => Promise<void>,
  { heartbeat }: { heartbeat: boolean } = { heartbeat: false },
): Promise<void> {
  for (const { item, error } of await mapConcurrent(items, RECONCILE_CONCURRENCY, fn)) {
    ctx.failures.push({ error, keys: keysOf(item), heartbeat });
  }
}

/**
 * Hosts that died under their drain, or never got it, among the drains about to be heartbeated (SSM's
 * agent status): their commands stay InProgress or Pending for hours, and their actions would be
 * heartbeated until deadline + grace. Unknown (the lookup failed): none, heartbeat all.
 */
async function findLostHosts(ctx: TickContext, plan: TickPlan): Promise<UnreachableDrain[]> {
  const agents = new Map<string, AgentState>();
  let agentsKnown = true;
  const watchIds = [...new Set(plan.watch.map(({ command }) => command.params.instanceId))];
  const chunks: string[][] = [];
  for (let index = 0; index < watchIds.length; index += AGENT_IDS_PER_CALL) {
    chunks.push(watchIds.slice(index, index + AGENT_IDS_PER_CALL));
  }
  await runStep(
    ctx,
    chunks,
    (ids) => ({ instanceIds: ids.length }),
    async (ids) => {
      try {
        for (const [id, agent] of await ctx.deps.ssm.describeAgents(ids)) agents.set(id, agent);
      } catch (error) {
        agentsKnown = false;
        throw error;
      }
    },
  );
  return agentsKnown ? findUnreachable(plan.watch, agents, ctx.deps.now()) : [];
}

async function heartbeat(ctx: TickContext, command: DrainCommand): Promise<void> {
  const action = lifecycleActionOf(command.params);
  if ((await heartbeatOrCancel(ctx.deps, action, command, { young: false })) === 'heartbeat') {
    ctx.summary.heartbeats += 1;
  } else ctx.summary.cancelled += 1;
}

/** Heartbeats the due drains, except those of lost hosts (completed as unreachable instead). */
async function heartbeatDrains(ctx: TickContext, plan: TickPlan, gone: readonly UnreachableDrain[]) {
  const goneIds = new Set(gone.map(({ command }) => command.commandId));
  const due = plan.heartbeat.filter((command) => !goneIds.has(command.commandId));
  await runStep(ctx, due, commandKeys, (command) => heartbeat(ctx, command), { heartbeat: true });
}

/**
 * Counts a finish; a drain found stale or gone makes its instance an adoption candidate: it waits, but not
 * for this drain (an earlier life's, or an action that is over). Finished commands up to this one no
 * longer block adopting it.
 */
function afterFinish(ctx: TickContext, command: DrainCommand, result: FinishResult): void {
  if (result === 'completed') ctx.summary.finished += 1;
  if (result === 'stale' || result === 'gone') {
    ctx.candidates.push({
      instanceId: command.params.instanceId,
      groupName: command.params.autoScalingGroupName,
      lifecycleState: 'Terminating:Wait',
      ignoreFinishedUntilMs: command.requestedMs,
    });
  }
}

/**
 * Finished drains whose heartbeat is due: completed instead (one call either way), or heartbeated when
 * that does not happen. While status events flow, one that ended moments ago is left to its event.
 */
async function finishDueDrains(
  ctx: TickContext,
  plan: TickPlan,
  { statusEventsFlow }: { statusEventsFlow: boolean },
): Promise<void> {
  const options = statusEventsFlow ? { endedAtLeastMsAgo: LOST_STATUS_EVENT_MS } : {};
  const finishOne = async (command: DrainCommand) => {
    const result = await finishCommand(ctx.deps, ctx.config, command, options);
    afterFinish(ctx, command, result);
    if (result === 'not-found' || result === 'not-terminal') await heartbeat(ctx, command);
  };
  await runStep(ctx, plan.finishDue, commandKeys, finishOne, { heartbeat: true });
}

/** Lost status events: finished drains not due a heartbeat whose command ended a while ago. */
async function finishLostStatusEvents(ctx: TickContext, plan: TickPlan): Promise<void> {
  await runStep(ctx, plan.finish, commandKeys, async (command) => {
    const options = { endedAtLeastMsAgo: LOST_STATUS_EVENT_MS };
    afterFinish(ctx, command, await finishCommand(ctx.deps, ctx.config, command, options));
  });
}

/**
 * Completes a drain the tick ends (expired, unreachable), then cancels its running commands: their own
 * status events then find the action over and stay silent.
 */
async function endDrain(
  ctx: TickContext,
  drain: ExpiredDrain,
  end: { outcome: 'expired' | 'unreachable'; reason: string },
): Promise<void> {
  const { command, running } = drain;
  const result = await completeDrain(ctx.deps, ctx.config, {
    action: lifecycleActionOf(command.params),
    drainId: command.params.drainId,
    commandId: command.commandId,
    outcome: end.outcome,
    reason: end.reason,
    startedMs: command.requestedMs,
    young: false,
  });
  if (result === 'completed') {
    if (end.outcome === 'expired') ctx.summary.expired += 1;
    else ctx.summary.unreachable += 1;
  }
  for (const stale of running) await ctx.deps.ssm.cancelCommand(stale);
  ctx.summary.cancelled += running.length;
}

async function expireDrains(ctx: TickContext, plan: TickPlan): Promise<void> {
  await runStep(
    ctx,
    plan.expire,
    (drain) => commandKeys(drain.command),
    (drain) => {
      const reason = `drain command still ${drain.command.status} past its deadline ${drain.command.params.deadline}`;
      return endDrain(ctx, drain, { outcome: 'expired', reason });
    },
  );
}

/** Running commands of drains whose lifecycle action is over. */
async function cancelOrphanCommands(ctx: TickContext, plan: TickPlan): Promise<void> {
  await runStep(ctx, plan.cancel, commandKeys, async (command) => {
    ctx.deps.log.info('lifecycle action is over; cancelling its drain command', commandKeys(command));
    ctx.deps.metrics.count('LifecycleActionsGone');
    await ctx.deps.ssm.cancelCommand(command);
    ctx.summary.cancelled += 1;
  });
}

/** Lost hosts: left out of the heartbeats, so a completion that failed is a heartbeat missed. */
async function completeUnreachable(ctx: TickContext, gone: readonly UnreachableDrain[]): Promise<void> {
  await runStep(
    ctx,
    gone,
    (drain) => commandKeys(drain.command),
    (drain) => endDrain(ctx, drain, { outcome: 'unreachable', reason: drain.reason }),
    { heartbeat: true },
  );
}

/** Instances leaving a stopped or hibernated warm pool whose event was lost: nothing to drain, complete. */
async function skipStoppedPoolInstances(ctx: TickContext, plan: TickPlan): Promise<void> {
  const { deps, config } = ctx;
  await runStep(
    ctx,
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
        drainId: adoptedDrainId(instance.instanceId, ctx.tickMs),
        commandId: null,
        outcome: 'skipped',
        reason: `instance leaving a warm pool of ${instance.poolState} instances, whose lifecycle event was lost`,
        startedMs: deps.now(),
        young: false,
      });
      if (result === 'completed') ctx.summary.skipped += 1;
    },
  );
}

/**
 * Logs the tick's failures and summary. Throws (so Lambda retries the tick with the same scheduled time)
 * only when a heartbeat failed: a retry keeps that action from timing out, while one permanently failing
 * drain must not make every tick fail.
 */
export function finishTick(ctx: TickContext): TickSummary {
  const { deps, summary, failures } = ctx;
  if (summary.heartbeats > 0) deps.metrics.count('Heartbeats', summary.heartbeats);
  summary.failures = failures.length;
  for (const { error, keys } of failures) {
    const configError = error instanceof LifecycleConfigError;
    if (configError) deps.metrics.count('ConfigErrors');
    deps.log.error(configError ? 'CONFIGURATION ERROR during reconcile' : 'reconcile step failed', {
      ...keys,
      error: describeError(error),
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
