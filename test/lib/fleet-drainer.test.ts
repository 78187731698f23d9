import {
  App,
  aws_autoscaling as autoscaling,
  Duration,
  aws_ec2 as ec2,
  aws_events as events,
  Stack,
} from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  DRAIN_PARAMETERS,
  findInvalidParameter,
  POLICY_PARAMETER_MAX_CHARS,
} from '../../agent/policy/drain-parameters';
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
  parseConfig,
} from '../../lambda/config';
import {
  EVENT_QUEUE_BATCH_SIZE,
  EVENT_QUEUE_MAX_CONCURRENCY,
  EVENT_QUEUE_MAX_RECEIVE_COUNT,
  FleetDrainer,
  HOOK_METADATA,
  LIFECYCLE_QUEUE_BATCH_SIZE,
  LIFECYCLE_QUEUE_BATCHING_WINDOW_SECONDS,
  maxDrainSeconds,
  STATUS_QUEUE_MAX_CONCURRENCY,
  TRIGGERS,
} from '../../lib/index';
import { drainerStack, GROUPS, onlyResource, POLICY } from './helpers';

const { stack, template, drainer } = drainerStack();
const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);
const lifecycleQueueId = logicalId(drainer.lifecycleQueue);
const statusQueueId = logicalId(drainer.statusQueue);
const functionId = logicalId(drainer.function);
const failedEventsArn = { 'Fn::GetAtt': [logicalId(drainer.failedEventsQueue), 'Arn'] };
const QUEUES = [
  ['lifecycle', lifecycleQueueId],
  ['status', statusQueueId],
] as const;

describe('the terminate hook', () => {
  it('is on every group, with an explicit CONTINUE default, our metadata and the computed timeout', () => {
    for (const group of GROUPS) {
      template.hasResourceProperties('AWS::AutoScaling::LifecycleHook', {
        AutoScalingGroupName: group,
        LifecycleHookName: drainer.hookName,
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        DefaultResult: 'CONTINUE',
        HeartbeatTimeout: drainer.heartbeatTimeoutSeconds,
        NotificationMetadata: HOOK_METADATA,
      });
    }
    template.resourceCountIs('AWS::AutoScaling::LifecycleHook', 2);
  });

  it('exists only once the Lambda, its permissions, rules, queues and mappings do (and is deleted before them)', () => {
    const hook = Object.values(template.findResources('AWS::AutoScaling::LifecycleHook'))[0] as {
      DependsOn: string[];
    };
    const logicalIds = (type: string) => Object.keys(template.findResources(type));
    expect(logicalIds('AWS::Lambda::EventSourceMapping')).toHaveLength(2);
    expect(hook.DependsOn).toEqual(
      expect.arrayContaining([
        ...logicalIds('AWS::Lambda::Function'),
        ...logicalIds('AWS::Events::Rule'),
        lifecycleQueueId,
        statusQueueId,
        ...logicalIds('AWS::Lambda::EventSourceMapping'),
        ...logicalIds('AWS::IAM::Policy').filter((id) => id.includes('DrainerPolicy')),
        ...logicalIds('AWS::IAM::ManagedPolicy'),
      ]),
    );
  });

  it('goes on a group construct too', () => {
    const app = new App();
    const stack = new Stack(app, 'WithGroup');
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, maxAzs: 1 });
    const group = new autoscaling.AutoScalingGroup(stack, 'Group', {
      vpc,
      instanceType: new ec2.InstanceType('t4g.nano'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    });
    new FleetDrainer(stack, 'Drainer', { groups: [group, 'legacy'], policy: POLICY });
    const withGroup = Template.fromStack(stack);
    withGroup.hasResourceProperties('AWS::AutoScaling::LifecycleHook', {
      AutoScalingGroupName: { Ref: Match.stringLikeRegexp('^Group') },
      DefaultResult: 'CONTINUE',
    });
    withGroup.hasResourceProperties('AWS::AutoScaling::LifecycleHook', { AutoScalingGroupName: 'legacy' });
  });
});

