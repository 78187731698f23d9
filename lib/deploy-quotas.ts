// Deploy-time quotas the construct checks at synth, so that a stack that synthesizes also deploys. Values the
// template leaves to CloudFormation (the partition, the region, a generated name) are counted at their
// longest: the size is an upper bound of what the services will see.

import { CfnOutput, type Stack, Token } from 'aws-cdk-lib';

/** An event pattern is at most 2,048 characters. https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html */
export const EVENT_PATTERN_LIMIT_CHARS = 2048;
/**
 * A role's inline policies total at most 10,240 characters, whitespace not counted.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
 */
export const ROLE_INLINE_POLICIES_LIMIT_CHARS = 10_240;
/** A customer-managed policy is at most 6,144 characters, whitespace not counted (same page). */
export const MANAGED_POLICY_LIMIT_CHARS = 6144;
/** Managed policies attached to one role: 10 by default (adjustable to 20; same page). */
export const MANAGED_POLICIES_PER_ROLE = 10;
/**
 * A function's environment variables total at most 4 KB. Counted here as their JSON (`{"NAME":"value",…}`),
 * an upper bound of any way of counting them.
 * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;
/**
 * A template declares at most 200 outputs; an output's logical id is at most 255 characters.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
 */
export const STACK_OUTPUTS_LIMIT = 200;
export const OUTPUT_NAME_LIMIT_CHARS = 255;
/**
 * An output's Description is a literal of at most 1,024 bytes.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Output.html
 * An output's Value has no documented limit (an exported one: 1,024 characters, and the drainer's is not
 * exported).
 */
export const OUTPUT_DESCRIPTION_LIMIT_BYTES = 1024;

/** What would fail the deploy in the stack's outputs: too many, or a name or description too long. */
export function outputQuotaErrors(stack: Stack): string[] {
  const outputs = stack.node
    .findAll()
    .filter((child): child is CfnOutput => child instanceof CfnOutput && child.stack === stack);
  const errors: string[] = [];
  if (outputs.length > STACK_OUTPUTS_LIMIT) {
    errors.push(
      `The stack ${stack.stackName} would declare ${outputs.length} outputs, over CloudFormation's ${STACK_OUTPUTS_LIMIT} ` +
        '(each FleetDrainer adds one; https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html): ' +
        'remove outputs, or put some FleetDrainers in another stack',
    );
  }
  for (const output of outputs) {
    const name = stack.resolve(output.logicalId) as string;
    const description = output.description ?? '';
    if (
      name.length > OUTPUT_NAME_LIMIT_CHARS ||
      Buffer.byteLength(description) > OUTPUT_DESCRIPTION_LIMIT_BYTES
    ) {
      errors.push(
        `The output ${output.node.path} has a logical id of ${name.length} characters or a description of ${Buffer.byteLength(description)} bytes, ` +
          `over CloudFormation's ${OUTPUT_NAME_LIMIT_CHARS} and ${OUTPUT_DESCRIPTION_LIMIT_BYTES}: shorten them`,
      );
    }
  }
  return errors;
}

/** The longest Auto Scaling group name (what a group CloudFormation names may be counted at). */
export const GROUP_NAME_MAX_CHARS = 255;

/**
 * The longest value of each pseudo parameter: `aws-us-gov` and `aws-iso-b`-like partitions, Region names like
 * `ap-southeast-5` or `us-isob-east-1` with room for longer ones, `amazonaws.com.cn` and the ISO suffixes.
 */
