// The local twin: wires the models, the instances, the event bus, the HTTP endpoint and the real handler
// from one synthesized template. Everything runs on one clock, moved along by a short wall-clock pump.

import { randomBytes, randomUUID } from 'node:crypto';
import { AgentRegistry } from './agents';
import { autoScalingAction } from './auto-scaling-api';
import { type Clock, wallClock } from './clock';
import { cloudFormationAction, type DeployedStack, stackArn } from './cloudformation-api';
import {
  type Command,
  CommandsModel,
  commandStatus,
  type InvocationRunner,
  type RunResult,
} from './commands';
import { checkDocument } from './document';
import { EventBus, type EventFault } from './event-bus';
import {
  type BusEvent,
  commandStatusEvent,
  invocationStatusEvent,
  lifecycleActionEvent,
  REGION,
  rebalanceRecommendationEvent,
  type SpotInterruptionAction,
  spotInterruptionEvent,
} from './event-envelope';
import { putEvents } from './events-api';
import { ApiFaults } from './faults';
import { InstanceHost, type WorkerSpec } from './instances';
import { AutoScalingModel, type InstanceRecord } from './lifecycle';
import { composeHandler, type Handler, importHandler } from './load-handler';
import { QueueSet } from './queues';
import { type ApiServer, startApiServer } from './server';
import { sqsOperation } from './sqs-api';
import { ssmOperation } from './ssm-api';
import { type CfnTemplate, readTemplate, type TwinTemplate } from './template';
import { Timeline } from './timeline';

export interface TwinOptions {
  /** The synthesized CloudFormation template (JSON). */
  template: CfnTemplate;
  /** The stack's name, as CloudFormation's DescribeStacks knows it. Default `twin`. */
  stackName?: string;
  /** Default: the wall clock. A `SteppedClock` runs the twin and a composed handler faster. */
  clock?: Clock;
  /** Overrides the hooks' HeartbeatTimeout inside the twin (the Lambda's environment is not changed). */
  heartbeatTimeoutSeconds?: number;
  /** Overrides the schedule rules' period, in clock time. */
  tickPeriodMs?: number;
  /** Overrides or adds variables of the Lambda's environment. */
  environment?: Record<string, string>;
  /**
   * How to run the drainer: `module` imports the real entry point (wall clock only, once per process);
   * `composed` builds it with createHandler on the twin's clock; `none` only records events.
   * Default: `module` on the wall clock, else `composed`.
   */
  handler?: 'module' | 'composed' | 'none';
  /** Lambda's async retry delays, in clock time. Default 60 s then 120 s, as Lambda does. */
  retryDelaysMs?: number[];
  /**
   * Overrides every queue's VisibilityTimeout, in clock time: how long a failed SQS record waits before it
   * is delivered again (the construct's event queues: 10 min). The queues' own attributes still say theirs.
   */
  queueVisibilityTimeoutMs?: number;
  /** How long GetCommandInvocation answers InvocationDoesNotExist after SendCommand. Default 1 s. */
  visibilityDelayMs?: number;
  /** Handler log level (Powertools). Default WARN. */
  logLevel?: string;
  /** Wall-clock period of the pump that steps the clock, applies timeouts and runs scheduled work. Default 20 ms. */
  pumpIntervalMs?: number;
  /** The function's concurrency (see BusOptions.concurrency). Default: unlimited. */
  concurrency?: number;
  /**
   * Runs commands on virtual instances (`addVirtualInstances`): hosts with no process at all, whose agent's
   * work the caller simulates (the scale bench). `done` reports how the run ended.
   */
  virtualRun?: InvocationRunner['run'];
  /**
   * How long after EC2 interrupted an InService instance the group's health check finds it and replaces it,
   * in clock time. Default 30 s (*assumption*: the service publishes no figure).
   */
  unhealthyAfterMs?: number;
}