describe('the document', () => {
  const document = onlyResource(template, 'AWS::SSM::Document');
  const content = document.Content as {
    schemaVersion: string;
    parameters: Record<string, { allowedPattern: string; interpolationType: string }>;
    mainSteps: { action: string; inputs: { timeoutSeconds: number } }[];
  };

  it('is a named Command document (schema 2.2) updated in place as a new version', () => {
    expect(document).toMatchObject({
      DocumentType: 'Command',
      Name: drainer.documentName,
      UpdateMethod: 'NewVersion',
    });
    expect(content.schemaVersion).toBe('2.2');
  });

  it('has a name SSM accepts for a customer document', () => {
    // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateDocument.html
    expect(drainer.documentName).toMatch(/^[A-Za-z0-9_.-]{3,128}$/);
    expect(drainer.documentName).not.toMatch(/^(aws|amazon|amzn)/i);
  });

  it('declares exactly the drain parameters, each with its allowedPattern and ENV_VAR interpolation', () => {
    expect(Object.keys(content.parameters).sort()).toEqual(Object.keys(DRAIN_PARAMETERS).sort());
    for (const [name, { pattern }] of Object.entries(DRAIN_PARAMETERS)) {
      expect(content.parameters[name]).toMatchObject({
        allowedPattern: pattern,
        interpolationType: 'ENV_VAR',
      });
    }
  });

  it('defaults the action parameter to drain, as the agent reads a command without it', () => {
    expect(content.parameters.action).toMatchObject({
      allowedPattern: '^(drain|prepare|plan)$',
      default: 'drain',
    });
    const sent = {
      drainId: 'spot-i-0123456789abcdef0-20261206190000',
      deadline: '2026-12-06T19:01:40Z',
      instanceId: 'i-0123456789abcdef0',
      autoScalingGroupName: 'workers',
      lifecycleHookName: 'fleet-drainer',
    };
    expect(findInvalidParameter(sent)).toBeUndefined();
    expect(findInvalidParameter({ ...sent, action: 'prepare' })).toBeUndefined();
    expect(findInvalidParameter({ ...sent, action: 'stop' })).toBe('action');
  });

  it('takes a policy to plan with as strict base64 of at most POLICY_PARAMETER_MAX_CHARS, empty by default', () => {
    // SSM checks the length itself (maxChars, sysman-doc-syntax.html): no pattern can bound it.
    expect(content.parameters.policy).toMatchObject({
      allowedPattern: DRAIN_PARAMETERS.policy.pattern,
      maxChars: POLICY_PARAMETER_MAX_CHARS,
      default: '',
    });
    const sent = {
      drainId: 'plan-0123456789ab',
      deadline: '2026-12-06T19:01:40Z',
      instanceId: 'i-0123456789abcdef0',
      autoScalingGroupName: 'workers',
      lifecycleHookName: 'fleet-drainer',
      action: 'plan',
    };
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    expect(findInvalidParameter(sent)).toBeUndefined();
    for (const text of ['{}', '{"a":1}', '{"ab":1}', JSON.stringify(POLICY)]) {
      expect(findInvalidParameter({ ...sent, policy: b64(text) }), text).toBeUndefined();
    }
    for (const bad of ['e30', 'e30=e30=', '=e30', 'e3 0', 'e30-', 'e30_', 'e30\n', '$(id)']) {
      expect(findInvalidParameter({ ...sent, policy: bad }), bad).toBe('policy');
    }
    const longest = 'A'.repeat(POLICY_PARAMETER_MAX_CHARS);
    expect(findInvalidParameter({ ...sent, policy: longest })).toBeUndefined();
    expect(findInvalidParameter({ ...sent, policy: `${longest}AAAA` })).toBe('policy');
  });

  it('has one runShellScript step whose timeout is the maximum drain time plus a margin', () => {
    expect(content.mainSteps).toHaveLength(1);
    expect(content.mainSteps[0]?.action).toBe('aws:runShellScript');
    expect(content.mainSteps[0]?.inputs.timeoutSeconds).toBe(3600 + 300);
  });

  it('keeps the step timeout within 48 hours for the longest drain', () => {
    const longest = drainerStack({ maxDrainTime: Duration.seconds(maxDrainSeconds(60)) }).template;
    const step = (onlyResource(longest, 'AWS::SSM::Document').Content as typeof content).mainSteps[0];
    expect(step?.inputs.timeoutSeconds).toBe(maxDrainSeconds(60) + 300);
    expect(step?.inputs.timeoutSeconds).toBeLessThanOrEqual(172_800);
  });
});

