// The drain command as the Lambda sees it: built from a lifecycle action, read back from SSM's command
// history. The command's parameters are the reconciler's only memory, so they carry everything needed to
// heartbeat and complete the lifecycle action.

import { createHash } from 'node:crypto';
import {
  DRAIN_PARAMETERS,
  type DrainParameters,
  findInvalidParameter,
  PLAN_ACTION,
} from '../../agent/policy/drain-parameters';
import type { DrainerConfig } from '../config';
import type { DRAIN_TRIGGERS } from '../telemetry-names';
import type { InstanceNoticeWork } from './classify-event';

/**
 * SendCommand's TimeoutSeconds (30 s minimum). SSM keeps an undelivered command Pending until TimeoutSeconds
 * *plus* the document's execution timeout before it is `Delivery Timed Out` (monitor-commands.html), so the
 * tick does not wait for that: two minutes after sending, a drain still undelivered to an agent that is not
 * online is completed as `unreachable` and cancelled (plan-tick.ts, isUndelivered). An agent that is briefly
 * reconnecting still gets the command. The drain itself is bounded by the execution timeout and the deadline.
 */
export const DELIVERY_TIMEOUT_SECONDS = 120;

/** A fleet-drain command read back from ListCommands, with valid parameters. */
export interface DrainCommand {
  commandId: string;
  requestedMs: number;
  /** Command-level status (for one instance, the invocation's status). */
  status: string;
  params: DrainParameters;
}

/** What ListCommands returns for a command, reduced to the fields we read. */
export interface ListedCommand {
  commandId: string | undefined;
  parameters: Record<string, string[]> | undefined;
  requestedMs: number | undefined;
  /** The command's status: for several instances, SSM's sum of their invocations'. */
  status: string | undefined;
  /** A batched command still running: each instance's invocation status (ListCommandInvocations). */
  invocationStatuses?: ReadonlyMap<string, string>;
}

/** How the lifecycle action of a drain is addressed: by token, or by instance id for an adopted drain. */
export interface LifecycleActionRef {
  groupName: string;
  hookName: string;
  instanceId: string;
  /** Undefined for adopted drains: the token is only ever in the lost event. */
  token: string | undefined;
}

const ADOPTED_PREFIX = 'adopted-';

/** `yyyy-mm-ddThh:mm`: the length of an ISO 8601 time cut at the minute. */
const ISO_MINUTE_CHARS = 16;

/**
 * Drain id of an adopted instance: `adopted-<instanceId>-<yyyymmddhhmm>`, the minute of the adopting tick
 * (no API returns the token). Unique per life of the instance, the same for Lambda's retries of that tick;
 * at most 40 characters, inside the drainId pattern of agent/policy/drain-parameters.ts.
 */
export function adoptedDrainId(instanceId: string, tickMs: number): string {
  const minute = new Date(tickMs).toISOString().slice(0, ISO_MINUTE_CHARS).replace(/[-T:]/g, '');
  return `${ADOPTED_PREFIX}${instanceId}-${minute}`;
}

/** True for a drain id made by adoptedDrainId (a lifecycle token is a UUID and never starts this way). */
export function isAdoptedDrainId(drainId: string): boolean {
  return drainId.startsWith(ADOPTED_PREFIX);
}

/**
 * What started a drain: a terminate lifecycle action (its token, or an adoption), an EC2 Spot interruption
 * warning, or an EC2 rebalance recommendation. Read from the drain id's prefix: tokens are UUIDs.
 */
export type DrainTrigger = (typeof DRAIN_TRIGGERS)[number];

const SPOT_PREFIX = 'spot-';
const REBALANCE_PREFIX = 'rebalance-';

/** The trigger of any drain id. */
export function triggerOfDrainId(drainId: string): DrainTrigger {
  if (drainId.startsWith(SPOT_PREFIX)) return 'spot-interruption';
  if (drainId.startsWith(REBALANCE_PREFIX)) return 'rebalance-recommendation';
  return 'lifecycle';
}