/** How long before the interruption EC2 sends the Spot warning (hibernation: none, it begins at once). */
export const SPOT_NOTICE_MS = 120_000;

/** One Spot interruption the twin ran (`spotInterruption`). */
export interface SpotInterruption {
  instanceId: string;
  action: SpotInterruptionAction;
  /** The warning's event. */
  event: BusEvent;
  warnedMs: number;
  /** Wall time of the warning: what workers' own records (wall clock) compare with. */
  warnedWallMs: number;
  /** When EC2 interrupts the instance: the warning + 2 minutes (at once for hibernation). */
  interruptAtMs: number;
  /** When it was interrupted (clock and wall time); undefined if not yet, or already gone by then. */
  interruptedMs?: number;
  interruptedWallMs?: number;
}

/** An instance the group launched in place of another. */
export interface Replacement {
  replaced: string;
  replacement: string | undefined;
  reason: 'capacity-rebalance' | 'health-check';
  atMs: number;
  error?: string;
}

/** One transition of an instance, for tests and the drill. */
export interface StateChange {
  instanceId: string;
  lifecycleState: string;
  atMs: number;
  /** Wall time of the change: what workers' own records (wall clock) compare with under a faster clock. */
  wallMs: number;
}

export class Twin {
  readonly faults = new ApiFaults();
  readonly agents = new AgentRegistry();
  readonly states: StateChange[] = [];
  readonly hosts = new Map<string, InstanceHost>();
  /** Instances without a host: their commands go to `options.virtualRun`. */
  readonly virtualInstances = new Set<string>();
  readonly autoScaling: AutoScalingModel;
  readonly commands: CommandsModel;
  readonly bus: EventBus;
  /** The template's SQS queues (event queues and dead-letter queues), by logical id and URL. */
  readonly queues: QueueSet;
  readonly template: TwinTemplate;
  readonly interruptions: SpotInterruption[] = [];
  readonly replacements: Replacement[] = [];
  /** The stack the template is deployed as (CloudFormation's DescribeStacks). */
  readonly stack: DeployedStack;
  /** The workers each group's instances boot with, for the instances the group launches itself. */
  private readonly groupWorkers = new Map<string, (instanceId: string) => WorkerSpec[]>();
  /** Instances the group replaces once they are terminated (health check), and why. */
  private readonly replaceWhenTerminated = new Set<string>();
  private stopped = false;
  private readonly commandStatuses = new Map<string, string>();
  private server: ApiServer | undefined;
  private pump: NodeJS.Timeout | undefined;
  private readonly timeline: Timeline;
  /** Builds one execution environment of the function (its own SDK clients, as a Lambda container has). */
  private newHandler: () => Handler = () => async () => undefined;
  /** Environments not running an invocation; a new one is built when all are busy. */
  private readonly idleHandlers: Handler[] = [];
  private readonly killAll = () => {
    for (const host of this.hosts.values()) host.stop();
  };

