// The Auto Scaling control plane the drainer depends on, as a pure model over an injected clock: groups,
// instances moving InService → Terminating:Wait → Terminating:Proceed → Terminated, and terminate lifecycle
// actions with their heartbeat timeout, global timeout and default result. Time passes only through
// `advance()`, which the twin calls on a short period (and tests call after moving a manual clock).
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html

import { randomUUID } from 'node:crypto';
import { constraintMessage, validationError } from './aws-error';
import type { Clock } from './clock';

export type LifecycleResult = 'CONTINUE' | 'ABANDON';

export interface HookSpec {
  name: string;
  heartbeatTimeoutMs: number;
  /** What happens when the action times out. The service default is ABANDON. */
  defaultResult: LifecycleResult;
  notificationMetadata?: string;
}

export interface InstanceRecord {
  instanceId: string;
  groupName: string;
  availabilityZone: string;
  lifecycleState: string;
  launchedMs: number;
}

export interface LifecycleAction {
  token: string;
  instanceId: string;
  groupName: string;
  hookName: string;
  startedMs: number;
  /** Restarted by every heartbeat: now + H. */
  heartbeatDeadlineMs: number;
  /** Fixed: start + min(48 h, 100 × H). */
  globalDeadlineMs: number;
  defaultResult: LifecycleResult;
  /** Where the instance comes from and goes to (the event's `Origin` / `Destination`); default a plain scale-in. */
  route?: LifecycleRoute;
}

/** `Origin` and `Destination` of a terminate lifecycle event: `WarmPool` for warm-pool moves. */
export interface LifecycleRoute {
  origin: 'AutoScalingGroup' | 'WarmPool';
  destination: 'EC2' | 'WarmPool';
}

/** How an action ended (`AutoScalingModel.ended`), for tests and the drill's summary. */
export interface ActionEnd {
  action: LifecycleAction;
  result: LifecycleResult;
  how: 'completed' | 'heartbeat-timeout' | 'global-timeout';
  atMs: number;
}

/** What the model tells the rest of the twin. */
export interface LifecycleListener {
  /** A lifecycle action started: the service event goes out. */
  actionStarted(action: LifecycleAction, metadata: string | undefined): void;
  instanceState(instance: InstanceRecord): void;
}

interface Group {
  name: string;
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  createdMs: number;
  hooks: HookSpec[];
  instances: Map<string, InstanceRecord>;
}

/** The longest any lifecycle action may last. */
export const MAX_GLOBAL_TIMEOUT_MS = 48 * 3600 * 1000;
/** How long an instance takes from Terminating:Proceed to Terminated (EC2 shutting it down). */
export const DEFAULT_TERMINATION_MS = 1000;
const TOKEN_LENGTH = 36;

/** Where one instance is held: the instance of `groupName` and the action of each hook still open. */
export class AutoScalingModel {
  private readonly groups = new Map<string, Group>();
  private readonly actions = new Map<string, LifecycleAction>();
  private readonly proceeding = new Map<string, number>();
  readonly ended: ActionEnd[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly listener: LifecycleListener,
    private readonly terminationMs = DEFAULT_TERMINATION_MS,
  ) {}

  createGroup(name: string, hooks: HookSpec[], size: { min?: number; max?: number } = {}): void {
    this.groups.set(name, {
      name,
      minSize: size.min ?? 0,
      maxSize: size.max ?? 100,
      desiredCapacity: 0,
      createdMs: this.clock.now(),
      hooks,
      instances: new Map(),
    });
  }

  /** An instance that finished launching and is now InService (launch hooks are not modelled). */
  addInstance(groupName: string, instanceId: string, availabilityZone = 'us-west-2a'): InstanceRecord {
    const group = this.group(groupName);
    const instance: InstanceRecord = {
      instanceId,
      groupName,
      availabilityZone,
      lifecycleState: 'InService',
      launchedMs: this.clock.now(),
    };
    group.instances.set(instanceId, instance);
    group.desiredCapacity = Math.max(group.desiredCapacity, this.inService(group).length);
    this.listener.instanceState(instance);
    return instance;
  }

  groupNames(): string[] {
    return [...this.groups.keys()];
  }