describe('the Lambda', () => {
  it('runs the prebuilt bundle on Node.js 22, arm64', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
    });
  });

  it("gets the configuration the Lambda's own parser accepts", () => {
    const env = (
      onlyResource(template, 'AWS::Lambda::Function').Environment as { Variables: Record<string, string> }
    ).Variables;
    // The queue URLs are references until deployment: the parser gets URLs of their shape.
    const deployed = {
      ...env,
      [ENV_LIFECYCLE_QUEUE_URL]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Lifecycle',
      [ENV_STATUS_QUEUE_URL]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Status',
    };
    expect(env).toMatchObject({
      [ENV_DOCUMENT_NAME]: drainer.documentName,
      [ENV_GROUP_NAMES]: 'web,workers',
      [ENV_HOOK_NAME]: drainer.hookName,
      [ENV_MAX_DRAIN_SECONDS]: '3600',
      [ENV_HEARTBEAT_TIMEOUT_SECONDS]: String(drainer.heartbeatTimeoutSeconds),
      [ENV_RESULT_POLICY]: 'CONTINUE',
      [ENV_EVENT_BUS_NAME]: 'default',
      [ENV_TICK_PERIOD_SECONDS]: '60',
    });
    expect(parseConfig(deployed)).toMatchObject({ ok: true });
  });

  it('gets the URLs of both event queues', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENV_LIFECYCLE_QUEUE_URL]: { Ref: lifecycleQueueId },
          [ENV_STATUS_QUEUE_URL]: { Ref: statusQueueId },
        }),
      },
    });
  });

  it('sends failed asynchronous invocations to the failed-events queue after two retries', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('FailedEvents'), 'Arn'] } },
      },
    });
  });

  it('logs to a log group with a retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });
});

describe('the event queues', () => {
  it.each(QUEUES)('the %s queue is encrypted, TLS-only, and kept shorter than the failed events', (_, id) => {
    const queue = template.findResources('AWS::SQS::Queue')[id] as { Properties: Record<string, number> };
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    expect(queue.Properties.MessageRetentionPeriod).toBeLessThan(14 * 86_400);
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: id }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it.each(QUEUES)("the %s queue hides a message for at least 6 × the function's timeout", (_, id) => {
    const queue = template.findResources('AWS::SQS::Queue')[id] as { Properties: Record<string, number> };
    const fn = onlyResource(template, 'AWS::Lambda::Function') as { Timeout: number };
    expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(fn.Timeout);
    // AWS's recommendation for a queue a mapping consumes: at least 6 × the function timeout.
    expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Timeout);
  });

  it.each(QUEUES)(
    'the %s queue moves an event that failed five times to the failed-events queue',
    (_, id) => {
      const queue = template.findResources('AWS::SQS::Queue')[id] as { Properties: Record<string, unknown> };
      expect(queue.Properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: failedEventsArn,
        maxReceiveCount: EVENT_QUEUE_MAX_RECEIVE_COUNT,
      });
      expect(EVENT_QUEUE_MAX_RECEIVE_COUNT).toBe(5);
    },
  );

  it.each(QUEUES)(
    'the function consumes the %s queue in batches, a few at once, reporting failed records',
    (name, id) => {
      // Lifecycle events in batches of 100 gathered for 1 s (two full SendCommands of 50); status events 10 at once.
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [id, 'Arn'] },
        FunctionName: { Ref: functionId },
        BatchSize: name === 'status' ? EVENT_QUEUE_BATCH_SIZE : LIFECYCLE_QUEUE_BATCH_SIZE,
        MaximumBatchingWindowInSeconds:
          name === 'status' ? Match.absent() : LIFECYCLE_QUEUE_BATCHING_WINDOW_SECONDS,
        ScalingConfig: {
          MaximumConcurrency: name === 'status' ? STATUS_QUEUE_MAX_CONCURRENCY : EVENT_QUEUE_MAX_CONCURRENCY,
        },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    },
  );

  it('leaves the status queue two environments (the minimum), so the tick keeps most of the Auto Scaling budget', () => {
    expect([EVENT_QUEUE_MAX_CONCURRENCY, STATUS_QUEUE_MAX_CONCURRENCY]).toEqual([5, 2]);
  });

  it('are the only event sources, with no reserved concurrency (a fresh account has only 10)', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    expect(onlyResource(template, 'AWS::Lambda::Function').ReservedConcurrentExecutions).toBeUndefined();
    expect(EVENT_QUEUE_MAX_CONCURRENCY).toBe(5);
  });
});

describe('the rules', () => {
  const deliveredTo = (arn: unknown) =>
    Match.arrayWith([
      Match.objectLike({
        Arn: arn,
        DeadLetterConfig: { Arn: failedEventsArn },
        RetryPolicy: Match.objectLike({ MaximumRetryAttempts: Match.anyValue() }),
      }),
    ]);

  it('route the terminate actions of our hook, whatever the number of groups (the Lambda checks the group)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.autoscaling'],
        'detail-type': ['EC2 Instance-terminate Lifecycle Action'],
        detail: { LifecycleHookName: [drainer.hookName] },
      },
      Targets: deliveredTo({ 'Fn::GetAtt': [lifecycleQueueId, 'Arn'] }),
    });
  });

  it('route the terminal status changes of the fleet-drain document only', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ssm'],
        'detail-type': ['EC2 Command Invocation Status-change Notification'],
        detail: {
          'document-name': [drainer.documentName],
          status: Match.arrayWith([
            'Success',
            'Failed',
            'Cancelled',
            'TimedOut',
            'Undeliverable',
            'Terminated',
          ]),
        },
      },
      Targets: deliveredTo({ 'Fn::GetAtt': [statusQueueId, 'Arn'] }),
    });
  });

  it('may send to their queue, and only they', () => {
    for (const [rule, id] of [
      ['LifecycleRule', lifecycleQueueId],
      ['CommandStatusRule', statusQueueId],
    ]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Action: Match.arrayWith(['sqs:SendMessage']),
              Principal: { Service: 'events.amazonaws.com' },
              Condition: {
                ArnEquals: {
                  'aws:SourceArn': { 'Fn::GetAtt': [Match.stringLikeRegexp(rule as string), 'Arn'] },
                },
              },
            }),
          ]),
        },
      });
    }
  });

  it('tick at the reconcile period, invoking the function directly (never behind queued events)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: deliveredTo({ 'Fn::GetAtt': [functionId, 'Arn'] }),
    });
    const slow = drainerStack({ reconcilePeriod: Duration.minutes(5) }).template;
    slow.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
  });
});