  private constructor(
    private readonly options: TwinOptions,
    readonly clock: Clock,
  ) {
    this.template = readTemplate(options.template);
    const stackName = options.stackName ?? 'twin';
    this.stack = {
      name: stackName,
      id: stackArn(stackName, randomUUID()),
      description: options.template.Description,
      createdMs: clock.now(),
      outputs: this.template.outputs,
    };
    for (const [name, content] of this.template.documents) {
      const problems = checkDocument(content);
      if (problems.length > 0) throw new Error(`document ${name}: ${problems.join('; ')}`);
    }
    this.timeline = new Timeline(clock);
    this.autoScaling = new AutoScalingModel(clock, {
      actionStarted: (action, metadata) =>
        this.bus.publish(lifecycleActionEvent(action, metadata, clock.now())),
      instanceState: (instance) => this.instanceChanged(instance),
    });
    const groups = new Map<string, TwinTemplate['hooks']>();
    for (const hook of this.template.hooks)
      groups.set(hook.groupName, [...(groups.get(hook.groupName) ?? []), hook]);
    for (const [groupName, hooks] of groups) {
      this.autoScaling.createGroup(
        groupName,
        hooks.map((hook) => ({
          name: hook.hookName,
          heartbeatTimeoutMs: (options.heartbeatTimeoutSeconds ?? hook.heartbeatTimeoutSeconds) * 1000,
          defaultResult: hook.defaultResult,
          notificationMetadata: hook.notificationMetadata,
        })),
      );
    }
    this.commands = new CommandsModel(
      clock,
      this.template.documents,
      this.runner(),
      {
        invocationChanged: (command, invocation) => {
          const before = this.commandStatuses.get(command.commandId);
          this.bus.publish(
            invocationStatusEvent(
              { ...invocation, documentName: command.documentName, requestedMs: command.requestedMs },
              clock.now(),
            ),
          );
          // SSM also sends a command-level event whenever the command's own status changes.
          const status = commandStatus(command);
          if (status === before) return;
          this.commandStatuses.set(command.commandId, status);
          const expiresMs = command.requestedMs + command.timeoutSeconds * 1000 + command.executionTimeoutMs;
          this.bus.publish(commandStatusEvent({ ...command, expiresMs, status }, clock.now()));
        },
      },
      options.visibilityDelayMs,
    );
    this.queues = new QueueSet(this.template.queues, options.queueVisibilityTimeoutMs);
    this.bus = new EventBus(this.template.rules, (event) => this.invoke(event), clock, this.timeline, {
      retryAttempts: this.template.drainer.retryAttempts,
      retryDelaysMs: options.retryDelaysMs ?? [60_000, 120_000],
      tickPeriodMs: options.tickPeriodMs,
      concurrency: options.concurrency,
      queues: this.queues,
      mappings: this.template.mappings,
    });
  }

  /** Starts the endpoint, loads the handler, starts the schedule. */
  static async start(options: TwinOptions): Promise<Twin> {
    const clock = options.clock ?? wallClock;
    const twin = new Twin(options, clock);
    await twin.listen();
    return twin;
  }

  /** The endpoint for AWS_ENDPOINT_URL. */
  get url(): string {
    return (this.server as ApiServer).url;
  }

  get calls() {
    return (this.server as ApiServer).calls;
  }

  /** The Lambda's environment: the template's, with the options' overrides. */
  get environment(): Record<string, string> {
    return { ...this.template.drainer.environment, ...this.options.environment };
  }

  /**
   * Boots `count` instances in a group, each running the workers `workers(instanceId)` gives. With
   * `ssmAgent: false` they never register with SSM (no agent, or no instance profile): SendCommand and
   * DescribeInstanceInformation answer InvalidInstanceId for them.
   */
  async launch(
    groupName: string,
    count: number,
    workers: (instanceId: string) => WorkerSpec[],
    options: { ssmAgent?: boolean } = {},
  ): Promise<string[]> {
    this.groupWorkers.set(groupName, workers);
    const ids: string[] = [];
    for (let index = 0; index < count; index += 1) {
      const instanceId = `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
      const host = await InstanceHost.boot(instanceId, workers(instanceId));
      if (this.stopped) {
        host.stop();
        throw new Error('twin: stopped while an instance was booting');
      }
      this.hosts.set(instanceId, host);
      if (options.ssmAgent !== false) this.agents.register(instanceId, this.clock.now());
      this.autoScaling.addInstance(groupName, instanceId);
      ids.push(instanceId);
    }
    return ids;
  }

  /**
   * Adds `count` virtual instances to a group: registered with SSM and Auto Scaling, with no host; their
   * commands run through `options.virtualRun`.
   */
  addVirtualInstances(groupName: string, count: number): string[] {
    if (this.options.virtualRun === undefined)
      throw new Error('twin: virtual instances need options.virtualRun');
    const ids: string[] = [];
    for (let index = 0; index < count; index += 1) {
      const instanceId = `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
      this.virtualInstances.add(instanceId);
      this.agents.register(instanceId, this.clock.now());
      this.autoScaling.addInstance(groupName, instanceId);
      ids.push(instanceId);
    }
    return ids;
  }

