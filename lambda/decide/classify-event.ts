// Turns whatever invoked the Lambda into one of the three kinds of work, or a reason to ignore it.
// Pure and total: any input, however malformed, gives a result and never throws.

import { DRAIN_PARAMETERS } from '../../agent/policy/drain-parameters';
import type { DrainerConfig } from '../config';
import { isTerminalStatus } from './command-status';

/** An EC2 Auto Scaling terminate lifecycle action for a configured group and hook. */
export interface LifecycleWork {
  kind: 'lifecycle';
  token: string;
  instanceId: string;
  groupName: string;
  hookName: string;
  eventTimeMs: number;
  origin: string | undefined;
  destination: string | undefined;
}

/** A terminal status of a fleet-drain command invocation. */
export interface CommandStatusWork {
  kind: 'command-status';
  commandId: string;
  instanceId: string;
  status: string;
  /** The command's `requested-date-time`, when the event carries a valid one. */
  requestedMs: number | undefined;
}

/** A reconcile tick: `timeMs` is the event's (scheduled) time. */
export interface TickWork {
  kind: 'tick';
  timeMs: number;
}

/**
 * An EC2 notice for an instance: a Spot interruption warning or a rebalance recommendation. Whether the
 * instance is in a configured group is asked of Auto Scaling by the workflow (the event does not say).
 */
export interface InstanceNoticeWork {
  kind: 'instance-notice';
  trigger: 'spot-interruption' | 'rebalance-recommendation';
  instanceId: string;
  eventTimeMs: number;
  /** The warning's `instance-action` (`terminate`, `stop`, `hibernate`); undefined for a recommendation. */
  instanceAction: string | undefined;
}

export interface IgnoredEvent {
  kind: 'ignored';
  reason: string;
}

export type Work = LifecycleWork | CommandStatusWork | TickWork | InstanceNoticeWork | IgnoredEvent;

export const LIFECYCLE_DETAIL_TYPE = 'EC2 Instance-terminate Lifecycle Action';
export const COMMAND_STATUS_DETAIL_TYPE = 'EC2 Command Invocation Status-change Notification';
export const SCHEDULED_DETAIL_TYPE = 'Scheduled Event';
const TERMINATING = 'autoscaling:EC2_INSTANCE_TERMINATING';
/**
 * EC2's notices (source `aws.ec2`): the warning's detail is `{instance-id, instance-action}`, action
 * `terminate`, `stop` or `hibernate` (spot-instance-termination-notices.html); the recommendation's is
 * `{instance-id}` (rebalance-recommendations.html).
 */
export const SPOT_INTERRUPTION_DETAIL_TYPE = 'EC2 Spot Instance Interruption Warning';
export const REBALANCE_DETAIL_TYPE = 'EC2 Instance Rebalance Recommendation';
/** Interruption behaviours that end the instance's work: each is drained (hibernation best effort). */
const INTERRUPTING_ACTIONS: ReadonlySet<string> = new Set(['terminate', 'stop', 'hibernate']);

const INSTANCE_ID = new RegExp(DRAIN_PARAMETERS.instanceId.pattern);
const NAME = new RegExp(DRAIN_PARAMETERS.autoScalingGroupName.pattern);
/** Lifecycle action tokens and command ids are UUIDs (so a token never looks like an adopted drain id). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

type Fields = Record<string, unknown>;

function asFields(value: unknown): Fields | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : undefined;
}

function stringField(fields: Fields, name: string): string | undefined {
  const value = Object.hasOwn(fields, name) ? fields[name] : undefined;
  return typeof value === 'string' ? value : undefined;
}

function parseTime(value: string | undefined): number | undefined {
  if (value === undefined || !ISO_TIME.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The name part of a document name or ARN (`arn:…:document/NAME`). */
export function documentBaseName(nameOrArn: string): string {
  const slash = nameOrArn.lastIndexOf('/');
  return nameOrArn.startsWith('arn:') && slash >= 0 ? nameOrArn.slice(slash + 1) : nameOrArn;
}

/** Classifies an invocation payload against the configuration. */
export function classifyEvent(event: unknown, config: DrainerConfig): Work {
  const envelope = asFields(event);
  if (envelope === undefined) return { kind: 'ignored', reason: 'not an EventBridge event' };
  const source = stringField(envelope, 'source');
  const detailType = stringField(envelope, 'detail-type');
  if (source === 'aws.autoscaling' && detailType === LIFECYCLE_DETAIL_TYPE)
    return classifyLifecycle(envelope, config);
  if (source === 'aws.ssm' && detailType === COMMAND_STATUS_DETAIL_TYPE)
    return classifyStatus(envelope, config);
  if (source === 'aws.ec2' && detailType === SPOT_INTERRUPTION_DETAIL_TYPE)
    return classifyNotice(envelope, 'spot-interruption');
  if (source === 'aws.ec2' && detailType === REBALANCE_DETAIL_TYPE)
    return classifyNotice(envelope, 'rebalance-recommendation');
  if (source === 'aws.events' && detailType === SCHEDULED_DETAIL_TYPE) {
    const timeMs = parseTime(stringField(envelope, 'time'));
    return timeMs === undefined
      ? { kind: 'ignored', reason: 'scheduled event without a valid time' }
      : { kind: 'tick', timeMs };
  }
  return { kind: 'ignored', reason: 'unknown source or detail-type' };
}