  /** Every group, or the named ones that exist (unknown names are skipped, as AWS does). */
  describeGroups(names: string[] | undefined) {
    const groups =
      names === undefined || names.length === 0
        ? [...this.groups.values()]
        : names.flatMap((name) => this.groups.get(name) ?? []);
    return groups.map((group) => ({
      name: group.name,
      minSize: group.minSize,
      maxSize: group.maxSize,
      desiredCapacity: group.desiredCapacity,
      createdMs: group.createdMs,
      instances: [...group.instances.values()].map((instance) => ({ ...instance })),
    }));
  }

  /** Instances of any group, or the named ones that still belong to a group. */
  describeInstances(instanceIds: string[] | undefined): InstanceRecord[] {
    const groups = [...this.groups.values()];
    if (instanceIds === undefined || instanceIds.length === 0)
      return groups.flatMap((group) => [...group.instances.values()]).map((i) => ({ ...i }));
    // By id, in the order of the groups' own listing (a fleet of thousands is looked up without a scan).
    const found = [...new Set(instanceIds)].flatMap((id) =>
      groups.flatMap((group) => {
        const instance = group.instances.get(id);
        return instance === undefined ? [] : [instance];
      }),
    );
    if (found.length > 1) {
      const order = new Map(
        groups.flatMap((group) => [...group.instances.keys()]).map((id, index) => [id, index]),
      );
      found.sort((a, b) => (order.get(a.instanceId) ?? 0) - (order.get(b.instanceId) ?? 0));
    }
    return found.map((i) => ({ ...i }));
  }

  /** SetDesiredCapacity. Scale-in terminates the oldest InService instances (a simplification of the default termination policy). */
  setDesiredCapacity(groupName: string, desired: number): void {
    const group = this.group(groupName);
    if (desired < group.minSize || desired > group.maxSize) {
      throw validationError(
        `New SetDesiredCapacity value ${desired} is below min value ${group.minSize} for the AutoScalingGroup.`,
      );
    }
    const inService = this.inService(group).sort((a, b) => a.launchedMs - b.launchedMs);
    if (desired > inService.length) {
      throw validationError(
        `twin: scale-out is not emulated (group ${groupName} has ${inService.length} instances)`,
      );
    }
    group.desiredCapacity = desired;
    for (const instance of inService.slice(0, inService.length - desired))
      this.startTerminating(group, instance);
  }

  /** TerminateInstanceInAutoScalingGroup: runs the terminate hooks like any scale-in. */
  terminateInstance(instanceId: string, decrement: boolean, route?: LifecycleRoute): InstanceRecord {
    const instance = this.describeInstances([instanceId])[0];
    if (instance === undefined)
      throw validationError(
        `Instance Id not found - No managed instance found for instance ID: ${instanceId}`,
      );
    const group = this.group(instance.groupName);
    const live = group.instances.get(instanceId) as InstanceRecord;
    if (live.lifecycleState !== 'InService') return { ...live };
    if (decrement) group.desiredCapacity = Math.max(group.minSize, group.desiredCapacity - 1);
    this.startTerminating(group, live, route);
    return { ...live };
  }

  /** RecordLifecycleActionHeartbeat: restarts the heartbeat timeout, never past the global timeout. */
  recordHeartbeat(ref: ActionRef): void {
    const action = this.findAction(ref);
    const group = this.group(action.groupName);
    const hook = group.hooks.find((candidate) => candidate.name === action.hookName) as HookSpec;
    action.heartbeatDeadlineMs = this.clock.now() + hook.heartbeatTimeoutMs;
  }

  /** CompleteLifecycleAction. */
  completeAction(ref: ActionRef, result: string): void {
    if (result !== 'CONTINUE' && result !== 'ABANDON') {
      throw validationError(
        constraintMessage(result, 'lifecycleActionResult', 'satisfy enum value set: [CONTINUE, ABANDON]'),
      );
    }
    this.endAction(this.findAction(ref), result, 'completed');
  }

  /** Applies every timeout that is due and finishes terminations. */
  advance(): void {
    const now = this.clock.now();
    for (const action of [...this.actions.values()]) {
      if (now >= action.globalDeadlineMs) this.endAction(action, action.defaultResult, 'global-timeout');
      else if (now >= action.heartbeatDeadlineMs)
        this.endAction(action, action.defaultResult, 'heartbeat-timeout');
    }
    for (const [instanceId, atMs] of [...this.proceeding]) {
      if (now < atMs) continue;
      this.proceeding.delete(instanceId);
      const instance = this.describeInstances([instanceId])[0];
      if (instance === undefined) continue;
      const group = this.group(instance.groupName);
      group.instances.delete(instanceId);
      this.listener.instanceState({ ...instance, lifecycleState: 'Terminated' });
    }
  }