/** True for a drain that owns a lifecycle action (heartbeated, completed); false for EC2-notice drains. */
export function isLifecycleDrainId(drainId: string): boolean {
  return triggerOfDrainId(drainId) === 'lifecycle';
}

/**
 * Drain id of an EC2 notice: `spot-<instanceId>-<yyyymmddhhmmss>` or `rebalance-…`, the event's time (UTC).
 * An event delivered twice gives the same id (the agent joins); at most 44 characters, inside the pattern.
 */
export function noticeDrainId(
  trigger: Exclude<DrainTrigger, 'lifecycle'>,
  instanceId: string,
  eventTimeMs: number,
): string {
  const second = new Date(eventTimeMs).toISOString().slice(0, 19).replace(/[-T:]/g, '');
  const prefix = trigger === 'spot-interruption' ? SPOT_PREFIX : REBALANCE_PREFIX;
  return `${prefix}${instanceId}-${second}`;
}

/**
 * EC2 interrupts a Spot Instance two minutes after its interruption warning (spot-instance-termination-notices.html).
 * The drain ends SPOT_REPORT_MARGIN_S before that, so the agent's report and SSM's status leave the host.
 */
export const SPOT_NOTICE_S = 120;
export const SPOT_REPORT_MARGIN_S = 20;

/** Deadline of a Spot interruption drain: event time + 120 s − 20 s. */
export function spotDeadlineMs(eventTimeMs: number): number {
  return eventTimeMs + (SPOT_NOTICE_S - SPOT_REPORT_MARGIN_S) * 1000;
}

/** The document's `action` parameter: a full drain, or only the policy's `prepare` steps. */
export type DrainAction = 'drain' | 'prepare';

/** What the notice asks of the host: a drain, a prepare, or nothing (a rebalance under `ignore`). */
export function noticeAction(work: InstanceNoticeWork, config: DrainerConfig): DrainAction | undefined {
  if (work.trigger === 'spot-interruption') return 'drain';
  return config.rebalanceAction === 'ignore' ? undefined : config.rebalanceAction;
}

/**
 * The drain's deadline: a Spot warning's interruption comes 120 s after it, less the report margin
 * (hibernation begins at once: the drain is best effort); a rebalance drain gets the normal max drain time.
 */
export function noticeDeadlineMs(work: InstanceNoticeWork, config: DrainerConfig): number {
  return work.trigger === 'spot-interruption'
    ? spotDeadlineMs(work.eventTimeMs)
    : work.eventTimeMs + config.maxDrainMs;
}

/** The parameters the Lambda sends: the document's, with `action` always set. */
export type SentDrainParameters = DrainParameters & { action: DrainAction };

/**
 * The lifecycle action a drain belongs to. An adopted drain's is addressed by instance id (no token); an
 * EC2-notice drain has none of its own (no token either, and it is never heartbeated or completed).
 */
export function lifecycleActionOf(params: Omit<DrainParameters, 'deadline'>): LifecycleActionRef {
  const byToken = !isAdoptedDrainId(params.drainId) && isLifecycleDrainId(params.drainId);
  return {
    groupName: params.autoScalingGroupName,
    hookName: params.lifecycleHookName,
    instanceId: params.instanceId,
    token: byToken ? params.drainId : undefined,
  };
}

/** SendCommand's Comment is at most 100 characters. */
export const COMMENT_LIMIT = 100;
/** Marks a comment that names the drain (older versions wrote `fleet-drainer <instanceId> <group>`). */
const COMMENT_PREFIX = 'fleet-drainer:2';
const DRAIN_ID = new RegExp(DRAIN_PARAMETERS.drainId.pattern);

/** 64 bits of the digest: a collision between two configured groups is out of reach. */
const GROUP_DIGEST_CHARS = 16;

