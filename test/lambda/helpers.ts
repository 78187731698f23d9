// Shared test scaffolding: documented event shapes, the default configuration, mocked SDK clients
// (aws-sdk-client-mock at the client boundary), a recording log and metrics, a fake clock and instant sleeps.

import {
  AutoScalingClient,
  AutoScalingServiceException,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeWarmPoolCommand,
  type Instance,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  CancelCommandCommand,
  type Command,
  type CommandInvocation,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  InvalidFilterKey,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import type { Log, LogKeys, MetricName, MetricsPort } from '../../lambda/aws/ports';
import {
  ENV_ADOPTION_DELAY_SECONDS,
  ENV_DOCUMENT_NAME,
  ENV_GROUP_NAMES,
  ENV_HEARTBEAT_TIMEOUT_SECONDS,
  ENV_HOOK_NAME,
  ENV_MAX_DRAIN_SECONDS,
} from '../../lambda/config';
import { createHandler } from '../../lambda/create-handler';
import { isTerminalStatus } from '../../lambda/decide/command-status';
import { heartbeatSlotMs } from '../../lambda/decide/heartbeat-schedule';
import { STATUS_FILTER_VALUES } from '../../twin/commands';

export const DOCUMENT = 'FleetDrain-Doc';
export const GROUP = 'my-asg';
export const HOOK = 'my-hook';
export const TOKEN = '87654321-4321-4321-4321-210987654321';
export const INSTANCE = 'i-1234567890abcdef0';
export const COMMAND_ID = 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b';
/** Event time of the sample lifecycle event. */
export const EVENT_TIME = '2026-11-22T10:00:00Z';
export const EVENT_MS = Date.parse(EVENT_TIME);
export const MAX_DRAIN_SECONDS = 1800;
export const H_SECONDS = 600;
/** Heartbeat slot of the test configuration (60 s ticks): (H − P − margin) / 2 = 210 s. */
export const SLOT_MS = heartbeatSlotMs(60_000, H_SECONDS * 1000);
/** The first whole-minute tick of the second slot of a drain whose action started at EVENT_MS: its first heartbeat. */
export const FIRST_DUE_TICK_MS = EVENT_MS + Math.ceil(SLOT_MS / 60_000) * 60_000;

export const ENV: Record<string, string> = {
  [ENV_DOCUMENT_NAME]: DOCUMENT,
  [ENV_GROUP_NAMES]: `${GROUP},other-asg`,
  [ENV_HOOK_NAME]: HOOK,
  [ENV_MAX_DRAIN_SECONDS]: String(MAX_DRAIN_SECONDS),
  [ENV_HEARTBEAT_TIMEOUT_SECONDS]: String(H_SECONDS),
  [ENV_ADOPTION_DELAY_SECONDS]: '30',
};

/** The documented `EC2 Instance-terminate Lifecycle Action` event (AWS-NOTES.md). */
export function lifecycleEvent(
  detail: Record<string, unknown> = {},
  time = EVENT_TIME,
): Record<string, unknown> {
  return {
    version: '0',
    id: '12345678-1234-1234-1234-123456789012',
    'detail-type': 'EC2 Instance-terminate Lifecycle Action',
    source: 'aws.autoscaling',
    account: '123456789012',
    time,
    region: 'us-west-2',
    resources: [
      `arn:aws:autoscaling:us-west-2:123456789012:autoScalingGroup:x:autoScalingGroupName/${GROUP}`,
    ],
    detail: {
      LifecycleActionToken: TOKEN,
      AutoScalingGroupName: GROUP,
      LifecycleHookName: HOOK,
      EC2InstanceId: INSTANCE,
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      NotificationMetadata: 'optional',
      Origin: 'AutoScalingGroup',
      Destination: 'EC2',
      ...detail,
    },
  };
}

/** The documented `EC2 Command Invocation Status-change Notification` event. */
export function statusEvent(detail: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0',
    id: 'a1b2c3d4-0000-0000-0000-000000000000',
    'detail-type': 'EC2 Command Invocation Status-change Notification',
    source: 'aws.ssm',
    account: '123456789012',
    time: '2026-11-22T10:05:00Z',
    region: 'us-west-2',
    resources: [`arn:aws:ec2:us-west-2:123456789012:instance/${INSTANCE}`],
    detail: {
      'command-id': COMMAND_ID,
      'document-name': DOCUMENT,
      'instance-id': INSTANCE,
      'requested-date-time': '2026-11-22T10:00:01.049Z',
      status: 'Success',
      ...detail,
    },
  };
}

