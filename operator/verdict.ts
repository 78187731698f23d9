// What `status` says of one instance held by the drainer's hook: its drain, the command's state, the time
// left, the next heartbeat, and a one-word verdict with its reason. Pure: the same functions as the Lambda
// (lambda/decide/), so the two cannot disagree on when an action started or when it is heartbeated.

import type { OperatorConfig, OperatorTiming } from '../common/operator-config';
import {
  DEFAULT_EVENT_BUS_NAME,
  type DrainerConfig,
  LIFECYCLE_TIMEOUT_HEARTBEATS,
  MAX_DRAIN_SECONDS_LIMIT,
} from '../lambda/config';
import { isTerminalStatus } from '../lambda/decide/command-status';
import {
  type DrainCommand,
  type DrainTrigger,
  isLifecycleDrainId,
  triggerOfDrainId,
} from '../lambda/decide/drain-command';
import type { AgentState, InstanceState } from '../lambda/decide/fleet-state';
import {
  alignTick,
  HEARTBEAT_MARGIN_MS,
  isDrainHeartbeatDue,
  TICK_GRID_MS,
} from '../lambda/decide/heartbeat-schedule';
import {
  actionStartMs,
  drainLifetimeMs,
  drainPhaseMs,
  findUnreachable,
  isRelevantCommand,
} from '../lambda/decide/plan-tick';

export type Verdict = 'draining' | 'finishing' | 'unreachable' | 'stuck';

/** The hook as DescribeLifecycleHooks tells it. */
export interface HookTiming {
  heartbeatTimeoutMs: number;
  /** GlobalTimeout: min(100 × HeartbeatTimeout, 48 h). */
  globalTimeoutMs: number;
}

/** One waiting instance, as `status` shows it (times in ms since the epoch; undefined = not known). */
export interface InstanceStatus {
  instanceId: string;
  groupName: string;
  lifecycleState: string;
  verdict: Verdict;
  reason: string;
  drainId?: string;
  trigger?: DrainTrigger;
  commandId?: string;
  commandStatus?: string;
  /** When the drain's (latest) command was sent. */
  requestedMs?: number;
  /** The agent's deadline (the command's `deadline` parameter). */
  deadlineMs?: number;
  actionStartMs?: number;
  /** When Auto Scaling ends the wait whatever happens: action start + GlobalTimeout. */
  globalTimeoutAtMs?: number;
  /** The tick that heartbeats the action next (its heartbeat goes out within HEARTBEAT_MARGIN_MS of it). */
  nextHeartbeatMs?: number;
}

/** The global timeout of a hook: what it says, else min(100 × H, 48 h) (API_LifecycleHook.html). */
export function globalTimeoutMs(heartbeatTimeoutS: number, globalTimeoutS: number | undefined): number {
  if (globalTimeoutS !== undefined && globalTimeoutS > 0) return globalTimeoutS * 1000;
  return Math.min(LIFECYCLE_TIMEOUT_HEARTBEATS * heartbeatTimeoutS, MAX_DRAIN_SECONDS_LIMIT) * 1000;
}

/**
 * The drainer's configuration as the Lambda's decisions read it. Only the names and the timing matter to
 * the functions used here; the rest is neutral.
 */
export function lambdaConfigOf(drainer: OperatorConfig, timing: OperatorTiming): DrainerConfig {
  return {
    documentName: drainer.document,
    groupNames: new Set(drainer.groups),
    hookName: drainer.hook,
    maxDrainMs: timing.maxDrainSeconds * 1000,
    heartbeatTimeoutMs: timing.heartbeatTimeoutSeconds * 1000,
    tickPeriodMs: timing.tickPeriodSeconds * 1000,
    expiryGraceMs: timing.expiryGraceSeconds * 1000,
    adoptionDelayMs: timing.adoptionDelaySeconds * 1000,
    resultPolicy: 'CONTINUE',
    eventBusName: DEFAULT_EVENT_BUS_NAME,
    unreachableGraceMs: 0,
    lifecycleQueueUrl: undefined,
    statusQueueUrl: undefined,
    rebalanceAction: 'ignore',
  };
}

/** The first tick on the minute grid, after `nowMs`, that heartbeats the drain (bounded: one H of ticks). */
export function nextHeartbeatMs(
  first: DrainCommand,
  nowMs: number,
  config: DrainerConfig,
): number | undefined {
  const drain = {
    actionStartMs: actionStartMs(first, config),
    requestedMs: first.requestedMs,
    phaseMs: drainPhaseMs(first.params.drainId, config),
  };
  const firstTick = alignTick(nowMs) + TICK_GRID_MS;
  const ticks = Math.ceil(config.heartbeatTimeoutMs / TICK_GRID_MS) + 1;
  for (let index = 0; index < ticks; index += 1) {
    const tickMs = firstTick + index * TICK_GRID_MS;
    if (isDrainHeartbeatDue(drain, tickMs, config)) return tickMs;
  }
  return undefined;
}

/** The commands of the instance's current lifecycle drain, oldest first, as the reconciler picks it. */
export function currentDrain(
  commands: readonly DrainCommand[],
  instanceId: string,
  nowMs: number,
  config: DrainerConfig,
): DrainCommand[] {
  const ours = commands.filter(
    (command) =>
      command.params.instanceId === instanceId &&
      isLifecycleDrainId(command.params.drainId) &&
      isRelevantCommand(command, nowMs, config),
  );
  const newest = ours.reduce<DrainCommand | undefined>(
    (best, command) => (best === undefined || command.requestedMs > best.requestedMs ? command : best),
    undefined,
  );
  if (newest === undefined) return [];
  return ours
    .filter((command) => command.params.drainId === newest.params.drainId)
    .sort((a, b) => a.requestedMs - b.requestedMs || a.commandId.localeCompare(b.commandId));
}