  /** Takes the instance's SSM Agent offline (or back): SendCommand answers InvalidInstanceId. */
  setAgentOnline(instanceId: string, online: boolean): void {
    this.agents.setOnline(instanceId, online, this.clock.now());
  }

  /** The instance dies at once (its namespace is killed); SSM never hears from it again. */
  vanish(instanceId: string): void {
    this.hosts.get(instanceId)?.vanish();
    this.agents.setOnline(instanceId, false, this.clock.now());
  }

  /**
   * EC2 is about to interrupt a Spot Instance: the `EC2 Spot Instance Interruption Warning` goes out now, and
   * two minutes later (hibernation: at once) the instance is interrupted (see `interrupt`).
   * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html
   */
  spotInterruption(instanceId: string, action: SpotInterruptionAction = 'terminate'): SpotInterruption {
    const now = this.clock.now();
    const event = spotInterruptionEvent(instanceId, action, now);
    const interruption: SpotInterruption = {
      instanceId,
      action,
      event,
      warnedMs: now,
      warnedWallMs: Date.now(),
      interruptAtMs: now + (action === 'hibernate' ? 0 : SPOT_NOTICE_MS),
    };
    this.interruptions.push(interruption);
    this.bus.publish(event);
    this.timeline.at(interruption.interruptAtMs, () => this.interrupt(interruption));
    return interruption;
  }

  /**
   * EC2 sends an `EC2 Instance Rebalance Recommendation`. With Capacity Rebalancing on, the group launches a
   * replacement, and once it is in service terminates the at-risk instance through its terminate hooks.
   * Returns the replacement's id, if one was launched.
   * https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-capacity-rebalancing.html
   */
  async rebalanceRecommendation(instanceId: string): Promise<string | undefined> {
    this.bus.publish(rebalanceRecommendationEvent(instanceId, this.clock.now()));
    const instance = this.autoScaling.describeInstances([instanceId])[0];
    if (instance?.lifecycleState !== 'InService') return undefined;
    if (this.autoScaling.describeGroups([instance.groupName])[0]?.capacityRebalance !== true)
      return undefined;
    const replacement = await this.launchReplacement(instance.groupName, instanceId, 'capacity-rebalance');
    // The group ends where it was: one launched, the at-risk one terminated with a decrement.
    if (replacement !== undefined && !this.stopped) this.autoScaling.terminateInstance(instanceId, true);
    return replacement;
  }

  /** Scripts of commands on this instance run with this PATH (e.g. one without `node`). */
  setRunPath(instanceId: string, path: string): void {
    const host = this.hosts.get(instanceId);
    if (host === undefined) throw new Error(`twin: no instance ${instanceId}`);
    host.runPath = path;
  }

  /** Signals the processes of an instance whose command line matches (e.g. SIGKILL the drain agent). */
  signalProcesses(instanceId: string, pattern: RegExp, signal: NodeJS.Signals): number[] {
    return this.hosts.get(instanceId)?.signalProcesses(pattern, signal) ?? [];
  }

  /**
   * A stack update that changes the fleet-drain document (`UpdateMethod: NewVersion`): every Command document
   * of `template` whose content differs becomes a new version, the latest but not the default (see
   * CommandsModel.addDocumentVersion). Returns the names updated.
   */
  deployTemplate(template: CfnTemplate): string[] {
    const updated: string[] = [];
    for (const [name, content] of readTemplate(template).documents) {
      if (JSON.stringify(this.template.documents.get(name)) === JSON.stringify(content)) continue;
      const problems = checkDocument(content);
      if (problems.length > 0) throw new Error(`document ${name}: ${problems.join('; ')}`);
      this.commands.addDocumentVersion(name, content);
      this.template.documents.set(name, content);
      updated.push(name);
    }
    return updated;
  }

