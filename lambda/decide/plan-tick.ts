// The reconciler's decisions for one tick, as a pure function of ground truth: the fleet-drain commands in
// SSM's history and the lifecycle states of the configured groups' instances.

import type { DrainerConfig } from '../config';
import { isTerminalStatus } from './command-status';
import {
  DELIVERY_TIMEOUT_SECONDS,
  type DrainCommand,
  isAdoptedDrainId,
  isLifecycleDrainId,
  lifecycleActionOf,
} from './drain-command';
import type { AgentState, InstanceState } from './fleet-state';
import {
  HEARTBEAT_MARGIN_MS,
  heartbeatPhaseMs,
  isDrainHeartbeatDue,
  maxHeartbeatPhaseMs,
} from './heartbeat-schedule';
import { isStoppedPoolState, isTerminatingWait, mayHaveActiveAction } from './lifecycle-state';

/**
 * A drain command younger than this is never cancelled for its instance's state: Auto Scaling's describe
 * calls may lag the lifecycle event by a little.
 */
export const SETTLE_MS = 120_000;

/**
 * The longest a lifecycle action can outlive the request of its drain command: delivery + drain time +
 * expiry grace until the command ends or is expired, then at most H without heartbeats, plus settle time.
 * Delivery is the DELIVERY_TIMEOUT_SECONDS the tick gives SSM before it completes an undelivered drain as
 * unreachable (isUndelivered); SSM may deliver later, but the agent then stops at the same deadline.
 */
export function drainLifetimeMs(config: DrainerConfig): number {
  return (
    DELIVERY_TIMEOUT_SECONDS * 1000 +
    config.maxDrainMs +
    config.expiryGraceMs +
    config.heartbeatTimeoutMs +
    SETTLE_MS
  );
}

/**
 * The longest a lifecycle action of ours may last, event to completion: the drain's deadline, the expiry
 * grace, the command's delivery and an adoption delay, and a tick and its margin to complete it.
 */
export function longestActionMs(config: DrainerConfig): number {
  return (
    DELIVERY_TIMEOUT_SECONDS * 1000 +
    config.maxDrainMs +
    config.expiryGraceMs +
    config.adoptionDelayMs +
    config.tickPeriodMs +
    HEARTBEAT_MARGIN_MS
  );
}

/** A drain's heartbeat phase (heartbeat-schedule.ts): the same for its start and every tick. */
export function drainPhaseMs(drainId: string, config: DrainerConfig): number {
  return heartbeatPhaseMs(drainId, maxHeartbeatPhaseMs(config, longestActionMs(config)));
}

/**
 * Whether a command is one of this configuration's drains that may still own a lifecycle action. A finished
 * command older than drainLifetimeMs cannot: it neither blocks adoption nor gets finished again.
 */
export function isRelevantCommand(command: DrainCommand, nowMs: number, config: DrainerConfig): boolean {
  const { autoScalingGroupName, lifecycleHookName } = command.params;
  if (!config.groupNames.has(autoScalingGroupName) || lifecycleHookName !== config.hookName) return false;
  return !isTerminalStatus(command.status) || command.requestedMs >= nowMs - drainLifetimeMs(config);
}

/**
 * An SSM agent that has not pinged for this long while SSM no longer calls it `Online` is taken for gone
 * (the instance was terminated or stopped under the drain). The agent pings about every 5 minutes; a
 * restart of the agent or a short network loss stays well inside this.
 */
export const AGENT_LOST_MS = 15 * 60_000;

/** Whether an instance's SSM agent is gone: not listed by SSM at all, or silent for AGENT_LOST_MS. */
export function isAgentGone(agent: AgentState | undefined, nowMs: number): boolean {
  if (agent === undefined) return true;
  if (agent.pingStatus === 'Online') return false;
  return agent.lastPingMs === undefined || nowMs - agent.lastPingMs > AGENT_LOST_MS;
}

