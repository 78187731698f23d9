// The Auto Scaling control plane the drainer depends on, as a pure model over an injected clock: groups,
// instances moving InService → Terminating:Wait → Terminating:Proceed → Terminated, and terminate lifecycle
// actions with their heartbeat timeout, global timeout and default result. Time passes only through
// `advance()`, which the twin calls on a short period (and tests call after moving a manual clock).
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html
//
// Warm pools: an instance that goes back to the pool on scale-in (ReuseOnScaleIn) waits for the terminate
// hooks in Warmed:Pending:Wait, then Warmed:Pending:Proceed, then stays in the pool in the pool's state
// (Warmed:Stopped, Warmed:Running, Warmed:Hibernated); one terminated from the pool waits in
// Warmed:Terminating:Wait (event Origin WarmPool), then Warmed:Terminating:Proceed, then Terminated. The
// group's DescribeAutoScalingGroups lists no Warmed:* instance; DescribeWarmPool does.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pools-eventbridge-events.html (Example 4)

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
  /** `Unhealthy` once the group's health check found it not running (e.g. interrupted by EC2). */
  healthStatus?: 'Healthy' | 'Unhealthy';
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

/** A warm pool's state: what its instances are while they wait there. */
export type PoolState = 'Stopped' | 'Running' | 'Hibernated';

/** A group's warm pool (PutWarmPool). */
export interface WarmPoolSpec {
  poolState: PoolState;
  /** InstanceReusePolicy.ReuseOnScaleIn: scale-in sends instances back to the pool. */
  reuseOnScaleIn: boolean;
}

interface Group {
  name: string;
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  createdMs: number;
  hooks: HookSpec[];
  /** Every instance, in service or in the warm pool (Warmed:*). */
  instances: Map<string, InstanceRecord>;
  warmPool?: WarmPoolSpec;
  /** CapacityRebalance: replace a Spot Instance on its rebalance recommendation. */
  capacityRebalance: boolean;
}