/** An EventBridge scheduled event. */
export function tickEvent(time: string): Record<string, unknown> {
  return {
    version: '0',
    id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time,
    region: 'us-west-2',
    resources: ['arn:aws:events:us-west-2:123456789012:rule/fleet-drainer-reconcile'],
    detail: {},
  };
}

/** The parameters SendCommand gets for the sample event. */
export function drainParameters(overrides: Record<string, string> = {}): Record<string, string[]> {
  const values: Record<string, string> = {
    drainId: TOKEN,
    deadline: new Date(EVENT_MS + MAX_DRAIN_SECONDS * 1000).toISOString().replace('.000Z', 'Z'),
    instanceId: INSTANCE,
    autoScalingGroupName: GROUP,
    lifecycleHookName: HOOK,
    action: 'drain',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, [value]]));
}

/** A command as ListCommands returns it. */
export function listedCommand(
  overrides: Partial<Command> & { params?: Record<string, string> } = {},
): Command {
  const { params, ...rest } = overrides;
  return {
    CommandId: COMMAND_ID,
    DocumentName: DOCUMENT,
    Parameters: drainParameters(params),
    InstanceIds: [params?.instanceId ?? INSTANCE],
    RequestedDateTime: new Date(EVENT_MS + 1000),
    Status: 'InProgress',
    ...rest,
  };
}

/** A report line as the agent prints it. */
export function reportJson(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    version: 1,
    id: TOKEN,
    outcome: 'drained',
    exitCode: 0,
    startedAt: '2026-11-22T10:00:02.000Z',
    finishedAt: '2026-11-22T10:03:02.000Z',
    durationMs: 180_000,
    joined: false,
    prepare: [],
    targets: [{ name: 'workers', kind: 'process', outcome: 'drained', processes: [] }],
    finally: [],
    ...overrides,
  });
}

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  keys: LogKeys | undefined;
}

/** A Log that records. */
export function recordingLog(): Log & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (message: string, keys?: LogKeys): void => {
      entries.push({ level, message, keys });
    };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface MetricEntry {
  name: MetricName;
  value: number;
  outcome: string | undefined;
  trigger?: string | undefined;
}

/** A MetricsPort that records. */
export function recordingMetrics(): MetricsPort & {
  entries: MetricEntry[];
  total(name: MetricName, outcome?: string): number;
} {
  const entries: MetricEntry[] = [];
  return {
    entries,
    count: (name, value = 1, outcome, trigger) => {
      entries.push({ name, value, outcome, trigger });
    },
    milliseconds: (name, value, outcome) => {
      entries.push({ name, value, outcome });
    },
    flush: () => {},
    total: (name, outcome) =>
      entries
        .filter((entry) => entry.name === name && (outcome === undefined || entry.outcome === outcome))
        .reduce((sum, entry) => sum + entry.value, 0),
  };
}

/** Mocks for the three clients, reset, with benign defaults (instance in Terminating:Wait, no commands). */
export function mockAws() {
  const autoScaling = mockClient(AutoScalingClient);
  const ssm = mockClient(SSMClient);
  const events = mockClient(EventBridgeClient);
  autoScaling.on(CompleteLifecycleActionCommand).resolves({});
  autoScaling.on(RecordLifecycleActionHeartbeatCommand).resolves({});
  // The sample instance waits in Terminating:Wait; answered only when it is asked about.
  autoScaling.on(DescribeAutoScalingInstancesCommand).callsFake(async (input) => ({
    AutoScalingInstances: (input.InstanceIds ?? [])
      .filter((id: string) => id === INSTANCE)
      .map(() => ({
        InstanceId: INSTANCE,
        AutoScalingGroupName: GROUP,
        LifecycleState: 'Terminating:Wait',
        AvailabilityZone: 'us-west-2a',
        HealthStatus: 'Healthy',
        ProtectedFromScaleIn: false,
      })),
  }));
  autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
  autoScaling.on(DescribeWarmPoolCommand).resolves({ Instances: [] });
  // Every agent asked about is online: answered from the ids in the filter, not canned.
  ssm.on(DescribeInstanceInformationCommand).callsFake(async (input) => ({
    InstanceInformationList: (
      input.Filters?.find((filter: { Key?: string }) => filter.Key === 'InstanceIds')?.Values ?? []
    ).map((id: string) => ({ InstanceId: id, PingStatus: 'Online', LastPingDateTime: new Date() })),
  }));
  ssm.on(ListCommandsCommand).resolves({ Commands: [] });
  const mocks = { autoScaling, ssm, events };
  serveInvocations(mocks, []);
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
  ssm.on(CancelCommandCommand).resolves({});
  ssm.on(GetCommandInvocationCommand).resolves({
    CommandId: COMMAND_ID,
    InstanceId: INSTANCE,
    Status: 'Success',
    StatusDetails: 'Success',
    ResponseCode: 0,
    StandardOutputContent: `${reportJson()}\n`,
    StandardErrorContent: '',
  });
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  return mocks;
}

