// Reads what the twin needs from a synthesized CloudFormation template (the stable interface with lib/):
// the SSM Command documents, the terminate lifecycle hooks, the rules with their event patterns and
// schedules, the SQS queues they deliver to, the event source mappings that feed the drainer Lambda from
// those queues, the drainer Lambda with its environment, and the stack's outputs. Intrinsics are resolved the
// way a deployment would, with the twin's account and region and stand-in physical names.

import { ACCOUNT_ID } from './commands';
import type { DocumentContent } from './document';
import { REGION } from './event-envelope';
import type { LifecycleResult } from './lifecycle';

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export interface CfnTemplate {
  Description?: string;
  Resources: Record<string, Resource>;
  Outputs?: Record<string, { Value: unknown; Description?: string; Export?: { Name: unknown } }>;
}

/** One output of the stack, resolved as DescribeStacks returns it. */
export interface TemplateOutput {
  key: string;
  value: string;
  description: string | undefined;
  exportName: string | undefined;
}

export interface TemplateHook {
  groupName: string;
  hookName: string;
  heartbeatTimeoutSeconds: number;
  defaultResult: LifecycleResult;
  notificationMetadata: string | undefined;
}

export interface TemplateRule {
  logicalId: string;
  arn: string;
  eventPattern: Record<string, unknown> | undefined;
  /** From `rate(…)`; undefined for a pattern rule. */
  schedulePeriodMs: number | undefined;
  enabled: boolean;
  /** Whether one of the rule's targets is the drainer function (an asynchronous invocation). */
  targetsFunction: boolean;
  /** Logical ids of the SQS queues the rule's targets deliver to. */
  queueIds: string[];
}

export interface TemplateQueue {
  logicalId: string;
  name: string;
  /** What `Ref` gives, and what the SQS API knows the queue by. */
  url: string;
  arn: string;
  /** VisibilityTimeout (the service default is 30 s). */
  visibilityTimeoutSeconds: number;
  /** RedrivePolicy: where a message goes after `maxReceiveCount` receives. */
  redrive: { deadLetterTargetArn: string; maxReceiveCount: number } | undefined;
}

/** An AWS::Lambda::EventSourceMapping from a queue to the drainer function. */
export interface TemplateMapping {
  logicalId: string;
  queueId: string;
  /** BatchSize (default 10 for SQS). */
  batchSize: number;
  /** MaximumBatchingWindowInSeconds (default 0). */
  maximumBatchingWindowSeconds: number;
  /** ScalingConfig.MaximumConcurrency; undefined: no cap of its own. */
  maximumConcurrency: number | undefined;
  /** FunctionResponseTypes includes ReportBatchItemFailures. */
  reportBatchItemFailures: boolean;
  enabled: boolean;
}

export interface TemplateFunction {
  logicalId: string;
  environment: Record<string, string>;
  /** Lambda's retries of a failed asynchronous invocation (EventInvokeConfig; the service default is 2). */
  retryAttempts: number;
}

export interface TwinTemplate {
  documents: Map<string, DocumentContent>;
  hooks: TemplateHook[];
  rules: TemplateRule[];
  queues: TemplateQueue[];
  mappings: TemplateMapping[];
  drainer: TemplateFunction;
  outputs: TemplateOutput[];
}

const STACK_NAME = 'twin';
const NAME_PROPERTIES: Record<string, string> = {
  'AWS::SSM::Document': 'Name',
  'AWS::AutoScaling::AutoScalingGroup': 'AutoScalingGroupName',
  'AWS::AutoScaling::LifecycleHook': 'LifecycleHookName',
  'AWS::Events::Rule': 'Name',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::Events::EventBus': 'Name',
  'AWS::SQS::Queue': 'QueueName',
};