/**
 * When the lifecycle action of a drain started, as its command tells: the deadline is the event time (or
 * the adoption time) + max drain time. Never later than the command itself, in case the max drain time was
 * lowered since it was sent.
 */
export function actionStartMs(command: DrainCommand, config: DrainerConfig): number {
  const fromDeadline = Date.parse(command.params.deadline) - config.maxDrainMs;
  return Number.isFinite(fromDeadline) ? Math.min(fromDeadline, command.requestedMs) : command.requestedMs;
}

/**
 * How long after its command ended a finished drain may still own the instance's action: H plus settle time
 * (nothing heartbeats a finished drain); for an adopted drain, addressed by InstanceId, only two periods. A
 * drain that ended earlier belongs to an earlier life of the instance: its instance is adopted again.
 */
export function finishedDrainWindowMs(drainId: string, config: DrainerConfig): number {
  const windowMs = isAdoptedDrainId(drainId)
    ? Math.min(config.heartbeatTimeoutMs, 2 * config.tickPeriodMs)
    : config.heartbeatTimeoutMs;
  return windowMs + SETTLE_MS;
}

export interface TickInput {
  commands: readonly DrainCommand[];
  instances: readonly InstanceState[];
  nowMs: number;
  /** The tick's scheduled time, aligned to the minute. */
  tickMs: number;
  config: DrainerConfig;
  /** Instances in the configured groups' warm pools (DescribeWarmPool). */
  warmPool?: readonly InstanceState[];
  /**
   * False when the warm pools could not be listed: an instance no group lists may then be waiting in one,
   * and its running drain is neither cancelled nor finished on this tick (its heartbeat tells).
   */
  warmPoolListed?: boolean;
}

export interface ExpiredDrain {
  /** The command the drain is known by (its first). */
  command: DrainCommand;
  /** Its commands that are still running. */
  running: DrainCommand[];
}

export interface TickPlan {
  /** One command per in-flight drain that is due a heartbeat. */
  heartbeat: DrainCommand[];
  /**
   * The latest command of each drain whose commands all ended while its instance still waits, and whose
   * heartbeat is due: complete it now (or heartbeat it, if that fails), whatever its status event does.
   */
  finishDue: DrainCommand[];
  /**
   * The same for drains not due a heartbeat: their status event is likely on its way (or queued); finish
   * only those whose event seems lost.
   */
  finish: DrainCommand[];
  /** In-flight drains past deadline + grace whose instance still waits: complete as `expired`, cancel. */
  expire: ExpiredDrain[];
  /** Running commands of drains whose lifecycle action is over (instance gone or moved on). */
  cancel: DrainCommand[];
  /**
   * In-flight drains due a heartbeat whose instance still waits: their SSM agents are checked first
   * (findUnreachable), so a host that died under its drain is completed instead of heartbeated.
   */
  watch: ExpiredDrain[];
  /**
   * Instances held in a terminate wait state (the warm pool's included) without any drain command: adoption
   * candidates.
   */
  adopt: InstanceState[];
  /**
   * Instances leaving a stopped or hibernated warm pool (`Warmed:Terminating:Wait`) without any drain
   * command: nothing runs there, complete as `skipped`.
   */
  skip: InstanceState[];
  /** Number of drains whose command is still running. */
  inFlight: number;
}

/** Decides what one reconcile tick does. */
export function planTick(input: TickInput): TickPlan {
  const { commands, instances, nowMs, config, warmPool = [] } = input;
  const plan: TickPlan = {
    heartbeat: [],
    finishDue: [],
    finish: [],
    expire: [],
    cancel: [],
    watch: [],
    adopt: [],
    skip: [],
    inFlight: 0,
  };
  const stateOf = instanceStates(instances, warmPool);
  const drains = groupDrains(commands, nowMs, config);
  const newest = newestDrainOf(drains);
  for (const drain of drains.values()) {
    const current = newest.get((drain[0] as DrainCommand).params.instanceId) === drain;
    planDrain(plan, input, { drain, current, stateOf });
  }
  // An EC2-notice drain owns no action: it neither holds back the adoption of a waiting instance…
  const withCommands = new Set(
    [...drains.values()]
      .filter((drain) => isLifecycleDrainId((drain[0] as DrainCommand).params.drainId))
      .map((drain) => (drain[0] as DrainCommand).params.instanceId),
  );
  planWaitingInstances(plan, config, [...stateOf.values()], withCommands);
  return plan;
}