export type AwsMocks = ReturnType<typeof mockAws>;

/**
 * Serves `commands` from ListCommands as SSM would: answering the CommandId, InstanceId and the DocumentName,
 * InvokedAfter and ExecutionStage filters of each call (not one canned list for every question), 50 to a page.
 */
export function serveCommands(mocks: AwsMocks, commands: Command[] | (() => Command[])): void {
  mocks.ssm.on(ListCommandsCommand).callsFake(async (input) => {
    const filters = (input.Filters ?? []) as { key: string; value: string }[];
    const document = filters.find((filter) => filter.key === 'DocumentName')?.value;
    const after = filters.find((filter) => filter.key === 'InvokedAfter')?.value;
    const stage = filters.find((filter) => filter.key === 'ExecutionStage')?.value;
    const matching = (typeof commands === 'function' ? commands() : commands).filter(
      (command) =>
        (input.CommandId === undefined || command.CommandId === input.CommandId) &&
        (input.InstanceId === undefined ||
          (command.InstanceIds ?? []).includes(input.InstanceId) ||
          command.Parameters?.instanceId?.[0] === input.InstanceId) &&
        (document === undefined || command.DocumentName === document) &&
        (after === undefined || (command.RequestedDateTime?.getTime() ?? 0) >= Date.parse(after)) &&
        (stage === undefined || (stage === 'Complete') === isTerminalStatus(command.Status)),
    );
    const start = Number(input.NextToken ?? 0);
    return {
      Commands: matching.slice(start, start + 50),
      NextToken: start + 50 < matching.length ? String(start + 50) : undefined,
    };
  });
}

/** The Status values ListCommandInvocations filters by (API_CommandFilter.html); ListCommands has its own. */
const INVOCATION_STATUS_FILTERS = STATUS_FILTER_VALUES.ListCommandInvocations;

/**
 * Serves `invocations` from ListCommandInvocations as SSM would: answering the CommandId, InstanceId and the
 * DocumentName, Status, InvokedAfter and InvokedBefore filters of each call, 50 to a page; ExecutionStage (a ListCommands filter only) or a
 * status this operation does not filter by is refused with InvalidFilterKey.
 */
export function serveInvocations(
  mocks: Pick<AwsMocks, 'ssm'>,
  invocations: CommandInvocation[] | (() => CommandInvocation[]),
): void {
  mocks.ssm.on(ListCommandInvocationsCommand).callsFake(async (input) => {
    const filters = (input.Filters ?? []) as { key: string; value: string }[];
    const refused = filters.find(
      ({ key, value }) =>
        !['DocumentName', 'Status', 'InvokedAfter', 'InvokedBefore'].includes(key) ||
        (key === 'Status' && !INVOCATION_STATUS_FILTERS.includes(value)),
    );
    if (refused !== undefined) {
      throw new InvalidFilterKey({
        $metadata: { httpStatusCode: 400 },
        message: "The specified key isn't valid.",
      });
    }
    const document = filters.find((filter) => filter.key === 'DocumentName')?.value;
    const statuses = filters.filter((filter) => filter.key === 'Status').map((filter) => filter.value);
    const after = filters.find((filter) => filter.key === 'InvokedAfter')?.value;
    const before = filters.find((filter) => filter.key === 'InvokedBefore')?.value;
    const requested = (invocation: CommandInvocation) => invocation.RequestedDateTime?.getTime() ?? 0;
    const matching = (typeof invocations === 'function' ? invocations() : invocations).filter(
      (invocation) =>
        (input.CommandId === undefined || invocation.CommandId === input.CommandId) &&
        (input.InstanceId === undefined || invocation.InstanceId === input.InstanceId) &&
        (document === undefined || invocation.DocumentName === document) &&
        statuses.every((status) => invocation.Status === status) &&
        (after === undefined || requested(invocation) >= Date.parse(after)) &&
        (before === undefined || requested(invocation) <= Date.parse(before)),
    );
    const start = Number(input.NextToken ?? 0);
    return {
      CommandInvocations: matching.slice(start, start + 50),
      NextToken: start + 50 < matching.length ? String(start + 50) : undefined,
    };
  });
}