  /** Queues an event fault (drop, duplicate, delay, crash). */
  injectEventFault(fault: EventFault): void {
    this.bus.inject(fault);
  }

  /** Waits (wall time, bounded) until `predicate` holds; the error says where every instance stands. */
  async waitFor(predicate: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) {
        throw new Error(
          `twin: timed out after ${timeoutMs} ms waiting for ${what}\n${JSON.stringify(this.summary(), null, 1)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Per instance: its last lifecycle state, how its actions ended, its commands' statuses; failed invocations. */
  summary() {
    const instances = [...new Set(this.states.map((change) => change.instanceId))].map((instanceId) => ({
      instanceId,
      state: this.states.filter((change) => change.instanceId === instanceId).at(-1)?.lifecycleState,
      actions: this.autoScaling.ended
        .filter((end) => end.action.instanceId === instanceId)
        .map((end) => `${end.how} ${end.result}`),
      commands: this.commands
        .all()
        .filter((command) => command.instanceIds.includes(instanceId))
        .map((command) => command.invocations.get(instanceId)?.status),
    }));
    const failed = this.bus.invocations
      .filter((invocation) => invocation.error !== undefined)
      .map(
        (invocation) =>
          `${invocation.event['detail-type']} attempt ${invocation.attempt}: ${invocation.error}`,
      );
    return { nowMs: this.clock.now(), instances, failed };
  }

  /** Stops everything the twin started: the schedule, invocations, every instance, the endpoint. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pump) clearInterval(this.pump);
    this.timeline.clear();
    await this.bus.stop();
    this.killAll();
    process.removeListener('exit', this.killAll);
    await this.server?.close();
  }

  private async listen(): Promise<void> {
    this.server = await startApiServer({
      now: () => this.clock.now(),
      faults: this.faults,
      autoScaling: (params) => autoScalingAction(this.autoScaling, params, this.clock.now()),
      cloudFormation: (params, region) => cloudFormationAction(this.stack, params, region),
      json: (service, operation, input) => {
        if (service === 'ssm')
          return ssmOperation(this.commands, this.agents, operation, input, this.clock.now());
        if (service === 'sqs') return sqsOperation(this.queues, operation, input, this.clock.now());
        return putEvents(input, this.clock.now(), (event) => this.bus.publish(event));
      },
    });
    // A test runner that dies must not leave instances behind.
    process.once('exit', this.killAll);
    const mode = this.options.handler ?? (this.clock === wallClock ? 'module' : 'composed');
    const logLevel = this.options.logLevel ?? 'WARN';
    if (mode === 'module') {
      // One module: its clients are built at import, once per process.
      const handler = await importHandler(this.url, this.environment, logLevel);
      this.newHandler = () => handler;
    }
    if (mode === 'composed')
      this.newHandler = () => composeHandler(this.url, this.environment, this.clock, logLevel);
    this.bus.startSchedules();
    this.pump = setInterval(() => {
      this.clock.step?.();
      this.autoScaling.advance();
      this.commands.advance();
      this.timeline.pump();
    }, this.options.pumpIntervalMs ?? 20);
  }

  /** Runs an invocation in an idle execution environment, or a new one. */
  private async invoke(event: unknown): Promise<unknown> {
    const handler = this.idleHandlers.pop() ?? this.newHandler();
    try {
      return await handler(event);
    } finally {
      this.idleHandlers.push(handler);
    }
  }

  /**
   * EC2 interrupts the instance: every process in it dies; terminated, its SSM Agent is gone (SendCommand:
   * InvalidInstanceId); stopped or hibernated, it is offline. A command running there is never reported. An
   * InService instance is then found by the group's health check and replaced.
   */
  private interrupt(interruption: SpotInterruption): void {
    const { instanceId } = interruption;
    const host = this.hosts.get(instanceId);
    if (this.stopped || (host?.alive !== true && !this.virtualInstances.has(instanceId))) return;
    host?.vanish();
    if (interruption.action === 'terminate') this.agents.remove(instanceId);
    else this.agents.setOnline(instanceId, false, this.clock.now());
    interruption.interruptedMs = this.clock.now();
    interruption.interruptedWallMs = Date.now();
    this.timeline.after(this.options.unhealthyAfterMs ?? 30_000, () => {
      if (!this.stopped && this.autoScaling.replaceUnhealthy(instanceId))
        this.replaceWhenTerminated.add(instanceId);
    });
  }

  /** The group launches one instance in place of `replaced`, with the workers its instances boot with. */
  private async launchReplacement(
    groupName: string,
    replaced: string,
    reason: Replacement['reason'],
  ): Promise<string | undefined> {
    const workers = this.groupWorkers.get(groupName);
    if (workers === undefined || this.stopped) return undefined;
    const record: Replacement = { replaced, replacement: undefined, reason, atMs: this.clock.now() };
    this.replacements.push(record);
    try {
      [record.replacement] = await this.launch(groupName, 1, workers);
    } catch (error) {
      record.error = (error as Error).message;
    }
    return record.replacement;
  }

  private instanceChanged(instance: InstanceRecord): void {
    this.states.push({
      instanceId: instance.instanceId,
      lifecycleState: instance.lifecycleState,
      atMs: this.clock.now(),
      wallMs: Date.now(),
    });
    if (instance.lifecycleState === 'Warmed:Stopped' || instance.lifecycleState === 'Warmed:Hibernated') {
      // Stopped (or hibernated) in the warm pool: its processes and its SSM Agent are gone until it starts
      // again (starting one is not emulated); a command running there is never reported.
      this.hosts.get(instance.instanceId)?.vanish();
      this.agents.setOnline(instance.instanceId, false, this.clock.now());
    }
    if (instance.lifecycleState === 'Terminated') {
      // Gone with everything in it; a command still running there is never reported, as on EC2.
      this.hosts.get(instance.instanceId)?.vanish();
      this.hosts.delete(instance.instanceId);
      this.virtualInstances.delete(instance.instanceId);
      this.agents.remove(instance.instanceId);
      // A health-check replacement: terminated first, then the new instance.
      if (this.replaceWhenTerminated.delete(instance.instanceId))
        void this.launchReplacement(instance.groupName, instance.instanceId, 'health-check');
    }
  }

  private runner(): InvocationRunner {
    return {
      isOnline: (instanceId) =>
        this.agents.isOnline(instanceId) &&
        (this.hosts.get(instanceId)?.alive === true || this.virtualInstances.has(instanceId)),
      run: (command: Command, instanceId: string, done: (result: RunResult) => void) => {
        if (this.virtualInstances.has(instanceId))
          return (this.options.virtualRun as InvocationRunner['run'])(command, instanceId, done);
        const host = this.hosts.get(instanceId) as InstanceHost;
        let current: { kill(): void } | undefined;
        let output: RunResult = { exitCode: 0, stdout: '', stderr: '' };
        // Steps run in order; a failing step ends the run (aws:runShellScript's default onFailure).
        const next = (index: number) => {
          const step = command.steps[index];
          if (step === undefined || output.exitCode !== 0) {
            done(output);
            return;
          }
          // The SSM Agent exports the node's id and Region to every process it runs (executers.go).
          const env = { ...step.env, AWS_SSM_INSTANCE_ID: instanceId, AWS_SSM_REGION_NAME: REGION };
          current = host.run(step.script, env, (result) => {
            output = {
              exitCode: result.exitCode,
              stdout: output.stdout + result.stdout,
              stderr: output.stderr + result.stderr,
            };
            next(index + 1);
          });
        };
        next(0);
        return { kill: () => current?.kill() };
      },
    };
  }
}