/** A group name too long for the comment is written as `#` and the start of its SHA-256. */
function groupDigest(groupName: string): string {
  return `#${createHash('sha256').update(groupName).digest('hex').slice(0, GROUP_DIGEST_CHARS)}`;
}

/**
 * SendCommand's Comment: `fleet-drainer:2 <drainId> <group>` (the group's digest when the name does not
 * fit). GetCommandInvocation returns it, so a status event is finished with that one call: no listing of
 * the command's parameters on SSM's shared ListCommands budget. Also what the console's history shows.
 */
export function commandComment(params: Pick<DrainParameters, 'drainId' | 'autoScalingGroupName'>): string {
  const comment = `${COMMENT_PREFIX} ${params.drainId} ${params.autoScalingGroupName}`;
  return comment.length <= COMMENT_LIMIT
    ? comment
    : `${COMMENT_PREFIX} ${params.drainId} ${groupDigest(params.autoScalingGroupName)}`;
}

/** Marks the comment of a batched start, which names its group only: its drains are in `drainIds`. */
const BATCH_COMMENT_PREFIX = 'fleet-drainer:batch';

/** SendCommand's Comment of a batched start: `fleet-drainer:batch <group>` (the digest when it does not fit). */
export function batchComment(groupName: string): string {
  const comment = `${BATCH_COMMENT_PREFIX} ${groupName}`;
  return comment.length <= COMMENT_LIMIT ? comment : `${BATCH_COMMENT_PREFIX} ${groupDigest(groupName)}`;
}

/** The group a batched start's comment names, when it is a configured one; undefined otherwise. */
export function readBatchComment(
  comment: string | undefined,
  groupNames: ReadonlySet<string>,
): string | undefined {
  const [prefix, group, ...rest] = (comment ?? '').split(' ');
  if (prefix !== BATCH_COMMENT_PREFIX || group === undefined || rest.length > 0) return undefined;
  if (groupNames.has(group)) return group;
  for (const name of groupNames) if (groupDigest(name) === group) return name;
  return undefined;
}

/** The drain a comment names, when it is one of ours for a configured group; undefined otherwise. */
export function readCommandComment(
  comment: string | undefined,
  groupNames: ReadonlySet<string>,
): { drainId: string; groupName: string } | undefined {
  const [prefix, drainId, group, ...rest] = (comment ?? '').split(' ');
  if (prefix !== COMMENT_PREFIX || drainId === undefined || group === undefined || rest.length > 0) {
    return undefined;
  }
  if (!DRAIN_ID.test(drainId)) return undefined;
  if (groupNames.has(group)) return { drainId, groupName: group };
  if (!group.startsWith('#')) return undefined;
  for (const name of groupNames) if (groupDigest(name) === group) return { drainId, groupName: name };
  return undefined;
}

/**
 * Reads a listed command back as the drains it carries: one, or one per instance of a batched start (each
 * with its own drain id and, while the command runs, its own invocation's status). Empty when it is not one
 * of ours (missing or invalid parameters).
 */
export function toDrainCommands(listed: ListedCommand): DrainCommand[] {
  const { commandId, requestedMs, status } = listed;
  if (commandId === undefined || requestedMs === undefined || status === undefined) return [];
  const values: Record<string, string | undefined> = {};
  for (const [name, list] of Object.entries(listed.parameters ?? {})) values[name] = list[0];
  if (findInvalidParameter(values) !== undefined || values.action === PLAN_ACTION) return [];
  const params: DrainParameters = {
    drainId: values.drainId as string,
    deadline: values.deadline as string,
    instanceId: values.instanceId as string,
    autoScalingGroupName: values.autoScalingGroupName as string,
    lifecycleHookName: values.lifecycleHookName as string,
  };
  const members = readDrainIds(values.drainIds);
  if (members.size === 0) return [{ commandId, requestedMs, status, params }];
  // A command that ended ended for every instance; one still running is read per invocation.
  return [...members].map(([instanceId, drainId]) => ({
    commandId,
    requestedMs,
    status: listed.invocationStatuses?.get(instanceId) ?? status,
    params: { ...params, drainId, instanceId },
  }));
}

