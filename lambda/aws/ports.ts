// The narrow interfaces between the drain logic and the world: AWS calls, clock, sleep, logs, metrics.
// The edge modules (aws/*.ts, telemetry.ts) implement them; nothing else imports the AWS SDK.

import type { Level, LogFields } from '../../common/log';
import type {
  DrainCommand,
  DrainTrigger,
  LifecycleActionRef,
  ListedCommand,
  SentDrainParameters,
} from '../decide/drain-command';
import type { AgentState, InstanceState } from '../decide/fleet-state';
import type { InvocationResult, LifecycleActionResult } from '../decide/outcome';

export type { AgentState, InstanceState } from '../decide/fleet-state';

export interface AutoScalingPort {
  /** Throws NoActiveLifecycleActionError, LifecycleConfigError or AwsCallError. */
  completeLifecycleAction(action: LifecycleActionRef, result: LifecycleActionResult): Promise<void>;
  /** Throws NoActiveLifecycleActionError, LifecycleConfigError or AwsCallError. */
  recordHeartbeat(action: LifecycleActionRef): Promise<void>;
  /** Every instance of the named groups (all pages). */
  describeGroupInstances(groupNames: readonly string[]): Promise<InstanceState[]>;
  /** Instances of the named groups' warm pools (all pages), each with its pool's state. */
  describeWarmPoolInstances(groupNames: readonly string[]): Promise<InstanceState[]>;
  /** The state of a group's warm pool (`Stopped`, `Running`, `Hibernated`); undefined: no warm pool. */
  warmPoolState(groupName: string): Promise<string | undefined>;
  /** The given instances that still belong to a group. */
  describeInstances(instanceIds: readonly string[]): Promise<InstanceState[]>;
}

export interface SsmPort {
  /**
   * Returns the command id. A batched start (`drainIds`) goes to each of its instances. Throws
   * InstanceUnreachableError (for the whole call, when any of its instances is unreachable) or AwsCallError.
   */
  sendDrainCommand(params: SentDrainParameters): Promise<string>;
  /**
   * Commands of the document (all pages), optionally only for one instance or one command id, or only
   * those still executing. A batched start still running comes with its invocations' statuses.
   */
  listCommands(filter: {
    instanceId?: string;
    commandId?: string;
    invokedAfterMs?: number;
    executingOnly?: boolean;
  }): Promise<ListedCommand[]>;
  /**
   * One command by id, for its parameters and request time, which never change: remembered for the life of
   * the execution environment. Undefined while SSM does not list it (yet).
   */
  readCommand(commandId: string): Promise<ListedCommand | undefined>;
  /** Throws InvocationNotFoundError or AwsCallError. */
  getInvocation(commandId: string, instanceId: string): Promise<InvocationResult>;
  cancelCommand(command: DrainCommand): Promise<void>;
  /** The SSM agents of the given instances; an instance SSM does not list is missing from the map. */
  describeAgents(instanceIds: readonly string[]): Promise<Map<string, AgentState>>;
}

export interface QueuesPort {
  /**
   * Events not yet handled in one of the drainer's event queues (lifecycle: visible, in flight or delayed;
   * status: visible or delayed); undefined when the function is not fed by that queue. Approximate, as SQS says.
   */
  waitingMessages(queue: 'lifecycle' | 'status'): Promise<number | undefined>;
  /**
   * A failed record comes back after `seconds` instead of the queue's visibility timeout (ChangeMessageVisibility
   * with its receipt handle). `queueArn` is the record's eventSourceARN; a queue the function is not configured
   * with is left alone.
   */
  retryAfter(queueArn: string, receiptHandle: string, seconds: number): Promise<void>;
}

export interface EventsPort {
  /** Puts one event on the configured bus. Throws AwsCallError (also for a failed entry). */
  putEvent(detailType: string, detail: Record<string, unknown>): Promise<void>;
}

/** A log line's keys: the ones the agent's lines carry too (common/log.ts), so a drain's lines join. */
export type LogKeys = LogFields;

/** The Lambda's log port: the agent's levels, its keys, and an error logged as `describeError` gives it. */
export type Log = { [L in Level]: (message: string, keys?: LogKeys) => void };

export type MetricName =
  | 'DrainsStarted'
  | 'DrainsFinished'
  | 'DrainDuration'
  | 'Heartbeats'
  | 'Adoptions'
  | 'Unreachable'
  | 'LifecycleActionsGone'
  | 'ConfigErrors';

export interface MetricsPort {
  /**
   * Counts `value` of `name`; `outcome` adds that dimension; `trigger` publishes it also under
   * {service, trigger} (a second dimension set, so the {service[, outcome]} series stay as they were).
   */
  count(name: MetricName, value?: number, outcome?: string, trigger?: DrainTrigger): void;
  /** Records a duration in milliseconds. */
  milliseconds(name: MetricName, value: number, outcome?: string): void;
  /** Sends what was recorded (EMF); called once at the end of every invocation. */
  flush(): void;
}

/** Everything the drain logic needs from outside. */
export interface Deps {
  autoScaling: AutoScalingPort;
  ssm: SsmPort;
  events: EventsPort;
  queues: QueuesPort;
  log: Log;
  metrics: MetricsPort;
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Milliseconds left before Lambda stops this invocation (context.getRemainingTimeInMillis); unknown: none. */
  remainingMs?: () => number;
}