/** Total number of calls received by all three mocked clients. */
export function awsCallCount(mocks: AwsMocks): number {
  return mocks.autoScaling.calls().length + mocks.ssm.calls().length + mocks.events.calls().length;
}

/** A fake clock that advances when the code sleeps. */
export function fakeClock(startMs: number) {
  const clock = {
    nowMs: startMs,
    sleeps: [] as number[],
    now: () => clock.nowMs,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.nowMs += ms;
    },
  };
  return clock;
}

/** A handler on a clock that is an object's `nowMs` (the FleetModel's): sleeping advances it. */
export function handlerOnClock(clock: { nowMs: number }) {
  return createHandler({
    env: ENV,
    autoScaling: new AutoScalingClient({ region: 'us-west-2' }),
    ssm: new SSMClient({ region: 'us-west-2' }),
    events: new EventBridgeClient({ region: 'us-west-2' }),
    sqs: new SQSClient({ region: 'us-west-2' }),
    log: recordingLog(),
    metrics: recordingMetrics(),
    now: () => clock.nowMs,
    sleep: async (ms) => {
      clock.nowMs += ms;
    },
  });
}

/** A handler over real (mocked) SDK clients, a recording log and metrics, and a fake clock. */
export function makeHandler(options: { env?: Record<string, string | undefined>; nowMs?: number } = {}) {
  const log = recordingLog();
  const metrics = recordingMetrics();
  const clock = fakeClock(options.nowMs ?? EVENT_MS + 2000);
  const handler = createHandler({
    env: options.env ?? ENV,
    autoScaling: new AutoScalingClient({ region: 'us-west-2' }),
    ssm: new SSMClient({ region: 'us-west-2' }),
    events: new EventBridgeClient({ region: 'us-west-2' }),
    sqs: new SQSClient({ region: 'us-west-2' }),
    log,
    metrics,
    now: clock.now,
    sleep: clock.sleep,
  });
  return { handler, log, metrics, clock };
}

/** The parsed Detail of every PutEvents entry sent, with its DetailType. */
export function sentEvents(mocks: AwsMocks): { detailType: string; detail: Record<string, unknown> }[] {
  return mocks.events.commandCalls(PutEventsCommand).flatMap((call) =>
    (call.args[0].input.Entries ?? []).map((entry) => ({
      detailType: entry.DetailType ?? '',
      detail: JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>,
    })),
  );
}

/** A group as DescribeAutoScalingGroups returns it, its instances the sample one in Terminating:Wait unless given. */
export function groupWith(instances: Partial<Instance>[], name = GROUP) {
  return {
    AutoScalingGroupName: name,
    MinSize: 0,
    MaxSize: 10,
    DesiredCapacity: 1,
    DefaultCooldown: 300,
    AvailabilityZones: ['us-west-2a'],
    HealthCheckType: 'EC2',
    CreatedTime: new Date(0),
    Instances: instances.map((instance) => ({
      InstanceId: INSTANCE,
      LifecycleState: 'Terminating:Wait',
      AvailabilityZone: 'us-west-2a',
      HealthStatus: 'Healthy',
      ProtectedFromScaleIn: false,
      ...instance,
    })) as Instance[],
  };
}

/** Auto Scaling's "No active Lifecycle Action" for an action addressed by instance id. */
export const noActiveByInstance = (
  message = `No active Lifecycle Action found with instance ID ${INSTANCE}`,
) =>
  new AutoScalingServiceException({
    name: 'ValidationError',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message,
  });

/** The sample instance, alone in its group in `lifecycleState`, with these commands in SSM's history. */
export function serveWaitingInstance(
  aws: AwsMocks,
  commands: ReturnType<typeof listedCommand>[],
  lifecycleState = 'Terminating:Wait',
): void {
  serveCommands(aws, commands);
  aws.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      { AutoScalingGroupName: GROUP, Instances: [{ InstanceId: INSTANCE, LifecycleState: lifecycleState }] },
    ] as never,
  });
}

/** A handler on a clock at `ms` that has run the tick scheduled at `ms`. */
export async function tickHandlerAt(ms: number) {
  const context = makeHandler({ nowMs: ms });
  const result = await context.handler(tickEvent(new Date(ms).toISOString()));
  return { ...context, result };
}