/**
 * Every instance's state by id. DescribeAutoScalingGroups does not list warm-pool instances; one that goes
 * back to the pool on scale-in waits for our hook in Warmed:Pending:Wait, listed only by DescribeWarmPool.
 */
function instanceStates(
  instances: readonly InstanceState[],
  warmPool: readonly InstanceState[],
): Map<string, InstanceState> {
  const stateOf = new Map<string, InstanceState>();
  for (const instance of warmPool) stateOf.set(instance.instanceId, instance);
  for (const instance of instances) stateOf.set(instance.instanceId, instance);
  return stateOf;
}

/** One drain = one lifecycle action = one drain id on one instance; duplicates of it are extra commands. */
function groupDrains(
  commands: readonly DrainCommand[],
  nowMs: number,
  config: DrainerConfig,
): Map<string, DrainCommand[]> {
  const drains = new Map<string, DrainCommand[]>();
  for (const command of commands) {
    if (!isRelevantCommand(command, nowMs, config)) continue;
    const key = `${command.params.instanceId} ${command.params.drainId}`;
    const list = drains.get(key);
    if (list === undefined) drains.set(key, [command]);
    else list.push(command);
  }
  for (const list of drains.values()) {
    list.sort((a, b) => a.requestedMs - b.requestedMs || a.commandId.localeCompare(b.commandId));
  }
  return drains;
}

/**
 * Only the newest drain of an instance speaks for its current lifecycle action. Older ones belong to an
 * earlier life of the instance (warm-pool reuse) or lost a race with adoption: finishing them could
 * complete the current action with a stale report.
 */
function newestDrainOf(drains: Map<string, DrainCommand[]>): Map<string, DrainCommand[]> {
  const newestOf = new Map<string, DrainCommand[]>();
  for (const list of drains.values()) {
    const first = list[0] as DrainCommand;
    // …nor speaks for the instance's lifecycle action.
    if (!isLifecycleDrainId(first.params.drainId)) continue;
    const newest = newestOf.get(first.params.instanceId)?.[0];
    if (newest === undefined || first.requestedMs > newest.requestedMs)
      newestOf.set(first.params.instanceId, list);
  }
  return newestOf;
}

/** Puts one drain (its commands, oldest first) into the plan. */
function planDrain(
  plan: TickPlan,
  { nowMs, tickMs, config, warmPoolListed = true }: TickInput,
  {
    drain,
    current,
    stateOf,
  }: { drain: DrainCommand[]; current: boolean; stateOf: Map<string, InstanceState> },
): void {
  const first = drain[0] as DrainCommand;
  const latest = drain[drain.length - 1] as DrainCommand;
  if (!isLifecycleDrainId(first.params.drainId)) {
    // An EC2-notice drain: no action to heartbeat, expire or complete, nothing to cancel when its instance
    // is not terminating (it never was); its status event reports its end.
    if (drain.some((command) => !isTerminalStatus(command.status))) plan.inFlight += 1;
    return;
  }
  const action = lifecycleActionOf(first.params);
  const state = stateOf.get(action.instanceId);
  const lifecycleState = state?.groupName === action.groupName ? state.lifecycleState : undefined;
  const running = drain.filter((command) => !isTerminalStatus(command.status));
  // Running or ended, a drain keeps its phased slots: an ended one is completed at its slot instead.
  const heartbeatDue = isDrainHeartbeatDue(
    {
      actionStartMs: actionStartMs(first, config),
      requestedMs: first.requestedMs,
      phaseMs: drainPhaseMs(first.params.drainId, config),
    },
    tickMs,
    config,
  );
  if (running.length === 0) {
    if (current && isTerminatingWait(lifecycleState))
      (heartbeatDue ? plan.finishDue : plan.finish).push(latest);
    return;
  }
  plan.inFlight += 1;
  const unknown = state === undefined && !warmPoolListed;
  if (!unknown && !mayHaveActiveAction(lifecycleState)) {
    // The instance is gone or has moved on: the action is over, the command has nothing left to protect.
    for (const command of running) {
      if (command.status !== 'Cancelling' && nowMs - command.requestedMs >= SETTLE_MS)
        plan.cancel.push(command);
    }
    return;
  }
  if (!current) return;
  if (nowMs > Date.parse(first.params.deadline) + config.expiryGraceMs) {
    plan.expire.push({ command: first, running });
    return;
  }
  if (!heartbeatDue) return;
  plan.heartbeat.push(first);
  if (nowMs - latest.requestedMs >= SETTLE_MS) plan.watch.push({ command: first, running });
}