  /** The open action of an instance and hook, if any (for tests and the drill). */
  activeAction(instanceId: string): LifecycleAction | undefined {
    return [...this.actions.values()].find((action) => action.instanceId === instanceId);
  }

  private inService(group: Group): InstanceRecord[] {
    return [...group.instances.values()].filter((instance) => instance.lifecycleState === 'InService');
  }

  private group(name: string): Group {
    const group = this.groups.get(name);
    if (group === undefined)
      throw validationError(`AutoScalingGroup name not found - AutoScalingGroup '${name}' not found`);
    return group;
  }

  private setState(instance: InstanceRecord, state: string): void {
    instance.lifecycleState = state;
    this.listener.instanceState({ ...instance });
  }

  private startTerminating(group: Group, instance: InstanceRecord, route?: LifecycleRoute): void {
    if (group.hooks.length === 0) {
      this.proceed(instance);
      return;
    }
    this.setState(instance, 'Terminating:Wait');
    const now = this.clock.now();
    for (const hook of group.hooks) {
      const action: LifecycleAction = {
        token: randomUUID(),
        instanceId: instance.instanceId,
        groupName: group.name,
        hookName: hook.name,
        startedMs: now,
        heartbeatDeadlineMs: now + hook.heartbeatTimeoutMs,
        globalDeadlineMs: now + Math.min(MAX_GLOBAL_TIMEOUT_MS, 100 * hook.heartbeatTimeoutMs),
        defaultResult: hook.defaultResult,
        ...(route === undefined ? {} : { route }),
      };
      this.actions.set(action.token, action);
      this.listener.actionStarted({ ...action }, hook.notificationMetadata);
    }
  }

  private endAction(action: LifecycleAction, result: LifecycleResult, how: ActionEnd['how']): void {
    this.actions.delete(action.token);
    const end: ActionEnd = { action: { ...action }, result, how, atMs: this.clock.now() };
    this.ended.push(end);
    // For a terminate hook both results terminate; ABANDON also skips the hooks still open.
    const siblings = [...this.actions.values()].filter((other) => other.instanceId === action.instanceId);
    if (result === 'ABANDON') for (const other of siblings) this.actions.delete(other.token);
    if (result === 'ABANDON' || siblings.length === 0) {
      const instance = this.group(action.groupName).instances.get(action.instanceId);
      if (instance !== undefined) this.proceed(instance);
    }
  }

  private proceed(instance: InstanceRecord): void {
    this.setState(instance, 'Terminating:Proceed');
    this.proceeding.set(instance.instanceId, this.clock.now() + this.terminationMs);
  }

  private findAction(ref: ActionRef): LifecycleAction {
    this.group(ref.groupName);
    if (ref.token !== undefined) {
      if (ref.token.length < TOKEN_LENGTH) {
        throw validationError(
          constraintMessage(
            ref.token,
            'lifecycleActionToken',
            `have length greater than or equal to ${TOKEN_LENGTH}`,
          ),
        );
      }
      const action = this.actions.get(ref.token);
      if (action === undefined || action.groupName !== ref.groupName || action.hookName !== ref.hookName) {
        throw validationError(`No active Lifecycle Action found with token ${ref.token}`);
      }
      return action;
    }
    if (ref.instanceId === undefined) {
      throw validationError('Either LifecycleActionToken or InstanceId must be specified');
    }
    const action = [...this.actions.values()].find(
      (candidate) =>
        candidate.instanceId === ref.instanceId &&
        candidate.groupName === ref.groupName &&
        candidate.hookName === ref.hookName,
    );
    if (action === undefined)
      throw validationError(`No active Lifecycle Action found with instance ID ${ref.instanceId}`);
    return action;
  }
}

/** How Complete/Heartbeat name an action: group and hook, then the token or the instance. */
export interface ActionRef {
  groupName: string;
  hookName: string;
  token?: string;
  instanceId?: string;
}