/** An instance waiting in a warm pool (not on its way in or out). */
export function isInWarmPool(lifecycleState: string): boolean {
  return /^Warmed:(Stopped|Running|Hibernated)$/.test(lifecycleState);
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
  /** Instances past their hooks: when they reach their next state, and which (Terminated: gone). */
  private readonly proceeding = new Map<string, { atMs: number; next: string }>();
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
      capacityRebalance: false,
    });
  }

  /** UpdateAutoScalingGroup CapacityRebalance (off by default, as in the service). */
  setCapacityRebalance(groupName: string, on: boolean): void {
    this.group(groupName).capacityRebalance = on;
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

  /** PutWarmPool: the group gets a warm pool (its instances are listed by describeWarmPool). */
  putWarmPool(groupName: string, spec: WarmPoolSpec): void {
    this.group(groupName).warmPool = { ...spec };
  }

  /** Moves an instance of the group into its warm pool, as if it had been launched there. */
  moveToWarmPool(instanceId: string): void {
    const instance = this.liveInstance(instanceId);
    const pool = this.group(instance.groupName).warmPool;
    if (pool === undefined) throw new Error(`twin: group ${instance.groupName} has no warm pool`);
    this.setState(instance, `Warmed:${pool.poolState}`);
  }

  /** DescribeWarmPool: the pool's configuration (undefined: none) and the instances in it or on their way. */
  describeWarmPool(groupName: string): { spec: WarmPoolSpec | undefined; instances: InstanceRecord[] } {
    const group = this.group(groupName);
    return {
      spec: group.warmPool === undefined ? undefined : { ...group.warmPool },
      instances: [...group.instances.values()]
        .filter((instance) => instance.lifecycleState.startsWith('Warmed:'))
        .map((instance) => ({ ...instance })),
    };
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
      capacityRebalance: group.capacityRebalance,
      // A group's Instances never include its warm pool's.
      instances: [...group.instances.values()]
        .filter((instance) => !instance.lifecycleState.startsWith('Warmed:'))
        .map((instance) => ({ ...instance })),
    }));
  }

  /** The group's lifecycle hooks (the terminate hooks the twin models); undefined for an unknown group. */
  describeHooks(groupName: string): HookSpec[] | undefined {
    return this.groups.get(groupName)?.hooks.map((hook) => ({ ...hook }));
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
    // With ReuseOnScaleIn the instances scaled in go back to the warm pool.
    const destination = group.warmPool?.reuseOnScaleIn ? 'WarmPool' : 'EC2';
    for (const instance of inService.slice(0, inService.length - desired))
      this.startTerminating(group, instance, { origin: 'AutoScalingGroup', destination });
  }

  /**
   * TerminateInstanceInAutoScalingGroup: runs the terminate hooks like any scale-in. An instance in the warm
   * pool is terminated from there (Origin WarmPool); one in service goes back to the pool when `toWarmPool`
   * says so (*assumption*: whether this call honours ReuseOnScaleIn is not documented; scale-in does).
   */
  terminateInstance(instanceId: string, decrement: boolean, toWarmPool = false): InstanceRecord {
    const live = this.liveInstance(instanceId);
    const group = this.group(live.groupName);
    const pooled = isInWarmPool(live.lifecycleState);
    if (live.lifecycleState !== 'InService' && !pooled) return { ...live };
    if (decrement && !pooled) group.desiredCapacity = Math.max(group.minSize, group.desiredCapacity - 1);
    this.startTerminating(
      group,
      live,
      pooled
        ? { origin: 'WarmPool', destination: 'EC2' }
        : { origin: 'AutoScalingGroup', destination: toWarmPool ? 'WarmPool' : 'EC2' },
    );
    return { ...live };
  }

  /**
   * The group's health check finds an InService instance not running (EC2 interrupted it): it is marked
   * Unhealthy and terminated, through the terminate hooks as any termination the group makes (*assumption*
   * for an instance already gone), the desired capacity kept. Returns whether it was InService.
   * https://docs.aws.amazon.com/autoscaling/ec2/userguide/health-checks-overview.html
   */
  replaceUnhealthy(instanceId: string): boolean {
    const instance = this.describeInstances([instanceId])[0];
    if (instance?.lifecycleState !== 'InService') return false;
    const live = this.liveInstance(instanceId);
    live.healthStatus = 'Unhealthy';
    this.terminateInstance(instanceId, false);
    return true;
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
    for (const [instanceId, { atMs, next }] of [...this.proceeding]) {
      if (now < atMs) continue;
      this.proceeding.delete(instanceId);
      const instance = this.describeInstances([instanceId])[0];
      if (instance === undefined) continue;
      const group = this.group(instance.groupName);
      if (next !== 'Terminated') {
        this.setState(group.instances.get(instanceId) as InstanceRecord, next);
        continue;
      }
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

  private liveInstance(instanceId: string): InstanceRecord {
    const instance = this.describeInstances([instanceId])[0];
    if (instance === undefined)
      throw validationError(
        `Instance Id not found - No managed instance found for instance ID: ${instanceId}`,
      );
    return this.group(instance.groupName).instances.get(instanceId) as InstanceRecord;
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

  private startTerminating(group: Group, instance: InstanceRecord, route: LifecycleRoute): void {
    if (group.hooks.length === 0) {
      this.setState(instance, waitStateOf(route));
      this.proceed(instance);
      return;
    }
    this.setState(instance, waitStateOf(route));
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
        route,
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

  /** Past the hooks: terminated, or (going back to the warm pool) into the pool in its state. */
  private proceed(instance: InstanceRecord): void {
    const toPool = instance.lifecycleState === 'Warmed:Pending:Wait';
    this.setState(instance, instance.lifecycleState.replace(/:Wait$/, ':Proceed'));
    const pool = this.group(instance.groupName).warmPool;
    const next = toPool ? `Warmed:${pool?.poolState ?? 'Stopped'}` : 'Terminated';
    this.proceeding.set(instance.instanceId, { atMs: this.clock.now() + this.terminationMs, next });
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

/** Where a terminate hook holds an instance on this route. */
function waitStateOf(route: LifecycleRoute): string {
  if (route.origin === 'WarmPool') return 'Warmed:Terminating:Wait';
  return route.destination === 'WarmPool' ? 'Warmed:Pending:Wait' : 'Terminating:Wait';
}