/**
 * Instances of the configured groups waiting in a terminate state without any drain command: adopted, or
 * skipped when they leave a stopped or hibernated pool (nothing runs there to drain).
 */
function planWaitingInstances(
  plan: TickPlan,
  config: DrainerConfig,
  instances: readonly InstanceState[],
  withCommands: ReadonlySet<string>,
): void {
  for (const instance of instances) {
    if (
      !config.groupNames.has(instance.groupName) ||
      !isTerminatingWait(instance.lifecycleState) ||
      withCommands.has(instance.instanceId)
    ) {
      continue;
    }
    if (instance.lifecycleState === 'Warmed:Terminating:Wait' && isStoppedPoolState(instance.poolState))
      plan.skip.push(instance);
    else plan.adopt.push(instance);
  }
}

/** Invocation statuses of a command SSM has not delivered yet (monitor-commands.html). */
const UNDELIVERED_STATUSES: ReadonlySet<string> = new Set(['Pending', 'Delayed']);

/**
 * Whether a drain was never delivered to a host that is not reachable: every running command still Pending
 * (or Delayed) DELIVERY_TIMEOUT_SECONDS after it was sent, and the SSM Agent not Online. SSM itself gives up
 * only after TimeoutSeconds plus the execution timeout, about a whole drain.
 */
export function isUndelivered(drain: ExpiredDrain, agent: AgentState | undefined, nowMs: number): boolean {
  return (
    agent?.pingStatus !== 'Online' &&
    drain.running.length > 0 &&
    drain.running.every(
      (command) =>
        UNDELIVERED_STATUSES.has(command.status) &&
        nowMs - command.requestedMs >= DELIVERY_TIMEOUT_SECONDS * 1000,
    )
  );
}

/** A watched drain to complete as `unreachable`, and why. */
export interface UnreachableDrain extends ExpiredDrain {
  reason: string;
}

/**
 * The watched drains whose host is gone or was never reached: a host that died under its drain leaves the
 * command InProgress until its timeouts, one whose agent went offline before delivery leaves it Pending
 * for TimeoutSeconds plus the execution timeout, and the action would be heartbeated until deadline + grace.
 * SSM's agent status tells much sooner.
 */
export function findUnreachable(
  watch: readonly ExpiredDrain[],
  agents: ReadonlyMap<string, AgentState>,
  nowMs: number,
): UnreachableDrain[] {
  return watch.flatMap((drain) => {
    const agent = agents.get(drain.command.params.instanceId);
    if (isAgentGone(agent, nowMs))
      return [{ ...drain, reason: 'the instance is gone: its SSM agent is no longer connected' }];
    if (isUndelivered(drain, agent, nowMs)) {
      return [
        {
          ...drain,
          reason: `the drain command was never delivered: still ${drain.running[0]?.status} ${DELIVERY_TIMEOUT_SECONDS} s after it was sent, and the SSM agent is ${agent?.pingStatus ?? 'not registered'}`,
        },
      ];
    }
    return [];
  });
}