export interface AssessInput {
  instance: InstanceState;
  /** Every drain command listed for the drainer (any instance). */
  commands: readonly DrainCommand[];
  agent: AgentState | undefined;
  hook: HookTiming | undefined;
  drainer: OperatorConfig;
  nowMs: number;
}

/** The status of one waiting instance. */
export function assessInstance(input: AssessInput): InstanceStatus {
  const { instance, drainer, nowMs } = input;
  const base = {
    instanceId: instance.instanceId,
    groupName: instance.groupName,
    lifecycleState: instance.lifecycleState,
  };
  const timing = drainer.timing;
  // Without the Lambda's timing only the listing's own facts are known: relevance is judged by the hook.
  const config = lambdaConfigOf(drainer, timing ?? fallbackTiming(input.hook));
  const drain = currentDrain(input.commands, instance.instanceId, nowMs, config);
  const first = drain[0];
  const latest = drain[drain.length - 1];
  if (first === undefined || latest === undefined) return { ...base, ...noDrain(input, config) };
  const startMs = timing === undefined ? undefined : actionStartMs(first, config);
  const running = drain.filter((command) => !isTerminalStatus(command.status));
  const facts = {
    drainId: first.params.drainId,
    trigger: triggerOfDrainId(first.params.drainId),
    commandId: latest.commandId,
    commandStatus: latest.status,
    requestedMs: latest.requestedMs,
    deadlineMs: Date.parse(first.params.deadline),
    ...(startMs === undefined ? {} : { actionStartMs: startMs }),
    ...(startMs === undefined || input.hook === undefined
      ? {}
      : { globalTimeoutAtMs: startMs + input.hook.globalTimeoutMs }),
  };
  const beat = timing === undefined ? undefined : nextHeartbeatMs(first, nowMs, config);
  const next = beat === undefined ? {} : { nextHeartbeatMs: beat };
  if (running.length === 0) return { ...base, ...facts, ...next, ...finished(latest, nowMs, config) };
  return { ...base, ...facts, ...next, ...inFlight(first, running, input, config) };
}

/** Without the drainer's timing: the hook's H, the Lambda's defaults for the rest (lambda/config.ts). */
function fallbackTiming(hook: HookTiming | undefined): OperatorTiming {
  return {
    maxDrainSeconds: 3600,
    heartbeatTimeoutSeconds: (hook?.heartbeatTimeoutMs ?? 3_600_000) / 1000,
    tickPeriodSeconds: 60,
    expiryGraceSeconds: 300,
    adoptionDelaySeconds: 45,
  };
}

/** An instance waiting with no drain of ours: nothing drains it. */
function noDrain(
  { instance, commands }: AssessInput,
  config: DrainerConfig,
): Pick<InstanceStatus, 'verdict' | 'reason'> {
  const notice = commands.find(
    (command) =>
      command.params.instanceId === instance.instanceId && !isLifecycleDrainId(command.params.drainId),
  );
  const adoptWithinS = (config.adoptionDelayMs + config.tickPeriodMs) / 1000;
  const suffix = `the reconciler adopts a waiting instance within about ${adoptWithinS} s; if this stays, check the drainer Lambda's errors and its reconcile schedule`;
  return {
    verdict: 'stuck',
    reason: notice
      ? `only a ${triggerOfDrainId(notice.params.drainId)} drain (${notice.params.drainId}), which owns no lifecycle action: ${suffix}`
      : `no drain command for this instance: ${suffix}`,
  };
}

/** Every command of the drain ended while the instance still waits. */
function finished(
  latest: DrainCommand,
  nowMs: number,
  config: DrainerConfig,
): Pick<InstanceStatus, 'verdict' | 'reason'> {
  if (nowMs - latest.requestedMs > drainLifetimeMs(config)) {
    return {
      verdict: 'stuck',
      reason: `the drain ended (${latest.status}) longer ago than any drain lasts: the reconciler no longer tracks it and adopts the instance again; if this stays, check the drainer Lambda's errors`,
    };
  }
  return {
    verdict: 'finishing',
    reason: `the agent exited (${latest.status}); the Lambda completes the lifecycle action on the command's status event or at the drain's next heartbeat slot`,
  };
}

/** A drain whose command still runs. */
function inFlight(
  first: DrainCommand,
  running: DrainCommand[],
  { instance, agent, nowMs }: AssessInput,
  config: DrainerConfig,
): Pick<InstanceStatus, 'verdict' | 'reason'> {
  const agents = new Map(agent === undefined ? [] : [[instance.instanceId, agent]]);
  const [unreachable] = findUnreachable([{ command: first, running }], agents, nowMs);
  if (unreachable !== undefined) {
    return {
      verdict: 'unreachable',
      reason: `${unreachable.reason}; the Lambda completes the action as unreachable on the drain's next heartbeat tick`,
    };
  }
  const expiresMs = Date.parse(first.params.deadline) + config.expiryGraceMs;
  // The tick that expires it runs within a period of that time, its calls within the margin.
  if (nowMs > expiresMs + config.tickPeriodMs + HEARTBEAT_MARGIN_MS) {
    return {
      verdict: 'stuck',
      reason: `the command still runs ${Math.round((nowMs - expiresMs) / 1000)} s past its deadline and expiry grace: the reconciler should have completed it as expired; check the drainer Lambda's errors`,
    };
  }
  const online = agent?.pingStatus === 'Online';
  return {
    verdict: 'draining',
    reason:
      nowMs > expiresMs
        ? 'past its deadline and expiry grace: the next reconcile tick completes it as expired'
        : `the agent runs the drain (command ${running[0]?.status}${online ? ', SSM agent Online' : ''})`,
  };
}