const PSEUDO_MAX_CHARS: Record<string, number> = {
  'AWS::Partition': 16,
  'AWS::Region': 24,
  'AWS::AccountId': 12,
  'AWS::URLSuffix': 24,
  'AWS::StackName': 128,
  'AWS::StackId': 256,
  'AWS::NoValue': 0,
};
/** The longest value of `Ref` / `Fn::GetAtt` of the resource types the construct's policies and env use. */
const RESOURCE_MAX_CHARS: Record<string, number> = {
  // A queue's URL (`https://sqs.<region>.<suffix>/<account>/<name of 80>`), ARN, name.
  'AWS::SQS::Queue.Ref': 160,
  'AWS::SQS::Queue.Arn': 160,
  'AWS::SQS::Queue.QueueUrl': 160,
  'AWS::SQS::Queue.QueueName': 80,
  // A log group's ARN: its name is at most 512.
  'AWS::Logs::LogGroup.Ref': 512,
  'AWS::Logs::LogGroup.Arn': 600,
  'AWS::SSM::Document.Ref': 128,
  'AWS::Events::EventBus.Ref': 256,
  'AWS::Events::EventBus.Name': 256,
  'AWS::Events::EventBus.Arn': 340,
  'AWS::AutoScaling::AutoScalingGroup.Ref': GROUP_NAME_MAX_CHARS,
};
/** Anything else: an ARN's own limit. */
const UNKNOWN_MAX_CHARS = 2048;

/** The type of a resource of the template by its logical id (undefined when it is not in this stack). */
export type ResourceTypeOf = (logicalId: string) => string | undefined;

/** The longest the string a resolved CloudFormation value stands for can be once deployed. */
export function maxStringChars(node: unknown, typeOf: ResourceTypeOf): number {
  if (typeof node === 'string') return Token.isUnresolved(node) ? UNKNOWN_MAX_CHARS : node.length;
  if (typeof node === 'number' || typeof node === 'boolean') return String(node).length;
  if (node === null || typeof node !== 'object') return 0;
  const value = node as Record<string, unknown>;
  if (typeof value.Ref === 'string') {
    const pseudo = PSEUDO_MAX_CHARS[value.Ref];
    if (pseudo !== undefined) return pseudo;
    return RESOURCE_MAX_CHARS[`${typeOf(value.Ref)}.Ref`] ?? UNKNOWN_MAX_CHARS;
  }
  if (value['Fn::GetAtt'] !== undefined) {
    const getAtt = value['Fn::GetAtt'];
    const [logicalId, attribute] = (Array.isArray(getAtt) ? getAtt : String(getAtt).split('.')) as string[];
    return RESOURCE_MAX_CHARS[`${typeOf(String(logicalId))}.${attribute}`] ?? UNKNOWN_MAX_CHARS;
  }
  if (Array.isArray(value['Fn::Join'])) {
    const [delimiter, parts] = value['Fn::Join'] as [string, unknown[]];
    const items = Array.isArray(parts) ? parts : [parts];
    return (
      items.reduce<number>((sum, part) => sum + maxStringChars(part, typeOf), 0) +
      delimiter.length * Math.max(0, items.length - 1)
    );
  }
  return UNKNOWN_MAX_CHARS;
}

const isIntrinsic = (value: Record<string, unknown>): boolean => {
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || (keys[0] as string).startsWith('Fn::'));
};

/** The longest the JSON text of a resolved CloudFormation value can be once deployed (no whitespace). */
export function maxJsonChars(node: unknown, typeOf: ResourceTypeOf): number {
  if (typeof node === 'string') {
    // Quotes and escapes as JSON writes them; an unresolved part counts at its longest.
    return Token.isUnresolved(node) ? UNKNOWN_MAX_CHARS + 2 : JSON.stringify(node).length;
  }
  if (Array.isArray(node)) {
    return (
      2 +
      node.reduce<number>((sum, item) => sum + maxJsonChars(item, typeOf), 0) +
      Math.max(0, node.length - 1)
    );
  }
  if (node !== null && typeof node === 'object') {
    const value = node as Record<string, unknown>;
    if (isIntrinsic(value)) return maxStringChars(value, typeOf) + 2;
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    return (
      2 +
      entries.reduce<number>(
        (sum, [key, item]) => sum + JSON.stringify(key).length + 1 + maxJsonChars(item, typeOf),
        0,
      ) +
      Math.max(0, entries.length - 1)
    );
  }
  return node === undefined ? 0 : JSON.stringify(node).length;
}

/** The most leading items for which `fits` holds (it must hold for fewer items whenever it holds for more). */
export function mostThatFit<T>(items: readonly T[], fits: (subset: readonly T[]) => boolean): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (fits(items.slice(0, middle))) low = middle;
    else high = middle - 1;
  }
  return low;
}