/** SendCommand's limit on InstanceIds: a batched start carries at most this many drains. */
export const BATCH_LIMIT = 50;

/**
 * The drains of one batch may have been asked for a little apart; the batch's deadline is the earliest of
 * theirs, so no drain is batched with one whose deadline is more than this earlier than its own.
 */
export const BATCH_DEADLINE_SPREAD_MS = 60_000;

/** The `drainIds` parameter of a batched start: `<instanceId>=<drainId>`, comma-separated. */
export function formatDrainIds(members: readonly Pick<DrainParameters, 'drainId' | 'instanceId'>[]): string {
  return members.map(({ instanceId, drainId }) => `${instanceId}=${drainId}`).join(',');
}

/** A `drainIds` parameter read back: instance id → drain id (empty for a command of one drain). */
export function readDrainIds(value: string | undefined): Map<string, string> {
  const members = new Map<string, string>();
  for (const pair of (value ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at > 0) members.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return members;
}

/** True for a listed command that starts several drains (its instances' statuses are read one by one). */
export function isBatchedListing(listed: ListedCommand): boolean {
  return (listed.parameters?.drainIds?.[0] ?? '') !== '';
}

/** What drains must share to go in one command: everything they are sent but their own id, host and deadline. */
function batchKey({ drainId, instanceId, deadline, drainIds, ...shared }: SentDrainParameters): string {
  return JSON.stringify(Object.entries(shared).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Splits drains to start into batches for one SendCommand each: drains of the same group, hook, action (and
 * whatever else the document is sent), at most BATCH_LIMIT, deadlines within BATCH_DEADLINE_SPREAD_MS, an
 * instance at most once. Returns indexes into `starts`, in order of deadline.
 */
export function planBatches(starts: readonly SentDrainParameters[]): number[][] {
  const byKey = new Map<string, number[]>();
  for (const [index, start] of starts.entries()) {
    const key = batchKey(start);
    byKey.set(key, [...(byKey.get(key) ?? []), index]);
  }
  const batches: number[][] = [];
  for (const indexes of byKey.values()) {
    const left = [...indexes].sort((a, b) => deadlineMs(starts[a]) - deadlineMs(starts[b]) || a - b);
    while (left.length > 0) {
      const first = deadlineMs(starts[left[0] as number]);
      const hosts = new Set<string>();
      const batch: number[] = [];
      for (const index of left) {
        const { instanceId } = starts[index] as SentDrainParameters;
        if (batch.length >= BATCH_LIMIT || deadlineMs(starts[index]) - first > BATCH_DEADLINE_SPREAD_MS)
          break;
        if (hosts.has(instanceId)) continue;
        hosts.add(instanceId);
        batch.push(index);
      }
      batches.push(batch);
      for (const index of batch) left.splice(left.indexOf(index), 1);
    }
  }
  return batches;
}

const deadlineMs = (params: SentDrainParameters | undefined): number => Date.parse(params?.deadline ?? '');

/**
 * The parameters of one command for a batch of drains: `drainIds` pairs each host with its drain; `drainId`
 * and `instanceId` name the first; the deadline is the earliest, never later than any drain's own. A batch
 * of one is sent as a drain of its own.
 */
export function batchParameters(members: readonly SentDrainParameters[]): SentDrainParameters {
  const [first, ...rest] = members;
  if (first === undefined) throw new Error('batchParameters: an empty batch');
  if (rest.length === 0) return first;
  const earliest = members.reduce((a, b) => (deadlineMs(b) < deadlineMs(a) ? b : a));
  return { ...first, deadline: earliest.deadline, drainIds: formatDrainIds(members) };
}

/** The deadline parameter: `timeMs` as ISO 8601 UTC, whole seconds (the pattern allows milliseconds too). */
export function formatDeadline(timeMs: number): string {
  return new Date(Math.floor(timeMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
