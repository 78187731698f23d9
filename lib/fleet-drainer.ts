// FleetDrainer: the terminate hook on each group, the fleet-drain SSM document, the drainer Lambda with its
// rules, event queues and schedule, least-privilege IAM, alarms and a dashboard.

import { readFileSync } from 'node:fs';
import {
  ArnFormat,
  aws_autoscaling as autoscaling,
  CfnOutput,
  CfnResource,
  type aws_cloudwatch as cloudwatch,
  Duration,
  aws_lambda_destinations as destinations,
  aws_lambda_event_sources as eventSources,
  aws_events as events,
  aws_iam as iam,
  Lazy,
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
import { DRAIN_PARAMETERS } from '../agent/policy/drain-parameters';
import { type DrainPolicy, PolicyError, resolvePolicy } from '../agent/policy/policy';
import {
  OPERATOR_CONFIG_VERSION,
  OPERATOR_OUTPUT_DESCRIPTION,
  type OperatorConfig,
} from '../common/operator-config';
import {
  DEFAULT_ADOPTION_DELAY_SECONDS,
  DEFAULT_EXPIRY_GRACE_SECONDS,
  ENV_ADOPTION_DELAY_SECONDS,
  ENV_DOCUMENT_NAME,
  ENV_EVENT_BUS_NAME,
  ENV_EXPIRY_GRACE_SECONDS,
  ENV_GROUP_NAMES,
  ENV_HEARTBEAT_TIMEOUT_SECONDS,
  ENV_HOOK_NAME,
  ENV_LIFECYCLE_QUEUE_URL,
  ENV_MAX_DRAIN_SECONDS,
  ENV_REBALANCE_ACTION,
  ENV_RESULT_POLICY,
  ENV_STATUS_QUEUE_URL,
  ENV_TICK_PERIOD_SECONDS,
  type ResultPolicy,
} from '../lambda/config';
import { REBALANCE_DETAIL_TYPE, SPOT_INTERRUPTION_DETAIL_TYPE } from '../lambda/decide/classify-event';
import { TERMINAL_COMMAND_STATUSES } from '../lambda/decide/command-status';
import { SERVICE_NAME, SERVICE_NAME_ENV } from '../lambda/telemetry-names';
import { agentBundlePath, lambdaAssetPath } from './assets';
import {
  ASYNC_MAX_EVENT_AGE,
  ASYNC_RETRY_ATTEMPTS,
  DEFAULT_ALARMS,
  DEFAULT_HOOK_NAME_PREFIX,
  DEFAULT_MAX_CONCURRENT_DRAINS,
  DEFAULT_MAX_DRAIN_TIME,
  DEFAULT_REBALANCE_ACTION,
  DEFAULT_RECONCILE_PERIOD,
  DEFAULT_RESULT_POLICY,
  DOCUMENT_TIMEOUT_MARGIN,
  EVENT_QUEUE_BATCH_SIZE,
  EVENT_QUEUE_MAX_CONCURRENCY,
  EVENT_QUEUE_MAX_RECEIVE_COUNT,
  EVENT_QUEUE_RETENTION,
  EVENT_QUEUE_VISIBILITY_FACTOR,
  FAILED_EVENTS_RETENTION,
  FUNCTION_MEMORY_MB,
  FUNCTION_TIMEOUT,
  HEARTBEAT_TIMEOUT_HEADROOM,
  HEARTBEAT_TIMEOUT_MAX_SECONDS,
  HOOK_METADATA,
  HOOK_NAME_MAX_CHARS,
  LIFECYCLE_QUEUE_BATCH_SIZE,
  LIFECYCLE_QUEUE_BATCHING_WINDOW_SECONDS,
  LOG_RETENTION,
  MAX_CONCURRENT_DRAINS,
  MAX_DOCUMENT_TIMEOUT_SECONDS,
  MAX_DRAIN_TIME,
  MAX_RECONCILE_PERIOD,
  MIN_DRAIN_TIME,
  MIN_RECONCILE_PERIOD,
  PLANNED_AUTO_SCALING_CALLS_PER_SECOND,
  REBALANCE_ACTIONS,
  type RebalanceAction,
  RULE_MAX_EVENT_AGE,
  RULE_RETRY_ATTEMPTS,
  STATUS_QUEUE_MAX_CONCURRENCY,
  UNIQUE_NAME_MAX_CHARS,
} from './defaults';
import {
  EVENT_PATTERN_LIMIT_CHARS,
  GROUP_NAME_MAX_CHARS,
  LAMBDA_ENVIRONMENT_LIMIT_BYTES,
  MANAGED_POLICIES_PER_ROLE,
  MANAGED_POLICY_LIMIT_CHARS,
  maxJsonChars,
  mostThatFit,
  outputQuotaErrors,
  type ResourceTypeOf,
  ROLE_INLINE_POLICIES_LIMIT_CHARS,
} from './deploy-quotas';
import {
  DOCUMENT_CONTENT_LIMIT_BYTES,
  documentContentBytes,
  drainDocumentContent,
  type GroupPolicy,
  RUNTIME_PARAMETERS_MAX_BYTES,
} from './drain-document';
import { DrainerMonitoring } from './drainer-monitoring';
import {
  heartbeatTimeoutSeconds,
  LIFECYCLE_OVERHEAD_SECONDS,
  maxDrainSeconds as maxDrainSecondsFor,
} from './heartbeat-timeout';
import {
  OPERATOR_COMMANDS,
  type OperatorCommand,
  type OperatorResources,
  operatorStatements,
} from './operator-access';

/** The detail-type of Auto Scaling's terminate lifecycle event. */
export const LIFECYCLE_DETAIL_TYPE = 'EC2 Instance-terminate Lifecycle Action';
/** The detail-type of SSM's per-instance command status event. */
export const COMMAND_STATUS_DETAIL_TYPE = 'EC2 Command Invocation Status-change Notification';
/** Invocation statuses after which SSM changes nothing: the only status events the Lambda acts on. */
/** EC2's Spot notices the drainer's rule routes to the lifecycle queue (lambda/decide/classify-event.ts). */
export {
  REBALANCE_DETAIL_TYPE as REBALANCE_RECOMMENDATION_DETAIL_TYPE,
  SPOT_INTERRUPTION_DETAIL_TYPE,
  TERMINAL_COMMAND_STATUSES,
};

const RESULT_POLICIES: readonly ResultPolicy[] = ['CONTINUE', 'ABANDON_ON_FAILURE'];
const GROUP_NAME = new RegExp(DRAIN_PARAMETERS.autoScalingGroupName.pattern);
/**
 * A hook name both Auto Scaling ([A-Za-z0-9\-_\/]+, 1–255) and the document's lifecycleHookName parameter
 * accept. https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutLifecycleHook.html
 */
const HOOK_NAME = new RegExp(`^[A-Za-z0-9][A-Za-z0-9_-]{0,${HOOK_NAME_MAX_CHARS - 1}}$`);

/** A group that drains with a policy of its own instead of the drainer's `policy`. */
export interface FleetDrainerGroup {
  /** The group construct, or the name of an existing group. */
  readonly group: autoscaling.IAutoScalingGroup | string;
  /** Its drain policy, validated at synth like `policy`. */
  readonly policy: DrainPolicy;
}

export interface FleetDrainerProps {
  /**
   * The Auto Scaling groups to drain: group constructs, names of existing groups, or either with a policy of
   * its own (`{ group, policy }`). Each gets the terminate lifecycle hook. A group may be drained by one
   * FleetDrainer only: a group given twice, here or to another FleetDrainer of the app, fails synth.
   */
  readonly groups: ReadonlyArray<autoscaling.IAutoScalingGroup | string | FleetDrainerGroup>;
  /**
   * The drain policy (what to stop, how) of every group given without one, validated at synth with the
   * agent's own schema.
   */
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
   * The terminate hook's name on every group; letters, digits, `-` and `_`, at most 255. Unique per drainer
   * by default, so that two drainers (other stacks, other apps) never share a hook. The lifecycle rule
   * matches events on it. A drainer deployed when the default was `fleet-drainer` keeps its hook (and the
   * drains running on it through a deploy) with `hookName: 'fleet-drainer'`.
   * @default - `fleet-drainer-` and the drainer's unique name in the app (DEFAULT_HOOK_NAME_PREFIX)
   */
  readonly hookName?: string;
  /**
   * The most instances that may be draining at the same time across the groups (a scale-in of the whole
   * fleet counts every instance). Sizes the hook's HeartbeatTimeout for the Auto Scaling API budget: H is at
   * least 3 × this / 10 seconds (10,000 drains: 3,000 s); a whole number from 1 to 24,000.
   * @default 1000 (DEFAULT_MAX_CONCURRENT_DRAINS)
   */
  readonly maxConcurrentDrains?: number;
  /**
   * What an EC2 instance rebalance recommendation for an instance of the groups starts: `ignore` nothing;
   * `prepare` the policy's `prepare` steps only (stop taking new work); `drain` a full drain with
   * `maxDrainTime`. Spot interruption warnings are always drained. See "Triggers" in lib/README.md.
   * @default 'ignore' (DEFAULT_REBALANCE_ACTION)
   */
  readonly onRebalanceRecommendation?: RebalanceAction;
}

/** Each drainer's group constructs, for the check that no other drainer of the app drains them. */
const GROUP_CONSTRUCTS = new WeakMap<FleetDrainer, readonly autoscaling.IAutoScalingGroup[]>();

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
  /**
   * The `service` dimension of the drainer's metrics (Powertools' service name), unique per drainer so that
   * its alarms and dashboard see its own drains only.
   */
  readonly serviceName: string;
  readonly maxDrainTime: Duration;
  readonly onRebalanceRecommendation: RebalanceAction;
  /**
   * Sends the EC2 Spot interruption warnings (and the rebalance recommendations, unless
   * `onRebalanceRecommendation` is `ignore`) to `lifecycleQueue`.
   */
  readonly spotRule: events.Rule;
  /** The names of the drained groups (tokens for groups that CloudFormation names). */
  readonly groupNames: readonly string[];

  /**
   * The stack output the `fleet-drainer` operator commands read: Description OPERATOR_OUTPUT_DESCRIPTION,
   * value the drainer as JSON (common/operator-config.ts). See "Operators" in lib/README.md.
   */
  readonly operatorOutput: CfnOutput;

  /** The alarms (empty when `alarms` is false). Add actions to them. */
  readonly alarms: cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: FleetDrainerProps) {
    super(scope, id);
    // Defaults and validation first: a bad prop fails here, naming the prop, the value and the range.
    const maxDrainTime = props.maxDrainTime ?? DEFAULT_MAX_DRAIN_TIME;
    const reconcilePeriod = props.reconcilePeriod ?? DEFAULT_RECONCILE_PERIOD;
    const resultPolicy = props.resultPolicy ?? DEFAULT_RESULT_POLICY;
    const onRebalance = props.onRebalanceRecommendation ?? DEFAULT_REBALANCE_ACTION;
    // One unique name, for everything that must differ between two drainers (the document, the hook, the
    // metrics' service dimension).
    const uniqueName = Names.uniqueResourceName(this, { maxLength: UNIQUE_NAME_MAX_CHARS, separator: '-' });
    const hookName = props.hookName ?? `${DEFAULT_HOOK_NAME_PREFIX}-${uniqueName}`;
    const maxConcurrentDrains = validateMaxConcurrentDrains(
      props.maxConcurrentDrains ?? DEFAULT_MAX_CONCURRENT_DRAINS,
    );
    const reconcileSeconds = validateReconcilePeriod(reconcilePeriod);
    const maxDrainSeconds = validateMaxDrainTime(maxDrainTime, reconcileSeconds, maxConcurrentDrains);
    if (!RESULT_POLICIES.includes(resultPolicy)) {
      throw new Error(`\`resultPolicy\` must be one of ${RESULT_POLICIES.join(', ')}, got "${resultPolicy}"`);
    }
    if (!(REBALANCE_ACTIONS as readonly string[]).includes(onRebalance)) {
      throw new Error(
        `\`onRebalanceRecommendation\` must be one of ${REBALANCE_ACTIONS.join(', ')}, got "${onRebalance}"`,
      );
    }
    if (!HOOK_NAME.test(hookName)) {
      throw new Error(
        `\`hookName\` must be 1 to ${HOOK_NAME_MAX_CHARS} letters, digits, \`-\` or \`_\`, starting with a letter or digit, got "${hookName}"`,
      );
    }
    const groups = validateGroups(props.groups);
    const groupNames = groups.map((group) => group.name);
    validatePolicy(props.policy, '`policy`');
    groups.forEach((group, index) => {
      if (group.policy !== undefined) validatePolicy(group.policy, `\`groups[${index}].policy\``);
    });
    this.groupNames = groupNames;
    GROUP_CONSTRUCTS.set(
      this,
      groups.flatMap((group) => (group.construct === undefined ? [] : [group.construct])),
    );
    refuseGroupsOfOtherDrainers(this);

    this.maxDrainTime = maxDrainTime;
    this.onRebalanceRecommendation = onRebalance;
    this.hookName = hookName;
    this.serviceName = `${SERVICE_NAME}-${uniqueName}`;
    this.heartbeatTimeoutSeconds = heartbeatTimeoutSeconds(
      maxDrainSeconds,
      reconcileSeconds,
      maxConcurrentDrains,
    );

    // The terminate hook. DefaultResult is explicit: CDK's LifecycleHook sends nothing when unset and the
    // service default is ABANDON. https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html
    for (const [index, { name, construct }] of groups.entries()) {
      // A construct id takes no token: a name given as one (an import) is known by its place instead.
      const id =
        construct !== undefined
          ? `Hook-${Names.nodeUniqueId(construct.node)}`
          : Token.isUnresolved(name)
            ? `Hook-${index}`
            : `Hook-${name}`;
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
    }

    // The document. Its name is fixed (the status rule filters on it, the IAM policy names it), so a change
    // of content cannot be a replacement (CloudFormation creates the new document before deleting the old:
    // the name would clash). `NewVersion` updates it in place as a new default version; commands already
    // running keep the version they started with.
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ssm-document.html
    this.documentName = `FleetDrain-${uniqueName}`;
    const timeoutSeconds = Math.min(
      MAX_DOCUMENT_TIMEOUT_SECONDS,
      maxDrainSeconds + DOCUMENT_TIMEOUT_MARGIN.toSeconds(),
    );
    const agentBundle = readFileSync(agentBundlePath());
    const groupPolicies = (names: readonly string[]): GroupPolicy[] =>
      groups.flatMap(({ policy }, index) =>
        policy === undefined ? [] : [{ groupName: names[index] as string, policy }],
      );
    const content = drainDocumentContent({
      agentBundle,
      policy: props.policy,
      groupPolicies: groupPolicies(groupNames),
      timeoutSeconds,
    });
    // Measured with every name CloudFormation gives a group at its longest, and the largest runtime parameters.
    const bytes =
      RUNTIME_PARAMETERS_MAX_BYTES +
      documentContentBytes(
        drainDocumentContent({
          agentBundle,
          policy: props.policy,
          groupPolicies: groupPolicies(longestNames(groupNames)),
          timeoutSeconds,
        }),
      );
    if (bytes > DOCUMENT_CONTENT_LIMIT_BYTES) {
      throw new Error(
        `The fleet-drain document would be up to ${bytes} bytes, over SSM's ${DOCUMENT_CONTENT_LIMIT_BYTES}: ` +
          "shorten `policy` and the groups' own policies, or split the groups over several FleetDrainers",
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
      memorySize: FUNCTION_MEMORY_MB,
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
        [ENV_REBALANCE_ACTION]: onRebalance,
        [SERVICE_NAME_ENV]: this.serviceName,
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

    const drainerPolicies = this.grantDrainerPermissions(role, groupNames, eventBus);

    // The function consumes both event queues. The sources grant it what consuming takes (ReceiveMessage,
    // DeleteMessage, ChangeMessageVisibility, GetQueueAttributes, GetQueueUrl): the tick's GetQueueAttributes
    // is among them. A record that fails is reported alone (ReportBatchItemFailures), not the whole batch.
    // Lifecycle events come in large batches, gathered for a second, so that a scale-in's starts share
    // SendCommands (50 instances each); status events in small ones, completed one at a time.
    for (const [queue, maxConcurrency, batchSize, window] of [
      [
        this.lifecycleQueue,
        EVENT_QUEUE_MAX_CONCURRENCY,
        LIFECYCLE_QUEUE_BATCH_SIZE,
        LIFECYCLE_QUEUE_BATCHING_WINDOW_SECONDS,
      ],
      [this.statusQueue, STATUS_QUEUE_MAX_CONCURRENCY, EVENT_QUEUE_BATCH_SIZE, 0],
    ] as const) {
      this.function.addEventSource(
        new eventSources.SqsEventSource(queue, {
          batchSize,
          maxConcurrency,
          reportBatchItemFailures: true,
          ...(window > 0 ? { maxBatchingWindow: Duration.seconds(window) } : {}),
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
    // Lifecycle events match on the hook's name alone, which is this drainer's: a pattern that listed every
    // group would outgrow EventBridge's 2,048 characters at a few dozen groups. The Lambda still ignores an
    // event of a group it does not drain.
    const lifecycleRule = new events.Rule(this, 'LifecycleRule', {
      description: 'fleet-drainer: terminate lifecycle actions of the drained groups',
      eventPattern: {
        source: ['aws.autoscaling'],
        detailType: [LIFECYCLE_DETAIL_TYPE],
        detail: { LifecycleHookName: [hookName] },
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
    // EC2's Spot events name the instance only: the rule takes them all and the Lambda drops an instance of a
    // group it does not drain. They share the lifecycle queue, so a storm of both waits in one line.
    this.spotRule = new events.Rule(this, 'SpotRule', {
      description: 'fleet-drainer: Spot interruption warnings and rebalance recommendations',
      eventPattern: {
        source: ['aws.ec2'],
        detailType: [
          SPOT_INTERRUPTION_DETAIL_TYPE,
          ...(onRebalance === 'ignore' ? [] : [REBALANCE_DETAIL_TYPE]),
        ],
      },
      targets: [queueTarget(this.lifecycleQueue)],
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
        drainerPolicies.inline,
        ...drainerPolicies.managed,
        this.lifecycleQueue,
        this.statusQueue,
        ...mappings,
        lifecycleRule,
        statusRule,
        this.spotRule,
        schedule,
      );
    }

    const monitoring = new DrainerMonitoring(this, 'Monitoring', {
      function: this.function,
      failedEventsQueue: this.failedEventsQueue,
      eventQueues: { lifecycle: this.lifecycleQueue, status: this.statusQueue },
      maxDrainTime,
      alarms: props.alarms ?? DEFAULT_ALARMS,
      serviceName: this.serviceName,
    });

    // What the operator commands read. Written at synth, once the function's environment is complete: its
    // timing is what the commands compute heartbeats and timeouts with.
    this.operatorOutput = new CfnOutput(this, 'OperatorConfig', {
      description: OPERATOR_OUTPUT_DESCRIPTION,
      value: Lazy.string({ produce: () => Stack.of(this).toJsonString(this.operatorConfig()) }),
    });

    // Checked at synth, once everything has been added to the role and the function.
    this.node.addValidation({
      validate: () => [
        ...this.checkDeployQuotas(role, drainerPolicies.managed.length, [
          lifecycleRule,
          statusRule,
          this.spotRule,
        ]),
        // The stack's outputs, checked once: by its first drainer.
        ...(isFirstDrainerOf(this) ? outputQuotaErrors(Stack.of(this)) : []),
      ],
    });
    this.alarms = monitoring.alarms;
    this.dashboard = monitoring.dashboard;
  }

  /**
   * Grants what the `fleet-drainer` operator commands call, and nothing else: `status` and `report` read
   * the stack, the groups and the document's commands; `plan` also sends the fleet-drain document, to the
   * drained groups' instances only. The same statements, as JSON, are in lib/README.md ("Operators").
   * Sending the document lets its holder run any of its actions, a drain too: grant `plan` to those who may
   * drain an instance of these groups.
   */
  grantOperator(
    grantee: iam.IGrantable,
    commands: readonly OperatorCommand[] = OPERATOR_COMMANDS,
  ): iam.Grant {
    const unknown = commands.filter((command) => !OPERATOR_COMMANDS.includes(command));
    if (unknown.length > 0 || commands.length === 0) {
      throw new Error(
        `grantOperator: commands must be some of ${OPERATOR_COMMANDS.join(', ')}, got ${JSON.stringify(commands)}`,
      );
    }
    const [first, ...rest] = operatorStatements(commands, this.operatorResources()).map((statement) =>
      iam.Grant.addToPrincipal({
        grantee,
        actions: statement.Action,
        resourceArns: [statement.Resource],
        ...(statement.Condition ? { conditions: statement.Condition } : {}),
      }),
    );
    return rest.reduce((grant, next) => grant.combine(next), first as iam.Grant);
  }

  /** The ARNs grantOperator names. */
  private operatorResources(): OperatorResources {
    const stack = Stack.of(this);
    return {
      stackArn: stack.formatArn({
        service: 'cloudformation',
        resource: 'stack',
        resourceName: `${stack.stackName}/*`,
      }),
      documentArn: stack.formatArn({
        service: 'ssm',
        resource: 'document',
        resourceName: this.documentName,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      }),
      instanceArn: stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' }),
      groupNames: this.groupNames,
    };
  }

  /**
   * The operator output's value: the drainer (common/operator-config.ts) and the timing its Lambda runs
   * with, read from the function's environment as it will be deployed.
   */
  private operatorConfig(): OperatorConfig & { timing: Record<string, number> } {
    const cfnFunction = this.function.node.defaultChild as lambda.CfnFunction;
    const environment = Stack.of(this).resolve(cfnFunction.environment) as
      | { variables?: Record<string, unknown>; Variables?: Record<string, unknown> }
      | undefined;
    const variables = environment?.variables ?? environment?.Variables ?? {};
    const seconds = (name: string, fallback: number) => {
      const value = Number(variables[name]);
      return Number.isFinite(value) ? value : fallback;
    };
    return {
      v: OPERATOR_CONFIG_VERSION,
      document: this.documentName,
      hook: this.hookName,
      groups: [...this.groupNames],
      timing: {
        maxDrainSeconds: seconds(ENV_MAX_DRAIN_SECONDS, this.maxDrainTime.toSeconds()),
        heartbeatTimeoutSeconds: seconds(ENV_HEARTBEAT_TIMEOUT_SECONDS, this.heartbeatTimeoutSeconds),
        tickPeriodSeconds: seconds(ENV_TICK_PERIOD_SECONDS, DEFAULT_RECONCILE_PERIOD.toSeconds()),
        expiryGraceSeconds: seconds(ENV_EXPIRY_GRACE_SECONDS, DEFAULT_EXPIRY_GRACE_SECONDS),
        adoptionDelaySeconds: seconds(ENV_ADOPTION_DELAY_SECONDS, DEFAULT_ADOPTION_DELAY_SECONDS),
      },
    };
  }

  /**
   * Least privilege for the drainer Lambda; instances get nothing. What names every group (its
   * ARN, the instance tag condition) goes into customer-managed policies of at most 6,144 characters each,
   * as many as the groups need: inline, it would outgrow the role's 10,240 characters of inline policies at
   * a few dozen groups. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
   */
  private grantDrainerPermissions(
    role: iam.IRole,
    groupNames: readonly string[],
    eventBus: events.IEventBus,
  ): { inline: iam.Policy; managed: iam.ManagedPolicy[] } {
    const inline = new iam.Policy(this, 'DrainerPolicy', { statements: this.commonStatements(eventBus) });
    inline.attachToRole(role);
    acknowledgeWildcards(inline, [
      {
        resource: '*',
        reason:
          'ListCommands, GetCommandInvocation, CancelCommand, DescribeInstanceInformation and the Auto Scaling describes take no resource.',
      },
    ]);
    const managed = chunkGroups(groupNames, (chunk) => this.groupPolicyChars(chunk)).map((chunk, index) => {
      const { statements, groupArns, instanceArns } = this.groupStatements(chunk);
      const policy = new iam.ManagedPolicy(this, index === 0 ? 'GroupsPolicy' : `GroupsPolicy${index + 1}`, {
        description: 'fleet-drainer: the lifecycle actions and instances of the drained groups',
        statements,
      });
      role.addManagedPolicy(policy);
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
      ]);
      return policy;
    });
    return { inline, managed };
  }

  /** The longest the managed policy of these groups can be once deployed. */
  private groupPolicyChars(groupNames: readonly string[]): number {
    const stack = Stack.of(this);
    const document = new iam.PolicyDocument({
      statements: this.groupStatements(longestNames(groupNames)).statements,
    });
    return maxJsonChars(stack.resolve(document), () => undefined);
  }

  /** What names the groups: their lifecycle actions, and SendCommand on their instances. */
  private groupStatements(groupNames: readonly string[]) {
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
    const instanceArns = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' });
    const statements = [
      // Keep the hook's action alive and end it: the configured groups only.
      new iam.PolicyStatement({
        sid: 'LifecycleActionsOfTheDrainedGroups',
        actions: ['autoscaling:RecordLifecycleActionHeartbeat', 'autoscaling:CompleteLifecycleAction'],
        resources: groupArns,
      }),
      // SendCommand is authorized on the document (see RunTheFleetDrainDocumentOnly) and on each instance:
      // on instances that a drained group launched (Auto Scaling tags them aws:autoscaling:groupName).
      // https://docs.aws.amazon.com/systems-manager/latest/userguide/run-command-setting-up.html
      new iam.PolicyStatement({
        sid: 'OnInstancesOfTheDrainedGroupsOnly',
        actions: ['ssm:SendCommand'],
        resources: [instanceArns],
        conditions: { StringEquals: { 'ssm:resourceTag/aws:autoscaling:groupName': [...groupNames] } },
      }),
    ];
    return { statements, groupArns, instanceArns };
  }

  /** What does not name the groups. */
  private commonStatements(eventBus: events.IEventBus): iam.PolicyStatement[] {
    const stack = Stack.of(this);
    const documentArn = stack.formatArn({
      service: 'ssm',
      resource: 'document',
      resourceName: this.documentName,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    return [
      // SendCommand is authorized on the document and on each instance: the fleet-drain document only (the
      // instances: OnInstancesOfTheDrainedGroupsOnly).
      new iam.PolicyStatement({
        sid: 'RunTheFleetDrainDocumentOnly',
        actions: ['ssm:SendCommand'],
        resources: [documentArn],
      }),
      // These calls support no resource-level permissions, so `*` is the only resource they take:
      // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
      // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2autoscaling.html
      // ListCommands/GetCommandInvocation read the document's command history (ListCommandInvocations: the
      // statuses of a batched start's instances); CancelCommand stops a drain
      // whose lifecycle action is gone; DescribeInstanceInformation tells an offline SSM Agent apart; the
      // Auto Scaling describes read lifecycle states (DescribeWarmPool: of warm-pool instances).
      new iam.PolicyStatement({
        sid: 'ReadCommandsAndLifecycleStates',
        actions: [
          'ssm:ListCommands',
          'ssm:ListCommandInvocations',
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
  }

  /**
   * What would fail the deploy, found at synth: the role's inline policies, the function's environment and
   * the rules' event patterns against their quotas, with every value CloudFormation fills in at its longest.
   * Past a quota, the message says how many of these groups fit in one drainer.
   */
  private checkDeployQuotas(role: iam.Role, managedPolicies: number, rules: events.Rule[]): string[] {
    const stack = Stack.of(this);
    const types = new Map<string, string>();
    for (const child of stack.node.findAll()) {
      if (child instanceof CfnResource) types.set(stack.resolve(child.logicalId), child.cfnResourceType);
    }
    const typeOf: ResourceTypeOf = (logicalId) => types.get(logicalId);
    const names = longestNames(this.groupNames);
    const errors: string[] = [];
    /** What must hold of a subset of the groups for one drainer to deploy with it. */
    const groupLimits: ((subset: readonly string[]) => boolean)[] = [];
    const split = '__SPLIT__';

    // IAM: every inline policy of the role (the drainer's common statements, the log group's and the event
    // sources' grants, anything added since), and the managed policies that name the groups.
    const roleId = stack.resolve((role.node.defaultChild as CfnResource).logicalId);
    let inlineChars = 0;
    for (const child of stack.node.findAll()) {
      if (!(child instanceof iam.CfnPolicy)) continue;
      const roles = (stack.resolve(child.roles) ?? []) as unknown[];
      if (!roles.some((ref) => (ref as { Ref?: unknown }).Ref === roleId)) continue;
      inlineChars += maxJsonChars(stack.resolve(child.policyDocument), typeOf);
    }
    if (inlineChars > ROLE_INLINE_POLICIES_LIMIT_CHARS) {
      errors.push(
        `The drainer's role would carry up to ${inlineChars} characters of inline policies, over IAM's ` +
          `${ROLE_INLINE_POLICIES_LIMIT_CHARS} (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): ` +
          'move what was added to the role into a managed policy',
      );
    }
    const cfnRole = role.node.defaultChild as iam.CfnRole;
    const attached = ((stack.resolve(cfnRole.managedPolicyArns) as unknown[] | undefined) ?? []).length;
    const others = attached - managedPolicies;
    if (attached > MANAGED_POLICIES_PER_ROLE) {
      errors.push(
        `The drainer's role would need ${attached} managed policies for ${names.length} groups (each names the ` +
          `groups it covers in at most ${MANAGED_POLICY_LIMIT_CHARS} characters), over IAM's default ` +
          `${MANAGED_POLICIES_PER_ROLE} per role (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): ` +
          split,
      );
    }
    groupLimits.push(
      (subset) =>
        chunkGroups(subset, (chunk) => this.groupPolicyChars(chunk)).length + others <=
        MANAGED_POLICIES_PER_ROLE,
    );

    // Lambda: the environment, with the group list as it will be deployed.
    const cfnFunction = this.function.node.defaultChild as lambda.CfnFunction;
    const environment = stack.resolve(cfnFunction.environment) as
      | { variables?: Record<string, unknown>; Variables?: Record<string, unknown> }
      | undefined;
    const variables = { ...(environment?.variables ?? environment?.Variables ?? {}) };
    const environmentBytes = (subset: readonly string[]) =>
      maxJsonChars({ ...variables, [ENV_GROUP_NAMES]: subset.join(',') }, typeOf);
    const envBytes = environmentBytes(names);
    if (envBytes > LAMBDA_ENVIRONMENT_LIMIT_BYTES) {
      errors.push(
        `The drainer function's environment would be up to ${envBytes} bytes for ${names.length} groups, over ` +
          `Lambda's ${LAMBDA_ENVIRONMENT_LIMIT_BYTES} (it lists every group's name; ` +
          'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): ' +
          split,
      );
    }
    groupLimits.push((subset) => environmentBytes(subset) <= LAMBDA_ENVIRONMENT_LIMIT_BYTES);

    // EventBridge: the patterns do not grow with the groups, but stay checked.
    for (const rule of rules) {
      const pattern = stack.resolve((rule.node.defaultChild as events.CfnRule).eventPattern);
      if (pattern === undefined) continue;
      const chars = maxJsonChars(pattern, typeOf);
      if (chars > EVENT_PATTERN_LIMIT_CHARS) {
        errors.push(
          `The event pattern of ${rule.node.path} would be up to ${chars} characters, over EventBridge's ` +
            `${EVENT_PATTERN_LIMIT_CHARS} (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html)`,
        );
      }
    }
    if (!errors.some((error) => error.includes(split))) return errors;
    // How many of the groups one drainer can take, with every limit that grows with them.
    const fit = mostThatFit(names, (subset) => groupLimits.every((fits) => fits(subset)));
    return errors.map((error) =>
      error.replace(
        split,
        `split the groups over several FleetDrainers (at most ${fit} of these ${names.length} fit in one)`,
      ),
    );
  }
}

/** True for the stack's first FleetDrainer (in construct order). */
function isFirstDrainerOf(drainer: FleetDrainer): boolean {
  const stack = Stack.of(drainer);
  return (
    stack.node.findAll().find((child) => child instanceof FleetDrainer && Stack.of(child) === stack) ===
    drainer
  );
}

/** A group as the construct keeps it. */
interface DrainedGroup {
  name: string;
  construct: autoscaling.IAutoScalingGroup | undefined;
  policy: DrainPolicy | undefined;
}

/**
 * The groups split, in order, into as few chunks as fit one managed policy each (a group alone always gets a
 * chunk: a name is at most 255 characters).
 */
function chunkGroups(
  names: readonly string[],
  policyChars: (chunk: readonly string[]) => number,
): string[][] {
  const chunks: string[][] = [];
  let chunk: string[] = [];
  for (const name of names) {
    if (chunk.length > 0 && policyChars([...chunk, name]) > MANAGED_POLICY_LIMIT_CHARS) {
      chunks.push(chunk);
      chunk = [];
    }
    chunk.push(name);
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** The names as long as they can be deployed: a name CloudFormation gives a group counts at the longest. */
function longestNames(names: readonly string[]): string[] {
  return names.map((name) => (Token.isUnresolved(name) ? 'x'.repeat(GROUP_NAME_MAX_CHARS) : name));
}

/** How a group is named in messages: its name, or its construct's path when CloudFormation names it. */
function describeGroup(group: {
  name: string;
  construct: autoscaling.IAutoScalingGroup | undefined;
}): string {
  return Token.isUnresolved(group.name) && group.construct !== undefined
    ? group.construct.node.path
    : group.name;
}

/**
 * Refuses a group that another FleetDrainer of the app drains: the two would fight over its terminate hook
 * (each stack updates or deletes it) and each would try to drain the other's instances.
 */
function refuseGroupsOfOtherDrainers(drainer: FleetDrainer): void {
  const own = drainer.groupNames.map((name) => ({ name }));
  for (const other of drainer.node.root.node.findAll()) {
    if (!(other instanceof FleetDrainer) || other === drainer || other.groupNames === undefined) continue;
    for (const { name } of own) {
      const construct = GROUP_CONSTRUCTS.get(drainer)?.find((group) => group.autoScalingGroupName === name);
      const shared =
        other.groupNames.includes(name) ||
        (construct !== undefined && (GROUP_CONSTRUCTS.get(other) ?? []).includes(construct));
      if (!shared) continue;
      throw new Error(
        `\`groups\`: the Auto Scaling group "${describeGroup({ name, construct })}" is already drained by the ` +
          `FleetDrainer ${other.node.path}. A group can have one drainer only (two would fight over its terminate ` +
          "hook and drain each other's instances): drain it from one FleetDrainer, with `{ group, policy }` if it " +
          'needs a policy of its own',
      );
    }
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
    // The tick's schedule is an EventBridge rate, which counts whole minutes.
    seconds % 60 !== 0
  ) {
    throw new Error(
      `\`reconcilePeriod\` must be whole minutes from ${describe(MIN_RECONCILE_PERIOD)} to ` +
        `${describe(MAX_RECONCILE_PERIOD)}, got ${describeGiven(period)}`,
    );
  }
  return seconds;
}

function validateGroups(groups: FleetDrainerProps['groups']): DrainedGroup[] {
  if (!Array.isArray(groups) || groups.length === 0) {
    throw new Error('`groups` must name at least one Auto Scaling group (a construct or a name), got none');
  }
  const drained = groups.map((entry): DrainedGroup => {
    const withPolicy = typeof entry === 'object' && 'group' in entry && 'policy' in entry;
    const group = withPolicy
      ? (entry as FleetDrainerGroup).group
      : (entry as autoscaling.IAutoScalingGroup | string);
    const policy = withPolicy ? (entry as FleetDrainerGroup).policy : undefined;
    return typeof group === 'string'
      ? { name: group, construct: undefined, policy }
      : { name: group.autoScalingGroupName, construct: group, policy };
  });
  for (const { name } of drained) {
    if (!Token.isUnresolved(name) && !GROUP_NAME.test(name)) {
      throw new Error(
        `\`groups\` has the Auto Scaling group name "${name}", which fleet-drainer cannot drain: a name must be 1 to ` +
          '255 letters, digits or `._+=@-`, starting with a letter or digit. The name reaches a shell script on the ' +
          'instance as an SSM document parameter, whose allowedPattern must admit nothing a shell interprets (SSM ' +
          'Agents before 3.3.2746.0 substitute parameters into the script as text), and the Lambda lists the names ' +
          'with commas. Rename the group (create a new one) to drain it',
      );
    }
  }
  // The same construct twice has the same name token, so one comparison finds both.
  const duplicate = drained.find(
    (group, index) => drained.findIndex((other) => other.name === group.name) !== index,
  );
  if (duplicate !== undefined) {
    throw new Error(
      `\`groups\` has the Auto Scaling group "${describeGroup(duplicate)}" twice: give each group once (with ` +
        '`{ group, policy }` for a policy of its own)',
    );
  }
  return drained;
}

function validatePolicy(policy: DrainPolicy, prop: string): void {
  try {
    resolvePolicy(policy);
  } catch (error) {
    if (error instanceof PolicyError) {
      throw new Error(
        `${prop} is not a valid drain policy:\n${error.issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
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
function acknowledgeWildcards(policy: Construct, wildcards: { resource: string; reason: string }[]): void {
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
