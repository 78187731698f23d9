// What an operator needs for the `fleet-drainer` commands, least privilege: the AWS calls each command makes
// (the CLI calls these and nothing else), as IAM policy statements. One pure function writes them, for
// FleetDrainer.grantOperator (with the stack's ARNs) and for lib/README.md (with placeholders), so the two
// cannot drift.

/** The operator commands: read-only `status` and `report`; `plan` runs the document in plan mode. */
export const OPERATOR_COMMANDS = ['status', 'report', 'plan'] as const;
export type OperatorCommand = (typeof OPERATOR_COMMANDS)[number];

/** Every AWS call of each command. */
export const OPERATOR_CALLS: Readonly<Record<OperatorCommand, readonly string[]>> = {
  status: [
    'cloudformation:DescribeStacks',
    'autoscaling:DescribeAutoScalingGroups',
    'autoscaling:DescribeWarmPool',
    'autoscaling:DescribeLifecycleHooks',
    'ssm:ListCommands',
    'ssm:ListCommandInvocations',
    'ssm:DescribeInstanceInformation',
  ],
  report: [
    'cloudformation:DescribeStacks',
    'ssm:ListCommands',
    'ssm:ListCommandInvocations',
    'ssm:GetCommandInvocation',
  ],
  plan: [
    'cloudformation:DescribeStacks',
    'autoscaling:DescribeAutoScalingInstances',
    'ssm:DescribeInstanceInformation',
    'ssm:SendCommand',
    'ssm:GetCommandInvocation',
  ],
};

/** What the statements name: the stack, the document, any instance, and the drained groups. */
export interface OperatorResources {
  /** `arn:<partition>:cloudformation:<region>:<account>:stack/<stack name>/*` */
  stackArn: string;
  /** `arn:<partition>:ssm:<region>:<account>:document/<document name>` */
  documentArn: string;
  /** `arn:<partition>:ec2:<region>:<account>:instance/*` */
  instanceArn: string;
  groupNames: readonly string[];
}

/** A statement as IAM's JSON has it. */
export interface OperatorStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string;
  Condition?: Record<string, Record<string, string[]>>;
}

/** The tag Auto Scaling puts on the instances a group launches, as SSM's condition key reads it. */
export const GROUP_TAG_CONDITION = 'ssm:resourceTag/aws:autoscaling:groupName';

/**
 * The statements for these commands.
 * - DescribeStacks on the stack only.
 * - The Auto Scaling describes and ListCommands, ListCommandInvocations, GetCommandInvocation and
 *   DescribeInstanceInformation take no resource, so `*` (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2autoscaling.html,
 *   https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html).
 * - SendCommand is authorized on the document and on each instance: the fleet-drain document only, and the
 *   instances a drained group launched (Auto Scaling tags them aws:autoscaling:groupName), as the drainer
 *   Lambda's role. https://docs.aws.amazon.com/systems-manager/latest/userguide/run-command-setting-up.html
 */
export function operatorStatements(
  commands: readonly OperatorCommand[],
  resources: OperatorResources,
): OperatorStatement[] {
  const calls = new Set(commands.flatMap((command) => OPERATOR_CALLS[command]));
  const has = (action: string) => calls.has(action);
  const unscoped = [...calls].filter(
    (action) => action !== 'cloudformation:DescribeStacks' && action !== 'ssm:SendCommand',
  );
  const statements: OperatorStatement[] = [];
  if (has('cloudformation:DescribeStacks')) {
    statements.push(allow('ReadTheDrainerStack', ['cloudformation:DescribeStacks'], resources.stackArn));
  }
  if (unscoped.length > 0) statements.push(allow('CallsWithoutResources', unscoped.sort(), '*'));
  if (has('ssm:SendCommand')) {
    statements.push(allow('RunTheFleetDrainDocumentOnly', ['ssm:SendCommand'], resources.documentArn), {
      ...allow('OnInstancesOfTheDrainedGroupsOnly', ['ssm:SendCommand'], resources.instanceArn),
      Condition: { StringEquals: { [GROUP_TAG_CONDITION]: [...resources.groupNames] } },
    });
  }
  return statements;
}

const allow = (Sid: string, Action: string[], Resource: string): OperatorStatement => ({
  Sid,
  Effect: 'Allow',
  Action,
  Resource,
});

/** An IAM policy document of the statements. */
export const operatorPolicyDocument = (statements: OperatorStatement[]) => ({
  Version: '2012-10-17',
  Statement: statements,
});