/** The queue's name (QueueName, or the stand-in physical name), URL and ARN, as SQS gives them. */
function queueIdentity(logicalId: string, template: CfnTemplate): { name: string; url: string; arn: string } {
  const given = template.Resources[logicalId]?.Properties?.QueueName;
  const name = given === undefined ? `${STACK_NAME}-${logicalId}` : String(resolveValue(given, template));
  return {
    name,
    url: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT_ID}/${name}`,
    arn: `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${name}`,
  };
}
const isQueue = (logicalId: string, template: CfnTemplate) =>
  template.Resources[logicalId]?.Type === 'AWS::SQS::Queue';

/** Resolves the intrinsics a CDK template uses in the properties the twin reads. */
export function resolveValue(value: unknown, template: CfnTemplate): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveValue(item, template));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const [key, argument] = entries[0] ?? [];
  if (entries.length === 1 && typeof key === 'string' && (key === 'Ref' || key.startsWith('Fn::'))) {
    return resolveIntrinsic(key, argument, template);
  }
  return Object.fromEntries(entries.map(([name, item]) => [name, resolveValue(item, template)]));
}

function resolveIntrinsic(key: string, argument: unknown, template: CfnTemplate): unknown {
  switch (key) {
    case 'Ref':
      return refValue(String(argument), template);
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = (
        Array.isArray(argument) ? argument : String(argument).split('.')
      ) as string[];
      if (isQueue(logicalId as string, template)) {
        const queue = queueIdentity(logicalId as string, template);
        if (attribute === 'Arn') return queue.arn;
        if (attribute === 'QueueUrl') return queue.url;
        if (attribute === 'QueueName') return queue.name;
      }
      return `arn:aws:twin:${REGION}:${ACCOUNT_ID}:${logicalId}/${attribute}`;
    }
    case 'Fn::Join': {
      const [separator, parts] = argument as [string, unknown[]];
      return (resolveValue(parts, template) as unknown[]).map(String).join(separator);
    }
    case 'Fn::Sub': {
      const [text, variables] = (Array.isArray(argument) ? argument : [argument, {}]) as [
        string,
        Record<string, unknown>,
      ];
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) =>
        String(
          Object.hasOwn(variables, name) ? resolveValue(variables[name], template) : refValue(name, template),
        ),
      );
    }
    case 'Fn::Select': {
      const [index, list] = argument as [number, unknown];
      return (resolveValue(list, template) as unknown[])[Number(index)];
    }
    default:
      throw new Error(`the twin cannot resolve ${key} in the template`);
  }
}

function refValue(name: string, template: CfnTemplate): string {
  const pseudo: Record<string, string> = {
    'AWS::Region': REGION,
    'AWS::AccountId': ACCOUNT_ID,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': STACK_NAME,
  };
  if (pseudo[name] !== undefined) return pseudo[name] as string;
  const resource = template.Resources[name];
  if (resource === undefined) throw new Error(`the template has no resource or parameter ${name}`);
  // A queue's Ref is its URL.
  if (resource.Type === 'AWS::SQS::Queue') return queueIdentity(name, template).url;
  const property = NAME_PROPERTIES[resource.Type];
  const given = property === undefined ? undefined : resource.Properties?.[property];
  return given === undefined ? `${STACK_NAME}-${name}` : String(resolveValue(given, template));
}

/** `rate(1 minute)`, `rate(5 minutes)`, `rate(1 hour)`, … in milliseconds. */
export function ratePeriodMs(expression: string): number {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (match === null) throw new Error(`the twin supports rate() schedules only, got ${expression}`);
  const unit = match[2]?.startsWith('minute')
    ? 60_000
    : match[2]?.startsWith('hour')
      ? 3_600_000
      : 86_400_000;
  return Number(match[1]) * unit;
}

/** Reads the template; throws with a clear message when something the twin needs is missing. */
export function readTemplate(template: CfnTemplate): TwinTemplate {
  const resources = Object.entries(template.Resources);
  // Only the properties the twin reads are resolved: others may use intrinsics it has no need to know.
  const props = (resource: Resource, names: string[]) =>
    Object.fromEntries(
      names.map((name) => [name, resolveValue(resource.Properties?.[name], template)]),
    ) as Record<string, unknown>;

  const documents = new Map<string, DocumentContent>();
  for (const [logicalId, resource] of resources) {
    if (resource.Type !== 'AWS::SSM::Document') continue;
    const properties = props(resource, ['DocumentType', 'Content']);
    if (properties.DocumentType !== 'Command') continue;
    const content =
      typeof properties.Content === 'string' ? JSON.parse(properties.Content) : properties.Content;
    documents.set(refValue(logicalId, template), content as DocumentContent);
  }

  const hooks: TemplateHook[] = [];
  for (const [, resource] of resources) {
    if (resource.Type !== 'AWS::AutoScaling::LifecycleHook') continue;
    const properties = props(resource, [
      'LifecycleTransition',
      'AutoScalingGroupName',
      'LifecycleHookName',
      'HeartbeatTimeout',
      'DefaultResult',
      'NotificationMetadata',
    ]);
    if (properties.LifecycleTransition !== 'autoscaling:EC2_INSTANCE_TERMINATING') continue;
    hooks.push({
      groupName: String(properties.AutoScalingGroupName),
      hookName: String(properties.LifecycleHookName ?? `${STACK_NAME}-hook`),
      heartbeatTimeoutSeconds: Number(properties.HeartbeatTimeout ?? 3600),
      // The service default when DefaultResult is unset.
      defaultResult: properties.DefaultResult === 'CONTINUE' ? 'CONTINUE' : 'ABANDON',
      notificationMetadata: properties.NotificationMetadata as string | undefined,
    });
  }

  const ruleTargets = resources
    .filter(([, resource]) => resource.Type === 'AWS::Events::Rule')
    .map(([logicalId, resource]) => ({
      logicalId,
      raw: resource.Properties ?? {},
      properties: props(resource, ['EventPattern', 'ScheduleExpression', 'State']),
    }));
  /** The logical id a `{ "Fn::GetAtt": [id, "Arn"] }` names, if that is what `value` is. */
  const arnOf = (value: unknown): string | undefined => {
    const getAtt = (value as { 'Fn::GetAtt'?: unknown } | undefined)?.['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return getAtt[1] === 'Arn' ? String(getAtt[0]) : undefined;
    if (typeof getAtt === 'string' && getAtt.endsWith('.Arn')) return getAtt.slice(0, -'.Arn'.length);
    return undefined;
  };
  /** The logical id a `{ "Ref": id }` names. */
  const refOf = (value: unknown): string | undefined => {
    const ref = (value as { Ref?: unknown } | undefined)?.Ref;
    return typeof ref === 'string' ? ref : undefined;
  };
  const targetsOf = (raw: Record<string, unknown>) =>
    ((raw.Targets as { Arn?: unknown }[] | undefined) ?? []).map((target) => arnOf(target.Arn));
  const rawMappings = resources
    .filter(([, resource]) => resource.Type === 'AWS::Lambda::EventSourceMapping')
    .map(([logicalId, resource]) => ({ logicalId, raw: resource.Properties ?? {} }));
  // The drainer is the function the rules invoke or the event source mappings feed.
  const targetIds = new Set([
    ...ruleTargets.flatMap(({ raw }) => targetsOf(raw)),
    ...rawMappings.map(({ raw }) => refOf(raw.FunctionName) ?? arnOf(raw.FunctionName)),
  ]);
  const functionIds = resources
    .filter(([logicalId, resource]) => resource.Type === 'AWS::Lambda::Function' && targetIds.has(logicalId))
    .map(([logicalId]) => logicalId);
  if (functionIds.length !== 1) {
    throw new Error(
      `expected exactly one Lambda function targeted by the rules or event source mappings, found ${functionIds.length}`,
    );
  }
  const drainerId = functionIds[0] as string;
  const drainerProps = props(template.Resources[drainerId] as Resource, ['Environment']);
  const invokeConfig = resources.find(
    ([, resource]) =>
      resource.Type === 'AWS::Lambda::EventInvokeConfig' &&
      JSON.stringify(resource.Properties?.FunctionName) === JSON.stringify({ Ref: drainerId }),
  );
  const retryAttempts = Number(invokeConfig?.[1].Properties?.MaximumRetryAttempts ?? 2);

  const queues: TemplateQueue[] = resources
    .filter(([, resource]) => resource.Type === 'AWS::SQS::Queue')
    .map(([logicalId, resource]) => {
      const properties = props(resource, ['VisibilityTimeout', 'RedrivePolicy']);
      const redrive = (
        typeof properties.RedrivePolicy === 'string'
          ? JSON.parse(properties.RedrivePolicy)
          : properties.RedrivePolicy
      ) as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown } | undefined;
      if (
        redrive !== undefined &&
        (redrive.deadLetterTargetArn === undefined || !(Number(redrive.maxReceiveCount) >= 1))
      ) {
        throw new Error(
          `queue ${logicalId}: RedrivePolicy needs deadLetterTargetArn and maxReceiveCount ≥ 1`,
        );
      }
      return {
        logicalId,
        ...queueIdentity(logicalId, template),
        visibilityTimeoutSeconds: Number(properties.VisibilityTimeout ?? 30),
        redrive:
          redrive === undefined
            ? undefined
            : {
                deadLetterTargetArn: String(redrive.deadLetterTargetArn),
                maxReceiveCount: Number(redrive.maxReceiveCount),
              },
      };
    });
  for (const queue of queues) {
    if (queue.redrive && !queues.some((other) => other.arn === queue.redrive?.deadLetterTargetArn)) {
      throw new Error(
        `queue ${queue.logicalId}: its dead-letter queue ${queue.redrive.deadLetterTargetArn} is not in the template`,
      );
    }
  }

  const mappings: TemplateMapping[] = rawMappings
    .filter(({ raw }) => (refOf(raw.FunctionName) ?? arnOf(raw.FunctionName)) === drainerId)
    .map(({ logicalId, raw }) => {
      const queueId = arnOf(raw.EventSourceArn);
      if (queueId === undefined || !isQueue(queueId, template)) {
        throw new Error(
          `event source mapping ${logicalId}: the twin supports SQS queues of the template only (EventSourceArn: { "Fn::GetAtt": [<queue>, "Arn"] })`,
        );
      }
      const properties = props(template.Resources[logicalId] as Resource, [
        'BatchSize',
        'MaximumBatchingWindowInSeconds',
        'ScalingConfig',
        'FunctionResponseTypes',
        'Enabled',
      ]);
      const maximumConcurrency = (properties.ScalingConfig as { MaximumConcurrency?: unknown } | undefined)
        ?.MaximumConcurrency;
      return {
        logicalId,
        queueId,
        batchSize: Number(properties.BatchSize ?? 10),
        maximumBatchingWindowSeconds: Number(properties.MaximumBatchingWindowInSeconds ?? 0),
        maximumConcurrency: maximumConcurrency === undefined ? undefined : Number(maximumConcurrency),
        reportBatchItemFailures: ((properties.FunctionResponseTypes as unknown[] | undefined) ?? []).includes(
          'ReportBatchItemFailures',
        ),
        enabled:
          properties.Enabled === undefined || properties.Enabled === true || properties.Enabled === 'true',
      };
    });

  const rules: TemplateRule[] = ruleTargets.map(({ logicalId, raw, properties }) => ({
    logicalId,
    arn: `arn:aws:events:${REGION}:${ACCOUNT_ID}:rule/${refValue(logicalId, template)}`,
    eventPattern: properties.EventPattern as Record<string, unknown> | undefined,
    schedulePeriodMs:
      typeof properties.ScheduleExpression === 'string'
        ? ratePeriodMs(properties.ScheduleExpression)
        : undefined,
    enabled: properties.State === undefined || properties.State === 'ENABLED',
    targetsFunction: targetsOf(raw).includes(drainerId),
    queueIds: targetsOf(raw).filter((id): id is string => id !== undefined && isQueue(id, template)),
  }));

  const outputs = Object.entries(template.Outputs ?? {}).map(([key, output]) => {
    let value: unknown;
    try {
      value = resolveValue(output.Value, template);
    } catch (error) {
      throw new Error(`output ${key}: ${(error as Error).message}`);
    }
    return {
      key,
      value: String(value),
      description: output.Description,
      exportName:
        output.Export === undefined ? undefined : String(resolveValue(output.Export.Name, template)),
    };
  });

  const environment = ((drainerProps.Environment as { Variables?: Record<string, unknown> } | undefined)
    ?.Variables ?? {}) as Record<string, unknown>;
  return {
    documents,
    hooks,
    rules,
    queues,
    mappings,
    drainer: {
      logicalId: drainerId,
      environment: Object.fromEntries(
        Object.entries(environment).map(([name, value]) => [name, String(value)]),
      ),
      retryAttempts,
    },
    outputs,
  };
}