describe('options', () => {
  it('emits drain events to the given bus', () => {
    const app = new App();
    const stack = new Stack(app, 'Bus');
    const bus = new events.EventBus(stack, 'Bus');
    new FleetDrainer(stack, 'Drainer', { groups: ['web'], policy: POLICY, eventBus: bus });
    const withBus = Template.fromStack(stack);
    withBus.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ [ENV_EVENT_BUS_NAME]: { Ref: Match.stringLikeRegexp('^Bus') } }),
      },
    });
    withBus.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'events:PutEvents',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Bus'), 'Arn'] },
          }),
        ]),
      },
    });
  });

  it('passes the result policy to the Lambda', () => {
    drainerStack({ resultPolicy: 'ABANDON_ON_FAILURE' }).template.hasResourceProperties(
      'AWS::Lambda::Function',
      {
        Environment: { Variables: Match.objectLike({ [ENV_RESULT_POLICY]: 'ABANDON_ON_FAILURE' }) },
      },
    );
  });

  it('sizes the HeartbeatTimeout for the Auto Scaling API budget of maxConcurrentDrains', () => {
    const big = drainerStack({ maxConcurrentDrains: 10_000 });
    expect(big.drainer.heartbeatTimeoutSeconds).toBe(3000);
    big.template.hasResourceProperties('AWS::AutoScaling::LifecycleHook', { HeartbeatTimeout: 3000 });
    big.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [ENV_HEARTBEAT_TIMEOUT_SECONDS]: '3000' }) },
    });
    expect(drainer.heartbeatTimeoutSeconds).toBe(900);
  });

  it('creates no alarm when alarms is false, but keeps the dashboard', () => {
    const quiet = drainerStack({ alarms: false }).template;
    quiet.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    quiet.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('monitoring', () => {
  it.each(QUEUES)('alarms when an event has waited 15 minutes in the %s queue', (name, id) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 900,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmDescription: Match.stringLikeRegexp(
        `waited 15 minutes in the ${name} queue: drains start or finish late`,
      ),
    });
  });

  it('graphs the drains started by each trigger', () => {
    // The body is a join around the stack's references: the references stand in as strings.
    const [, parts] = (
      onlyResource(template, 'AWS::CloudWatch::Dashboard').DashboardBody as {
        'Fn::Join': [string, unknown[]];
      }
    )['Fn::Join'];
    const body = JSON.parse(
      parts.map((part) => (typeof part === 'string' ? part : 'REFERENCE')).join(''),
    ) as { widgets: { properties: { title?: string; metrics?: unknown[][] } }[] };
    const widget = (title: string) =>
      body.widgets.find((w) => w.properties.title?.startsWith(title))?.properties.metrics ?? [];
    const started = (metrics: unknown[][]) =>
      metrics.filter((metric) => metric[0] === 'FleetDrainer' && metric[1] === 'DrainsStarted');
    const byTrigger = started(widget('Drains started, by trigger'));
    expect(TRIGGERS).toEqual(['lifecycle', 'spot-interruption', 'rebalance-recommendation']);
    expect(byTrigger.map((metric) => metric.slice(2, 6))).toEqual(
      TRIGGERS.map((trigger) => ['service', drainer.serviceName, 'trigger', trigger]),
    );
  });

  it("graphs both queues' waiting events and the age of their oldest on the dashboard", () => {
    const body = JSON.stringify(onlyResource(template, 'AWS::CloudWatch::Dashboard').DashboardBody);
    for (const [, id] of QUEUES) expect(body).toContain(id);
    expect(body).toContain('ApproximateNumberOfMessagesVisible');
    expect(body).toContain('ApproximateAgeOfOldestMessage');
  });
});