function classifyLifecycle(envelope: Fields, config: DrainerConfig): Work {
  const detail = asFields(envelope.detail);
  if (detail === undefined) return { kind: 'ignored', reason: 'lifecycle event without detail' };
  if (stringField(detail, 'LifecycleTransition') !== TERMINATING) {
    return { kind: 'ignored', reason: 'not a terminate transition' };
  }
  const token = stringField(detail, 'LifecycleActionToken');
  const instanceId = stringField(detail, 'EC2InstanceId');
  const groupName = stringField(detail, 'AutoScalingGroupName');
  const hookName = stringField(detail, 'LifecycleHookName');
  const eventTimeMs = parseTime(stringField(envelope, 'time'));
  if (token === undefined || !UUID.test(token))
    return { kind: 'ignored', reason: 'invalid LifecycleActionToken' };
  if (instanceId === undefined || !INSTANCE_ID.test(instanceId)) {
    return { kind: 'ignored', reason: 'invalid EC2InstanceId' };
  }
  if (groupName === undefined || !NAME.test(groupName))
    return { kind: 'ignored', reason: 'invalid group name' };
  if (hookName === undefined || !NAME.test(hookName)) return { kind: 'ignored', reason: 'invalid hook name' };
  if (eventTimeMs === undefined) return { kind: 'ignored', reason: 'lifecycle event without a valid time' };
  if (!config.groupNames.has(groupName)) return { kind: 'ignored', reason: 'group not configured' };
  if (hookName !== config.hookName) return { kind: 'ignored', reason: 'hook not configured' };
  return {
    kind: 'lifecycle',
    token,
    instanceId,
    groupName,
    hookName,
    eventTimeMs,
    origin: stringField(detail, 'Origin'),
    destination: stringField(detail, 'Destination'),
  };
}

function classifyNotice(envelope: Fields, trigger: InstanceNoticeWork['trigger']): Work {
  const detail = asFields(envelope.detail);
  if (detail === undefined) return { kind: 'ignored', reason: 'EC2 notice without detail' };
  const instanceId = stringField(detail, 'instance-id');
  if (instanceId === undefined || !INSTANCE_ID.test(instanceId))
    return { kind: 'ignored', reason: 'invalid instance-id' };
  const eventTimeMs = parseTime(stringField(envelope, 'time'));
  if (eventTimeMs === undefined) return { kind: 'ignored', reason: 'EC2 notice without a valid time' };
  const instanceAction = trigger === 'spot-interruption' ? stringField(detail, 'instance-action') : undefined;
  if (trigger === 'spot-interruption' && !INTERRUPTING_ACTIONS.has(instanceAction ?? '')) {
    return { kind: 'ignored', reason: `unknown instance-action "${String(instanceAction).slice(0, 40)}"` };
  }
  return { kind: 'instance-notice', trigger, instanceId, eventTimeMs, instanceAction };
}

function classifyStatus(envelope: Fields, config: DrainerConfig): Work {
  const detail = asFields(envelope.detail);
  if (detail === undefined) return { kind: 'ignored', reason: 'status event without detail' };
  const documentName = stringField(detail, 'document-name');
  if (
    documentName === undefined ||
    documentBaseName(documentName) !== documentBaseName(config.documentName)
  ) {
    return { kind: 'ignored', reason: 'not the fleet-drain document' };
  }
  const commandId = stringField(detail, 'command-id');
  const instanceId = stringField(detail, 'instance-id');
  const status = stringField(detail, 'status');
  if (commandId === undefined || !UUID.test(commandId))
    return { kind: 'ignored', reason: 'invalid command-id' };
  if (instanceId === undefined || !INSTANCE_ID.test(instanceId)) {
    return { kind: 'ignored', reason: 'invalid instance-id' };
  }
  if (!isTerminalStatus(status)) return { kind: 'ignored', reason: 'status is not terminal' };
  return {
    kind: 'command-status',
    commandId,
    instanceId,
    status: status as string,
    requestedMs: parseTime(stringField(detail, 'requested-date-time')),
  };
}
