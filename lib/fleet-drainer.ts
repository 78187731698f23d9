// FleetDrainer: the terminate hook on each group, the fleet-drain SSM document, the drainer Lambda with its
// rules, event queues and schedule, least-privilege IAM, alarms and a dashboard (DESIGN §5).

import { readFileSync } from 'node:fs';
import {
  ArnFormat,
  aws_autoscaling as autoscaling,
  type aws_cloudwatch as cloudwatch,
  Duration,
  aws_lambda_destinations as destinations,
  aws_lambda_event_sources as eventSources,
  aws_events as events,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
  Names,
  Stack,
  aws_sqs as sqs,
  aws_ssm as ssm,
  Token,
  aws_events_targets as targets,
  Validations,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { DRAIN_PARAMETERS } from '../agent/drain-parameters';
import { type DrainPolicy, PolicyError, resolvePolicy } from '../agent/policy';
import { TERMINAL_COMMAND_STATUSES } from '../lambda/command-status';
import {
  ENV_DOCUMENT_NAME,
  ENV_EVENT_BUS_NAME,
  ENV_GROUP_NAMES,
  ENV_HEARTBEAT_TIMEOUT_SECONDS,
  ENV_HOOK_NAME,
  ENV_LIFECYCLE_QUEUE_URL,
  ENV_MAX_DRAIN_SECONDS,
  ENV_RESULT_POLICY,
  ENV_STATUS_QUEUE_URL,
  ENV_TICK_PERIOD_SECONDS,
  type ResultPolicy,
} from '../lambda/config';
import { agentBundlePath, lambdaAssetPath } from './assets';
import {
  ASYNC_MAX_EVENT_AGE,
  ASYNC_RETRY_ATTEMPTS,
  DEFAULT_ALARMS,
  DEFAULT_HOOK_NAME,
  DEFAULT_MAX_CONCURRENT_DRAINS,
  DEFAULT_MAX_DRAIN_TIME,
  DEFAULT_RECONCILE_PERIOD,
  DEFAULT_RESULT_POLICY,
  DOCUMENT_TIMEOUT_MARGIN,
  EVENT_QUEUE_BATCH_SIZE,
  EVENT_QUEUE_MAX_CONCURRENCY,
  EVENT_QUEUE_MAX_RECEIVE_COUNT,
  EVENT_QUEUE_RETENTION,
  EVENT_QUEUE_VISIBILITY_FACTOR,
  FAILED_EVENTS_RETENTION,
  FUNCTION_TIMEOUT,
  HEARTBEAT_TIMEOUT_HEADROOM,
  HEARTBEAT_TIMEOUT_MAX_SECONDS,
  HOOK_METADATA,
  LOG_RETENTION,
  MAX_CONCURRENT_DRAINS,
  MAX_DOCUMENT_TIMEOUT_SECONDS,
  MAX_DRAIN_TIME,
  MAX_RECONCILE_PERIOD,
  MIN_DRAIN_TIME,
  MIN_RECONCILE_PERIOD,
  PLANNED_AUTO_SCALING_CALLS_PER_SECOND,
  RULE_MAX_EVENT_AGE,
  RULE_RETRY_ATTEMPTS,
  STATUS_QUEUE_MAX_CONCURRENCY,
} from './defaults';
import { DOCUMENT_CONTENT_LIMIT_BYTES, documentContentBytes, drainDocumentContent } from './drain-document';
import { DrainerMonitoring } from './drainer-monitoring';
import {
  heartbeatTimeoutSeconds,
  LIFECYCLE_OVERHEAD_SECONDS,
  maxDrainSeconds as maxDrainSecondsFor,
} from './heartbeat-timeout';

/** The detail-type of Auto Scaling's terminate lifecycle event. */
export const LIFECYCLE_DETAIL_TYPE = 'EC2 Instance-terminate Lifecycle Action';
/** The detail-type of SSM's per-instance command status event. */
export const COMMAND_STATUS_DETAIL_TYPE = 'EC2 Command Invocation Status-change Notification';
/** Invocation statuses after which SSM changes nothing: the only status events the Lambda acts on. */
export { TERMINAL_COMMAND_STATUSES };

const RESULT_POLICIES: readonly ResultPolicy[] = ['CONTINUE', 'ABANDON_ON_FAILURE'];
const GROUP_OR_HOOK_NAME = new RegExp(DRAIN_PARAMETERS.autoScalingGroupName.pattern);

export interface FleetDrainerProps {
  /**
   * The Auto Scaling groups to drain: group constructs, or names of existing groups. Each gets the
   * terminate lifecycle hook.
   */
  readonly groups: ReadonlyArray<autoscaling.IAutoScalingGroup | string>;
  /** The drain policy (what to stop, how), validated at synth with the agent's own schema. */
  readonly policy: DrainPolicy;
  /**
   * The longest a drain may take, from the lifecycle event to the agent's deadline; from 1 minute to a little
   * under 48 hours (47 h 23 min with the default reconcile period: 48 h less the command's delivery timeout,
   * the drainer's grace and adoption delay, and one heartbeat timeout, which `maxConcurrentDrains` may make
   * larger). To keep an instance longer, use the group's instance lifecycle policy (retention) instead.
   * @default Duration.hours(1) (DEFAULT_MAX_DRAIN_TIME)
   */
  readonly maxDrainTime?: Duration;
  /**
   * `CONTINUE`: always complete the lifecycle action with CONTINUE. `ABANDON_ON_FAILURE`: complete with
   * ABANDON when the drain ended `incomplete` or `failed`, so a group whose instance lifecycle policy retains
   * on `TerminateHookAbandon` keeps the instance for inspection. ABANDON also ends the group's other
   * terminate hooks: whatever another hook on the group was waiting for (its own drain, a log upload) is
   * skipped for that instance. https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html
   * @default 'CONTINUE' (DEFAULT_RESULT_POLICY)
   */
  readonly resultPolicy?: ResultPolicy;
  /**
   * How often the reconciler runs (heartbeats, lost events, adoption); whole minutes from 1 to 30.
   * @default Duration.minutes(1) (DEFAULT_RECONCILE_PERIOD)
   */
  readonly reconcilePeriod?: Duration;
  /**
   * The bus that gets `Fleet Drain Started` and `Fleet Drain Finished` (source `fleet-drainer`).
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;
  /**
   * Create the CloudWatch alarms (they have no actions: add yours from `alarms`).
   * @default true (DEFAULT_ALARMS)
   */
  readonly alarms?: boolean;
  /**
   * The terminate hook's name on every group.
   * @default 'fleet-drainer' (DEFAULT_HOOK_NAME)
   */
  readonly hookName?: string;
  /**
   * The most instances that may be draining at the same time across the groups (a scale-in of the whole
   * fleet counts every instance). Sizes the hook's HeartbeatTimeout for the Auto Scaling API budget: H is at
   * least 3 × this / 10 seconds (10,000 drains: 3,000 s); a whole number from 1 to 24,000.
   * @default 1000 (DEFAULT_MAX_CONCURRENT_DRAINS)
   */
  readonly maxConcurrentDrains?: number;
}

const describe = (duration: Duration): string => duration.toHumanString();
/** A value as given, exactly: toHumanString rounds to two units. */
const describeGiven = (duration: Duration): string =>
  `${duration.toHumanString()} (${duration.toSeconds({ integral: false })} s)`;

/** Drains the instances of Auto Scaling groups before they are terminated. */
export class FleetDrainer extends Construct {
  /** The fleet-drain SSM Command document. */
  readonly document: ssm.CfnDocument;
  /** Its name: fixed, so the status rule and the IAM policy can name it. */
  readonly documentName: string;
  /** The drainer Lambda. */
  readonly function: lambda.Function;
  /** Events that EventBridge, SQS or Lambda could not deliver after their retries. */
  readonly failedEventsQueue: sqs.Queue;
  /**
   * Buffers the terminate lifecycle events for the function (its event source mapping caps how many batches
   * run at once); the reconcile tick adopts nothing while events wait here.
   */
  readonly lifecycleQueue: sqs.Queue;
  /** Buffers the fleet-drain commands' status events for the function, like `lifecycleQueue`. */
  readonly statusQueue: sqs.Queue;
  /** The terminate hooks, one per group. */
  readonly hooks: autoscaling.CfnLifecycleHook[] = [];
  /** The hook's HeartbeatTimeout (seconds). */
  readonly heartbeatTimeoutSeconds: number;
  readonly hookName: string;
  readonly maxDrainTime: Duration;
  /** The alarms (empty when `alarms` is false). Add actions to them. */
  readonly alarms: cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: FleetDrainerProps) {
    super(scope, id);
    // Defaults and validation first: a bad prop fails here, naming the prop, the value and the range.
    const maxDrainTime = props.maxDrainTime ?? DEFAULT_MAX_DRAIN_TIME;
    const reconcilePeriod = props.reconcilePeriod ?? DEFAULT_RECONCILE_PERIOD;
    const resultPolicy = props.resultPolicy ?? DEFAULT_RESULT_POLICY;
    const hookName = props.hookName ?? DEFAULT_HOOK_NAME;
    const maxConcurrentDrains = validateMaxConcurrentDrains(
      props.maxConcurrentDrains ?? DEFAULT_MAX_CONCURRENT_DRAINS,
    );
    const reconcileSeconds = validateReconcilePeriod(reconcilePeriod);
    const maxDrainSeconds = validateMaxDrainTime(maxDrainTime, reconcileSeconds, maxConcurrentDrains);
    if (!RESULT_POLICIES.includes(resultPolicy)) {
      throw new Error(`\`resultPolicy\` must be one of ${RESULT_POLICIES.join(', ')}, got "${resultPolicy}"`);
    }
    if (!GROUP_OR_HOOK_NAME.test(hookName)) {
      throw new Error(`\`hookName\` must match ${GROUP_OR_HOOK_NAME.source}, got "${hookName}"`);
    }
    const groupNames = validateGroups(props.groups);
    validatePolicy(props.policy);

    this.maxDrainTime = maxDrainTime;
    this.hookName = hookName;
    this.heartbeatTimeoutSeconds = heartbeatTimeoutSeconds(
      maxDrainSeconds,
      reconcileSeconds,
      maxConcurrentDrains,
    );

    // The terminate hook. DefaultResult is explicit: CDK's LifecycleHook sends nothing when unset and the
    // service default is ABANDON. https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html
    props.groups.forEach((group, index) => {
      const name = groupNames[index] as string;
      const id = typeof group === 'string' ? `Hook-${group}` : `Hook-${Names.nodeUniqueId(group.node)}`;
      this.hooks.push(
        new autoscaling.CfnLifecycleHook(this, id, {
          autoScalingGroupName: name,
          lifecycleHookName: hookName,
          lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
          defaultResult: 'CONTINUE',
          heartbeatTimeout: this.heartbeatTimeoutSeconds,
          notificationMetadata: HOOK_METADATA,
        }),
      );
    });

    // The document. Its name is fixed (the status rule filters on it, the IAM policy names it), so a change
    // of content cannot be a replacement (CloudFormation creates the new document before deleting the old:
    // the name would clash). `NewVersion` updates it in place as a new default version; commands already
    // running keep the version they started with.
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ssm-document.html
    this.documentName = `FleetDrain-${Names.uniqueResourceName(this, { maxLength: 100, separator: '-' })}`;
    const timeoutSeconds = Math.min(
      MAX_DOCUMENT_TIMEOUT_SECONDS,
      maxDrainSeconds + DOCUMENT_TIMEOUT_MARGIN.toSeconds(),
    );
    const content = drainDocumentContent({
      agentBundle: readFileSync(agentBundlePath()),
      policy: props.policy,
      timeoutSeconds,
    });
    const bytes = documentContentBytes(content);
    if (bytes > DOCUMENT_CONTENT_LIMIT_BYTES) {
      throw new Error(
        `The fleet-drain document is ${bytes} bytes, over SSM's ${DOCUMENT_CONTENT_LIMIT_BYTES}: shorten \`policy\``,
      );
    }
    this.document = new ssm.CfnDocument(this, 'Document', {
      name: this.documentName,
      documentType: 'Command',
      documentFormat: 'JSON',
      updateMethod: 'NewVersion',
      content,
    });

    // Events that could not be delivered: the rules' dead-letter queue, the event queues' dead-letter queue
    // and the Lambda's on-failure destination. One queue, one alarm; a message says which (EventBridge adds
    // error attributes, Lambda wraps the event in requestContext, SQS moves the event itself).
    this.failedEventsQueue = new sqs.Queue(this, 'FailedEvents', {
      retentionPeriod: FAILED_EVENTS_RETENTION,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.failedEventsQueue).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the rules, the event queues and the Lambda.',
    });

    // The event queues: lifecycle and status events wait here for the function, whose event source mappings
    // take them a few batches at a time (see EVENT_QUEUE_MAX_CONCURRENCY), so an event storm cannot starve
    // the reconcile tick. The visibility timeout must be at least the function's timeout.
    const eventQueue = (id: string) =>
      new sqs.Queue(this, id, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        visibilityTimeout: Duration.seconds(FUNCTION_TIMEOUT.toSeconds() * EVENT_QUEUE_VISIBILITY_FACTOR),
        retentionPeriod: EVENT_QUEUE_RETENTION,
        deadLetterQueue: { queue: this.failedEventsQueue, maxReceiveCount: EVENT_QUEUE_MAX_RECEIVE_COUNT },
      });
    this.lifecycleQueue = eventQueue('LifecycleEvents');
    this.statusQueue = eventQueue('StatusEvents');

    const eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: LOG_RETENTION });

    // The Lambda's role, written out instead of AWSLambdaBasicExecutionRole: logs go to this group only.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'fleet-drainer: heartbeat and complete the terminate hook, run the fleet-drain document',
    });
    logGroup.grantWrite(role);

    this.function = new lambda.Function(this, 'Function', {
      description: 'fleet-drainer: drains instances before their Auto Scaling group terminates them',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      code: lambda.Code.fromAsset(lambdaAssetPath()),
      handler: 'index.handler',
      role,
      logGroup,
      memorySize: 256,
      timeout: FUNCTION_TIMEOUT,
      environment: {
        [ENV_DOCUMENT_NAME]: this.documentName,
        [ENV_GROUP_NAMES]: groupNames.join(','),
        [ENV_HOOK_NAME]: hookName,
        [ENV_MAX_DRAIN_SECONDS]: String(maxDrainSeconds),
        [ENV_HEARTBEAT_TIMEOUT_SECONDS]: String(this.heartbeatTimeoutSeconds),
        [ENV_RESULT_POLICY]: resultPolicy,
        [ENV_EVENT_BUS_NAME]: eventBus.eventBusName,
        [ENV_TICK_PERIOD_SECONDS]: String(reconcileSeconds),
        [ENV_LIFECYCLE_QUEUE_URL]: this.lifecycleQueue.queueUrl,
        [ENV_STATUS_QUEUE_URL]: this.statusQueue.queueUrl,
      },
      retryAttempts: ASYNC_RETRY_ATTEMPTS,
      maxEventAge: ASYNC_MAX_EVENT_AGE,
      onFailure: new destinations.SqsDestination(this.failedEventsQueue),
    });
    this.function.node.addDependency(logGroup);
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions::AwsSolutions-L1',
      reason: 'Node.js 22 is what the prebuilt Lambda bundle targets and is tested with (scripts/build.mjs).',
    });

    const drainerPolicy = this.grantDrainerPermissions(role, groupNames, eventBus);

    // The function consumes both event queues. The sources grant it what consuming takes (ReceiveMessage,
    // DeleteMessage, ChangeMessageVisibility, GetQueueAttributes, GetQueueUrl): the tick's GetQueueAttributes
    // is among them. A record that fails is reported alone (ReportBatchItemFailures), not the whole batch.
    for (const [queue, maxConcurrency] of [
      [this.lifecycleQueue, EVENT_QUEUE_MAX_CONCURRENCY],
      [this.statusQueue, STATUS_QUEUE_MAX_CONCURRENCY],
    ] as const) {
      this.function.addEventSource(
        new eventSources.SqsEventSource(queue, {
          batchSize: EVENT_QUEUE_BATCH_SIZE,
          maxConcurrency,
          reportBatchItemFailures: true,
        }),
      );
    }
    const mappings = this.function.node.children.filter(
      (child) => child instanceof lambda.EventSourceMapping,
    );

    // Rules. Lifecycle and SSM events only ever arrive on the default bus, whatever `eventBus` is. They go
    // to the event queues; the schedule invokes the function directly, so a tick never waits behind events.
    const queueTarget = (queue: sqs.IQueue) =>
      new targets.SqsQueue(queue, {
        deadLetterQueue: this.failedEventsQueue,
        retryAttempts: RULE_RETRY_ATTEMPTS,
        maxEventAge: RULE_MAX_EVENT_AGE,
      });
    const target = new targets.LambdaFunction(this.function, {
      deadLetterQueue: this.failedEventsQueue,
      retryAttempts: RULE_RETRY_ATTEMPTS,
      maxEventAge: RULE_MAX_EVENT_AGE,
    });
    const lifecycleRule = new events.Rule(this, 'LifecycleRule', {
      description: 'fleet-drainer: terminate lifecycle actions of the drained groups',
      eventPattern: {
        source: ['aws.autoscaling'],
        detailType: [LIFECYCLE_DETAIL_TYPE],
        detail: { AutoScalingGroupName: groupNames, LifecycleHookName: [hookName] },
      },
      targets: [queueTarget(this.lifecycleQueue)],
    });
    const statusRule = new events.Rule(this, 'CommandStatusRule', {
      description: 'fleet-drainer: fleet-drain commands that ended',
      eventPattern: {
        source: ['aws.ssm'],
        detailType: [COMMAND_STATUS_DETAIL_TYPE],
        detail: { 'document-name': [this.documentName], status: TERMINAL_COMMAND_STATUSES },
      },
      targets: [queueTarget(this.statusQueue)],
    });
    const schedule = new events.Rule(this, 'ReconcileSchedule', {
      description: 'fleet-drainer: reconcile tick (heartbeats, lost events, adoption)',
      schedule: events.Schedule.rate(reconcilePeriod),
      targets: [target],
    });

    // A hook holds instances only once everything that releases them exists (and on deletion it goes
    // first): otherwise a scale-in in between would wait the whole HeartbeatTimeout for nothing.
    for (const hook of this.hooks) {
      hook.node.addDependency(
        this.function,
        drainerPolicy,
        this.lifecycleQueue,
        this.statusQueue,
        ...mappings,
        lifecycleRule,
        statusRule,
        schedule,
      );
    }

    const monitoring = new DrainerMonitoring(this, 'Monitoring', {
      function: this.function,
      failedEventsQueue: this.failedEventsQueue,
      eventQueues: { lifecycle: this.lifecycleQueue, status: this.statusQueue },
      maxDrainTime,
      alarms: props.alarms ?? DEFAULT_ALARMS,
    });
    this.alarms = monitoring.alarms;
    this.dashboard = monitoring.dashboard;
  }

  /** Least privilege for the drainer Lambda (DESIGN §5); instances get nothing. */
  private grantDrainerPermissions(
    role: iam.IRole,
    groupNames: string[],
    eventBus: events.IEventBus,
  ): iam.Policy {
    const stack = Stack.of(this);
    const groupArns = groupNames.map((name) =>
      stack.formatArn({
        service: 'autoscaling',
        resource: 'autoScalingGroup',
        // The group's id (a UUID) is not known for groups given by name: match any id, this name only.
        resourceName: `*:autoScalingGroupName/${name}`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    const documentArn = stack.formatArn({
      service: 'ssm',
      resource: 'document',
      resourceName: this.documentName,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    const instanceArns = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' });
    const statements = [
      // Keep the hook's action alive and end it: the configured groups only.
      new iam.PolicyStatement({
        sid: 'LifecycleActionsOfTheDrainedGroups',
        actions: ['autoscaling:RecordLifecycleActionHeartbeat', 'autoscaling:CompleteLifecycleAction'],
        resources: groupArns,
      }),
      // SendCommand is authorized on the document and on each instance: the fleet-drain document only …
      new iam.PolicyStatement({
        sid: 'RunTheFleetDrainDocumentOnly',
        actions: ['ssm:SendCommand'],
        resources: [documentArn],
      }),
      // … on instances that a drained group launched (Auto Scaling tags them aws:autoscaling:groupName).
      // https://docs.aws.amazon.com/systems-manager/latest/userguide/run-command-setting-up.html
      new iam.PolicyStatement({
        sid: 'OnInstancesOfTheDrainedGroupsOnly',
        actions: ['ssm:SendCommand'],
        resources: [instanceArns],
        conditions: { StringEquals: { 'ssm:resourceTag/aws:autoscaling:groupName': groupNames } },
      }),
      // These calls support no resource-level permissions, so `*` is the only resource they take:
      // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
      // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2autoscaling.html
      // ListCommands/GetCommandInvocation read the document's command history; CancelCommand stops a drain
      // whose lifecycle action is gone; DescribeInstanceInformation tells an offline SSM Agent apart; the
      // Auto Scaling describes read lifecycle states (DescribeWarmPool: of warm-pool instances).
      new iam.PolicyStatement({
        sid: 'ReadCommandsAndLifecycleStates',
        actions: [
          'ssm:ListCommands',
          'ssm:GetCommandInvocation',
          'ssm:CancelCommand',
          'ssm:DescribeInstanceInformation',
          'autoscaling:DescribeAutoScalingGroups',
          'autoscaling:DescribeAutoScalingInstances',
          'autoscaling:DescribeWarmPool',
        ],
        resources: ['*'],
      }),
      // `Fleet Drain Started` / `Finished`: this bus only.
      new iam.PolicyStatement({
        sid: 'EmitDrainEvents',
        actions: ['events:PutEvents'],
        resources: [eventBus.eventBusArn],
      }),
    ];
    const policy = new iam.Policy(this, 'DrainerPolicy', { statements });
    policy.attachToRole(role);
    acknowledgeWildcards(policy, [
      ...groupArns.map((resource) => ({
        resource,
        reason: 'The group id inside the ARN is unknown for groups given by name; the name is fixed.',
      })),
      {
        resource: instanceArns,
        reason:
          "Any instance, but only under the condition that it carries a drained group's aws:autoscaling:groupName tag.",
      },
      {
        resource: '*',
        reason:
          'ListCommands, GetCommandInvocation, CancelCommand, DescribeInstanceInformation and the Auto Scaling describes take no resource.',
      },
    ]);
    return policy;
  }
}

function validateMaxConcurrentDrains(drains: number): number {
  if (!Number.isSafeInteger(drains) || drains < 1 || drains > MAX_CONCURRENT_DRAINS) {
    throw new Error(
      `\`maxConcurrentDrains\` must be a whole number from 1 to ${MAX_CONCURRENT_DRAINS}, got ${drains}: the hook's ` +
        `HeartbeatTimeout (at most ${HEARTBEAT_TIMEOUT_MAX_SECONDS} s) must give every drain its first Auto Scaling ` +
        `call within a third of it at ${PLANNED_AUTO_SCALING_CALLS_PER_SECOND} calls/s ` +
        `(H ≥ ${HEARTBEAT_TIMEOUT_HEADROOM} × drains / ${PLANNED_AUTO_SCALING_CALLS_PER_SECOND} s)`,
    );
  }
  return drains;
}

function validateMaxDrainTime(
  maxDrainTime: Duration,
  reconcileSeconds: number,
  maxConcurrentDrains: number,
): number {
  const seconds = maxDrainTime.toSeconds({ integral: false });
  const limit = Duration.seconds(maxDrainSecondsFor(reconcileSeconds, maxConcurrentDrains));
  if (seconds > limit.toSeconds()) {
    throw new Error(
      `\`maxDrainTime\` must be at most ${describeGiven(limit)}, got ${describeGiven(maxDrainTime)}: a lifecycle ` +
        `action never waits more than ${describe(MAX_DRAIN_TIME)}, and it must also cover the command's delivery, ` +
        `the drainer's grace and adoption delay (${LIFECYCLE_OVERHEAD_SECONDS} s) and one heartbeat timeout. ` +
        'To keep an instance longer, give the group an instance lifecycle policy that retains it ' +
        '(TerminateHookAbandon: retain) and use resultPolicy ABANDON_ON_FAILURE: ' +
        'https://docs.aws.amazon.com/autoscaling/ec2/userguide/configure-instance-retention.html',
    );
  }
  if (seconds < MIN_DRAIN_TIME.toSeconds() || !Number.isInteger(seconds)) {
    throw new Error(
      `\`maxDrainTime\` must be whole seconds from ${describe(MIN_DRAIN_TIME)} to ${describe(limit)}, ` +
        `got ${describeGiven(maxDrainTime)}`,
    );
  }
  return seconds;
}

function validateReconcilePeriod(period: Duration): number {
  const seconds = period.toSeconds();
  if (
    seconds < MIN_RECONCILE_PERIOD.toSeconds() ||
    seconds > MAX_RECONCILE_PERIOD.toSeconds() ||
    seconds % 60 !== 0
  ) {
    throw new Error(
      `\`reconcilePeriod\` must be whole minutes from ${describe(MIN_RECONCILE_PERIOD)} to ` +
        `${describe(MAX_RECONCILE_PERIOD)}, got ${describeGiven(period)}`,
    );
  }
  return seconds;
}

function validateGroups(groups: FleetDrainerProps['groups']): string[] {
  if (!Array.isArray(groups) || groups.length === 0) {
    throw new Error('`groups` must name at least one Auto Scaling group (a construct or a name), got none');
  }
  const names = groups.map((group) => (typeof group === 'string' ? group : group.autoScalingGroupName));
  for (const name of names) {
    if (!Token.isUnresolved(name) && !GROUP_OR_HOOK_NAME.test(name)) {
      throw new Error(
        `\`groups\` has an invalid Auto Scaling group name "${name}" (must match ${GROUP_OR_HOOK_NAME.source})`,
      );
    }
  }
  const duplicate = names.find((name, index) => !Token.isUnresolved(name) && names.indexOf(name) !== index);
  if (duplicate !== undefined) throw new Error(`\`groups\` names "${duplicate}" twice`);
  return names;
}

function validatePolicy(policy: DrainPolicy): void {
  try {
    resolvePolicy(policy);
  } catch (error) {
    if (error instanceof PolicyError) {
      throw new Error(
        `\`policy\` is not a valid drain policy:\n${error.issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
      );
    }
    throw error;
  }
}

/**
 * Acknowledges, with its reason, each wildcard resource that cdk-nag's AwsSolutions-IAM5 reports on the
 * drainer's policy. cdk-nag names a finding by the resource flattened as it flattens CloudFormation
 * references (`<Logical.Attr>`), so each ARN is resolved and flattened the same way.
 */
function acknowledgeWildcards(policy: iam.Policy, wildcards: { resource: string; reason: string }[]): void {
  const stack = Stack.of(policy);
  for (const { resource, reason } of wildcards) {
    Validations.of(policy).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::${flattenReference(stack.resolve(resource))}]`,
      reason,
    });
  }
}

/** A resolved CloudFormation value as one string, the way cdk-nag names findings. */
function flattenReference(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  const value = node as Record<string, unknown>;
  if (Array.isArray(value['Fn::Join'])) {
    const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
    return items.map(flattenReference).join(delimiter);
  }
  if (value['Fn::Sub'] !== undefined) return flattenReference(value['Fn::Sub']);
  if (Array.isArray(value['Fn::GetAtt'])) {
    const [resource, attribute] = value['Fn::GetAtt'] as unknown[];
    return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
  }
  if (value['Fn::ImportValue'] !== undefined) return flattenReference(value['Fn::ImportValue']);
  if (value.Ref !== undefined) return `<${flattenReference(value.Ref)}>`;
  return JSON.stringify(node);
}
