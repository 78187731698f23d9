// A small in-memory model of Auto Scaling lifecycle actions and SSM Run Command, served through the mocked
// SDK clients, for the interleaving property test. Strongly consistent (the worst case for duplicates is
// covered by the agent joining a drain id, not here).

import { randomUUID } from 'node:crypto';
import {
  AutoScalingClient,
  AutoScalingServiceException,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeWarmPoolCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  InvalidInstanceId,
  InvocationDoesNotExist,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
  SSMServiceException,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { DOCUMENT, H_SECONDS, HOOK } from './helpers';

/** A warm pool's state: what its instances are while they wait there. */
export type PoolState = 'Stopped' | 'Running' | 'Hibernated';

/**
 * Where an instance is, as AWS names it (warm-pool-instance-lifecycle.html): in service; held by the
 * terminate hook on scale-in (`Terminating:Wait`), on its way back to the warm pool (`Warmed:Pending:Wait`,
 * instance reuse) or leaving the pool to be terminated (`Warmed:Terminating:Wait`); waiting in the pool in its
 * state (`Warmed:Stopped` …); gone.
 */
export type ModelState =
  | 'InService'
  | 'Terminating:Wait'
  | 'Warmed:Pending:Wait'
  | 'Warmed:Terminating:Wait'
  | `Warmed:${PoolState}`
  | 'gone';

export interface ModelInstance {
  id: string;
  group: string;
  state: ModelState;
  /** Its SSM Agent works while the instance runs (false: offline even then). */
  reachable: boolean;
  /** Scale-in returns it to the warm pool (ReuseOnScaleIn): once its action is over it waits there. */
  reuse?: boolean;
  /** Its pool's state, from when it went there (or was launched there). */
  poolState?: PoolState;
}

export interface ModelAction {
  token: string;
  instanceId: string;
  group: string;
  eventTimeMs: number;
  origin: 'AutoScalingGroup' | 'WarmPool';
  /** Whether SSM could reach the instance when the action started (running, its agent online). */
  reachable: boolean;
  active: boolean;
  completions: number;
  /** Whether a drain command of this action had finished when it was completed. */
  commandTerminalAtCompletion: boolean | undefined;
  heartbeats: number;
  /** The Fleet Drain Finished events that reported its completion. */
  finished: Record<string, unknown>[];
  /** When the action's heartbeat timeout last restarted (event, heartbeats). */
  lastBeatMs: number;
  /** It timed out after H without a heartbeat, and the hook's default result applied. */
  timedOut: boolean;
}

export interface ModelCommand {
  id: string;
  params: Record<string, string>;
  requestedMs: number;
  status: 'InProgress' | 'Success' | 'Cancelled';
  stdout: string;
  responseCode: number;
  endedMs?: number;
  /** The token of the instance's lifecycle action that was active when the command was sent. */
  sentDuring?: string;
}

export interface PendingEvent {
  event: Record<string, unknown>;
  /** For reading the model in assertions. */
  label: string;
}

const PAGE_SIZE = 2;

function validationError(message: string): AutoScalingServiceException {
  return new AutoScalingServiceException({
    name: 'ValidationError',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message,
  });
}

export class FleetModel {
  nowMs: number;
  readonly instances = new Map<string, ModelInstance>();
  readonly actions: ModelAction[] = [];
  readonly commands: ModelCommand[] = [];
  readonly pending: PendingEvent[] = [];
  readonly finishedEvents: Record<string, unknown>[] = [];
  /** ListCommands does not show commands younger than this (eventual consistency); 0: strongly consistent. */
  listLagMs = 0;
  /** Scripted throttling: each AWS call takes the next entry (cycled); `true` rejects the call unprocessed. */
  failures: boolean[] = [];
  private callIndex = 0;
  readonly startedEvents: Record<string, unknown>[] = [];
  /** The warm pools' state (one for both groups). */
  poolState: PoolState = 'Stopped';
  /** Commands cancelled while the lifecycle action they drain was still active: drains cut short. */
  readonly cancelledWhileActive: ModelCommand[] = [];

  constructor(startMs: number) {
    this.nowMs = startMs;
  }

  /** Whether SSM can reach an instance now: its agent works and the instance runs. */
  isReachable(instance: ModelInstance | undefined): boolean {
    if (instance === undefined || instance.state === 'gone' || !instance.reachable) return false;
    if (instance.state === 'Warmed:Stopped' || instance.state === 'Warmed:Hibernated') return false;
    // Leaving the pool, it is what the pool kept it as.
    if (instance.state === 'Warmed:Terminating:Wait') return instance.poolState === 'Running';
    return true;
  }

  /** The instance's active lifecycle action, if any. */
  activeActionOf(instanceId: string): ModelAction | undefined {
    return this.actions.find((action) => action.active && action.instanceId === instanceId);
  }

  /** Rejects the call, before any effect, when the failure script says so (throttling that outlasted retries). */
  private maybeFail(service: 'autoscaling' | 'ssm'): void {
    this.expireActions();
    if (this.failures.length === 0) return;
    const fail = this.failures[this.callIndex % this.failures.length];
    this.callIndex += 1;
    if (!fail) return;
    if (service === 'autoscaling') {
      throw new AutoScalingServiceException({
        name: 'Throttling',
        $fault: 'client',
        $metadata: {},
        message: 'Rate exceeded',
      });
    }
    throw new SSMServiceException({
      name: 'ThrottlingException',
      $fault: 'client',
      $metadata: {},
      message: 'Rate exceeded',
    });
  }

  /** The action an adopted or token-addressed call refers to. */
  private findAction(input: {
    LifecycleActionToken?: string;
    InstanceId?: string;
    LifecycleHookName?: string;
    AutoScalingGroupName?: string;
  }) {
    if (input.LifecycleHookName !== HOOK)
      throw validationError(`No lifecycle hook found with name ${input.LifecycleHookName}`);
    const action = this.actions.find(
      (candidate) =>
        candidate.active &&
        candidate.group === input.AutoScalingGroupName &&
        (input.LifecycleActionToken !== undefined
          ? candidate.token === input.LifecycleActionToken
          : candidate.instanceId === input.InstanceId),
    );
    if (action === undefined) {
      throw validationError(
        input.LifecycleActionToken !== undefined
          ? `No active Lifecycle Action found with token ${input.LifecycleActionToken}`
          : `No active Lifecycle Action found with instance ID ${input.InstanceId}`,
      );
    }
    return action;
  }

  /**
   * The commands sent for this action: its token, or an adoption sent while it was active. Two lives of an
   * instance can start at one timestamp (warm-pool reuse), so an adoption belongs to the action that was
   * active when it was sent, not to a time window.
   */
  commandsOf(action: ModelAction): ModelCommand[] {
    return this.commands.filter(
      (command) =>
        command.params.instanceId === action.instanceId &&
        (command.params.drainId === action.token ||
          ((command.params.drainId ?? '').startsWith(`adopted-${action.instanceId}-`) &&
            command.sentDuring === action.token)),
    );
  }

  /** The action a command drains (see commandsOf). */
  private actionOfCommand(command: ModelCommand): ModelAction | undefined {
    return this.actions.find((action) => this.commandsOf(action).includes(command));
  }

  /**
   * Ends an action: the instance terminates, or (from Warmed:Pending:Wait) goes into the warm pool in the
   * pool's state (Warmed:Pending:Proceed is not kept apart here).
   */
  private endAction(action: ModelAction): void {
    action.active = false;
    const instance = this.instances.get(action.instanceId);
    if (instance === undefined) return;
    if (instance.state !== 'Warmed:Pending:Wait') {
      instance.state = 'gone';
      return;
    }
    instance.poolState = this.poolState;
    instance.state = `Warmed:${this.poolState}`;
    // A stopped or hibernated instance's drain command dies with it (SSM reports it later; here at once).
    if (!this.isReachable(instance)) {
      for (const command of this.commands) {
        if (command.params.instanceId === instance.id && command.status === 'InProgress') {
          command.status = 'Cancelled';
          command.endedMs = this.nowMs;
        }
      }
    }
  }

  /** Puts an instance into the warm pool, as if it had been launched there. */
  placeInPool(instanceId: string): void {
    const instance = this.instances.get(instanceId);
    if (instance === undefined) return;
    instance.poolState = this.poolState;
    instance.state = `Warmed:${this.poolState}`;
  }

  /** Scale-out takes an instance from the warm pool into service. */
  scaleOut(instanceId: string): void {
    const instance = this.instances.get(instanceId);
    if (instance?.state.startsWith('Warmed:') && !instance.state.includes(':Wait'))
      instance.state = 'InService';
  }

  /** Actions whose heartbeat timeout ran out time out with the default result (CONTINUE). */
  expireActions(): void {
    for (const action of this.actions) {
      if (action.active && this.nowMs - action.lastBeatMs > H_SECONDS * 1000) {
        action.timedOut = true;
        this.endAction(action);
      }
    }
  }

  /**
   * The Auto Scaling group starts terminating an instance: lifecycle action + its event. An instance in
   * service is scaled in (back to the warm pool when it is reused); one waiting in the warm pool is
   * terminated from there (Origin: WarmPool). Anything else is not terminated.
   */
  scaleIn(instanceId: string): PendingEvent | undefined {
    const instance = this.instances.get(instanceId);
    if (instance === undefined) return undefined;
    let origin: ModelAction['origin'];
    let destination: 'EC2' | 'WarmPool' = 'EC2';
    if (instance.state === 'InService') {
      origin = 'AutoScalingGroup';
      if (instance.reuse) destination = 'WarmPool';
      instance.state = instance.reuse ? 'Warmed:Pending:Wait' : 'Terminating:Wait';
    } else if (/^Warmed:(Stopped|Running|Hibernated)$/.test(instance.state)) {
      origin = 'WarmPool';
      instance.state = 'Warmed:Terminating:Wait';
    } else return undefined;
    const action: ModelAction = {
      token: randomUUID(),
      instanceId,
      group: instance.group,
      eventTimeMs: this.nowMs,
      origin,
      reachable: this.isReachable(instance),
      active: true,
      completions: 0,
      commandTerminalAtCompletion: undefined,
      heartbeats: 0,
      lastBeatMs: this.nowMs,
      timedOut: false,
      finished: [],
    };
    this.actions.push(action);
    const pending: PendingEvent = {
      label: `lifecycle ${instanceId}`,
      event: {
        version: '0',
        id: randomUUID(),
        'detail-type': 'EC2 Instance-terminate Lifecycle Action',
        source: 'aws.autoscaling',
        account: '123456789012',
        time: new Date(this.nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: 'us-west-2',
        resources: [],
        detail: {
          LifecycleActionToken: action.token,
          AutoScalingGroupName: instance.group,
          LifecycleHookName: HOOK,
          EC2InstanceId: instanceId,
          LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
          Origin: origin,
          Destination: destination,
        },
      },
    };
    this.pending.push(pending);
    return pending;
  }

  /**
   * The agent on the host finishes a running drain. The agent is exclusive per host: every other drain
   * command running there (a duplicate, a second id) has joined it and ends with it.
   */
  agentFinishes(command: ModelCommand): void {
    if (command.status !== 'InProgress') return;
    for (const joined of this.commands) {
      if (joined.params.instanceId === command.params.instanceId) this.finishOne(joined);
    }
  }

  /** SSM reports one command of a joined drain as finished before the others (their statuses arrive apart). */
  finishOne(command: ModelCommand): void {
    if (command.status !== 'InProgress') return;
    command.status = 'Success';
    command.responseCode = 0;
    command.endedMs = this.nowMs;
    command.stdout = `${JSON.stringify({
      version: 1,
      id: command.params.drainId,
      outcome: 'drained',
      exitCode: 0,
      startedAt: new Date(command.requestedMs).toISOString(),
      finishedAt: new Date(this.nowMs).toISOString(),
      durationMs: this.nowMs - command.requestedMs,
      joined: false,
      prepare: [],
      targets: [],
      finally: [],
    })}\n`;
    this.pushStatusEvent(command);
  }

  private pushStatusEvent(command: ModelCommand): void {
    this.pending.push({
      label: `status ${command.params.instanceId} ${command.status}`,
      event: {
        version: '0',
        id: randomUUID(),
        'detail-type': 'EC2 Command Invocation Status-change Notification',
        source: 'aws.ssm',
        time: new Date(this.nowMs).toISOString(),
        detail: {
          'command-id': command.id,
          'document-name': DOCUMENT,
          'instance-id': command.params.instanceId,
          'requested-date-time': new Date(command.requestedMs).toISOString(),
          status: command.status,
        },
      },
    });
  }

  /** Serves the mocked clients from this model. Returns the mocks (to restore). */
  serve() {
    const autoScaling = mockClient(AutoScalingClient);
    const ssm = mockClient(SSMClient);
    const events = mockClient(EventBridgeClient);

    autoScaling.on(CompleteLifecycleActionCommand).callsFake(async (input) => {
      this.maybeFail('autoscaling');
      const action = this.findAction(input);
      action.completions += 1;
      // Every command of the drain must be over (a sibling still running means the drain is not).
      const commands = this.commandsOf(action);
      action.commandTerminalAtCompletion =
        commands.length > 0 && commands.every((command) => command.status !== 'InProgress');
      this.endAction(action);
      return {};
    });
    autoScaling.on(RecordLifecycleActionHeartbeatCommand).callsFake(async (input) => {
      this.maybeFail('autoscaling');
      const action = this.findAction(input);
      action.heartbeats += 1;
      action.lastBeatMs = this.nowMs;
      return {};
    });
    autoScaling.on(DescribeAutoScalingInstancesCommand).callsFake(async (input) => {
      this.maybeFail('autoscaling');
      return {
        AutoScalingInstances: (input.InstanceIds ?? [])
          .map((id: string) => this.instances.get(id))
          .filter(
            (instance: ModelInstance | undefined) => instance !== undefined && instance.state !== 'gone',
          )
          // Warm-pool instances too, in their Warmed:* state (API_AutoScalingInstanceDetails.html).
          .map((instance: ModelInstance) => ({
            InstanceId: instance.id,
            AutoScalingGroupName: instance.group,
            LifecycleState: instance.state,
          })),
      };
    });
    autoScaling.on(DescribeAutoScalingGroupsCommand).callsFake(async (input) => {
      this.maybeFail('autoscaling');
      return {
        AutoScalingGroups: (input.AutoScalingGroupNames ?? []).map((name: string) => ({
          AutoScalingGroupName: name,
          // The group's Instances never list warm-pool instances (DescribeWarmPool does).
          Instances: [...this.instances.values()]
            .filter(
              (instance) =>
                instance.group === name && instance.state !== 'gone' && !instance.state.startsWith('Warmed:'),
            )
            .map((instance) => ({ InstanceId: instance.id, LifecycleState: instance.state })),
        })),
      };
    });

    autoScaling.on(DescribeWarmPoolCommand).callsFake(async (input) => {
      this.maybeFail('autoscaling');
      return {
        WarmPoolConfiguration: { PoolState: this.poolState },
        Instances: [...this.instances.values()]
          .filter(
            (instance) =>
              instance.group === input.AutoScalingGroupName && instance.state.startsWith('Warmed:'),
          )
          .map((instance) => ({ InstanceId: instance.id, LifecycleState: instance.state })),
      };
    });
    ssm.on(DescribeInstanceInformationCommand).callsFake(async (input) => {
      this.maybeFail('ssm');
      const ids =
        input.Filters?.find((filter: { Key?: string }) => filter.Key === 'InstanceIds')?.Values ?? [];
      return {
        InstanceInformationList: ids
          .map((id: string) => this.instances.get(id))
          .filter(
            (instance: ModelInstance | undefined) => instance !== undefined && instance.state !== 'gone',
          )
          .map((instance: ModelInstance) => ({
            InstanceId: instance.id,
            PingStatus: this.isReachable(instance) ? 'Online' : 'ConnectionLost',
            LastPingDateTime: new Date(this.isReachable(instance) ? this.nowMs : 0),
          })),
      };
    });
    ssm.on(SendCommandCommand).callsFake(async (input) => {
      this.maybeFail('ssm');
      const instanceId = input.InstanceIds?.[0] ?? '';
      const instance = this.instances.get(instanceId);
      if (!this.isReachable(instance)) {
        throw new InvalidInstanceId({ $metadata: {}, message: 'Instances not in a valid state' });
      }
      const params = Object.fromEntries(
        Object.entries(input.Parameters ?? {}).map(([key, value]) => [key, (value as string[])[0] ?? '']),
      );
      const command: ModelCommand = {
        id: randomUUID(),
        params,
        requestedMs: this.nowMs,
        status: 'InProgress',
        stdout: '',
        responseCode: -1,
      };
      const during = this.activeActionOf(instanceId)?.token;
      if (during !== undefined) command.sentDuring = during;
      this.commands.push(command);
      return { Command: { CommandId: command.id } };
    });
    ssm.on(ListCommandsCommand).callsFake(async (input) => {
      this.maybeFail('ssm');
      const after = input.Filters?.find((filter: { key: string }) => filter.key === 'InvokedAfter')?.value;
      const matching = this.commands.filter(
        (command) =>
          (input.CommandId === undefined || command.id === input.CommandId) &&
          (input.InstanceId === undefined || command.params.instanceId === input.InstanceId) &&
          (after === undefined || command.requestedMs >= Date.parse(after)) &&
          command.requestedMs <= this.nowMs - this.listLagMs,
      );
      const start = Number(input.NextToken ?? 0);
      const page = matching.slice(start, start + PAGE_SIZE);
      return {
        Commands: page.map((command) => ({
          CommandId: command.id,
          DocumentName: DOCUMENT,
          Parameters: Object.fromEntries(
            Object.entries(command.params).map(([key, value]) => [key, [value]]),
          ),
          RequestedDateTime: new Date(command.requestedMs),
          Status: command.status,
        })),
        NextToken: start + PAGE_SIZE < matching.length ? String(start + PAGE_SIZE) : undefined,
      };
    });
    ssm.on(GetCommandInvocationCommand).callsFake(async (input) => {
      this.maybeFail('ssm');
      const command = this.commands.find((candidate) => candidate.id === input.CommandId);
      if (command === undefined)
        throw new InvocationDoesNotExist({ $metadata: {}, message: 'InvocationDoesNotExist' });
      return {
        Status: command.status,
        StatusDetails: command.status,
        ResponseCode: command.responseCode,
        StandardOutputContent: command.stdout,
        StandardErrorContent: '',
        ExecutionEndDateTime:
          command.endedMs !== undefined ? new Date(command.endedMs).toISOString() : undefined,
      };
    });
    ssm.on(CancelCommandCommand).callsFake(async (input) => {
      this.maybeFail('ssm');
      const command = this.commands.find((candidate) => candidate.id === input.CommandId);
      if (command?.status === 'InProgress') {
        if (this.actionOfCommand(command)?.active) this.cancelledWhileActive.push(command);
        command.status = 'Cancelled';
        command.endedMs = this.nowMs;
        this.pushStatusEvent(command);
      }
      return {};
    });
    // PutEvents is never failed here: a lost event is accepted by design (logged, the completion stands),
    // and the property counts Fleet Drain Finished events. Its failures are unit-tested.
    events.on(PutEventsCommand).callsFake(async (input) => {
      for (const entry of input.Entries ?? []) {
        const detail = JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>;
        if (entry.DetailType === 'Fleet Drain Finished') {
          this.finishedEvents.push(detail);
          // Whose completion it reports: the instance's latest completed action.
          const owner = this.actions
            .filter((action) => action.instanceId === detail.instanceId && action.completions > 0)
            .at(-1);
          if (owner !== undefined) owner.finished.push(detail);
        } else this.startedEvents.push(detail);
      }
      return { FailedEntryCount: 0, Entries: [{ EventId: randomUUID() }] };
    });
    return { autoScaling, ssm, events };
  }
}
