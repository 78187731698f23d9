// Every failure an operator meets is one line naming the cause and the fix, with its documented exit code
// and never a stack trace: the errors as AWS and SDK v3 raise them, thrown by the mocked clients.

import { DescribeLifecycleHooksCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ListCommandsCommand } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from 'vitest';
import { deniedAction } from '../../operator/explain-error';
import {
  cloudFormationError,
  DRAINER,
  INSTANCE,
  mocks,
  queryError,
  REGION,
  resetMocks,
  run,
  serveGroup,
  ssmError,
} from './helpers';

beforeEach(() => resetMocks());

/** A run's stderr is exactly one line, with no stack frame in it. */
function oneLine(stderr: string): string {
  const lines = stderr.split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[1]).toBe('');
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0] as string;
}

/** The SDK's default chain when no provider has credentials (@smithy/property-provider). */
function credentialsProviderError(): Error {
  const error = new Error('Could not load credentials from any providers');
  error.name = 'CredentialsProviderError';
  return Object.assign(error, { tryNextLink: false });
}

describe('errors', () => {
  it('no credentials: exit 77, names the ways to give some', async () => {
    mocks.cloudFormation.on(DescribeStacksCommand).rejects(credentialsProviderError());
    const result = await run('status', []);
    expect(result.code).toBe(77);
    expect(oneLine(result.stderr)).toBe(
      'fleet-drainer status: no AWS credentials found: pass --profile NAME, set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login`',
    );
  });

  it('no credentials for the chosen profile: exit 77, names the profile', async () => {
    mocks.cloudFormation.on(DescribeStacksCommand).rejects(credentialsProviderError());
    const result = await run('status', ['--profile', 'ops']);
    expect(result.code).toBe(77);
    expect(oneLine(result.stderr)).toBe(
      'fleet-drainer status: no AWS credentials for profile ops: check it in ~/.aws/config and ~/.aws/credentials, or run `aws sso login --profile ops`',
    );
  });

  it('expired credentials: exit 77', async () => {
    mocks.cloudFormation
      .on(DescribeStacksCommand)
      .rejects(cloudFormationError('ExpiredToken', 'The security token included in the request is expired'));
    const result = await run('report', [INSTANCE]);
    expect(result.code).toBe(77);
    expect(oneLine(result.stderr)).toContain('AWS refused the credentials (ExpiredToken)');
  });

  it('stack not found (or another region): exit 66, names the stack and the region', async () => {
    mocks.cloudFormation
      .on(DescribeStacksCommand)
      .rejects(cloudFormationError('ValidationError', 'Stack with id Drainer does not exist'));
    const result = await run('status', ['--stack', 'Drainer']);
    expect(result.code).toBe(66);
    expect(oneLine(result.stderr)).toBe(
      `fleet-drainer status: stack Drainer not found in ${REGION}: pass --stack NAME (the stack holding the FleetDrainer) and --region REGION (where it is deployed)`,
    );
  });

  it('a stack without a drainer output: exit 66', async () => {
    resetMocks(null);
    const result = await run('plan', ['--instance', INSTANCE]);
    expect(result.code).toBe(66);
    expect(oneLine(result.stderr)).toContain('stack FleetDrainer has no fleet-drainer output');
  });

  it('a drainer output of another version: exit 78, names both versions', async () => {
    resetMocks({ ...DRAINER, v: 2 as never });
    const result = await run('status', []);
    expect(result.code).toBe(78);
    expect(oneLine(result.stderr)).toContain(
      "the stack's fleet-drainer output is version 2, this command reads version 1",
    );
  });

  it('access denied: exit 77, names the action from AWS message', async () => {
    serveGroup({ [INSTANCE]: 'Terminating:Wait' });
    mocks.ssm
      .on(ListCommandsCommand)
      .rejects(
        ssmError(
          'AccessDeniedException',
          'User: arn:aws:sts::123456789012:assumed-role/ops/alice is not authorized to perform: ssm:ListCommands on resource: arn:aws:ssm:eu-west-1:123456789012:* because no identity-based policy allows the ssm:ListCommands action',
        ),
      );
    const result = await run('status', []);
    expect(result.code).toBe(77);
    expect(oneLine(result.stderr)).toBe(
      'fleet-drainer status: access denied: your credentials lack ssm:ListCommands: grant it to your role (FleetDrainer.grantOperator, or the policy in lib/README.md "Operators")',
    );
  });

  it("access denied without AWS's phrase: names the IAM action of the call", async () => {
    serveGroup({ [INSTANCE]: 'Terminating:Wait' });
    mocks.autoScaling.on(DescribeLifecycleHooksCommand).rejects(queryError('AccessDenied', 'Access denied'));
    const result = await run('status', []);
    expect(result.code).toBe(77);
    expect(oneLine(result.stderr)).toContain('your credentials lack autoscaling:DescribeLifecycleHooks');
  });

  it('reads the action out of the forms of AWS access denied messages', () => {
    expect(
      deniedAction(
        'User: arn:aws:iam::123456789012:user/ops is not authorized to perform: cloudformation:DescribeStacks on resource: arn:aws:cloudformation:eu-west-1:123456789012:stack/FleetDrainer/* with an explicit deny in a service control policy',
      ),
    ).toBe('cloudformation:DescribeStacks');
    expect(deniedAction('Access denied')).toBeUndefined();
  });

  it('throttling past the retries: exit 1, says to retry', async () => {
    mocks.cloudFormation
      .on(DescribeStacksCommand)
      .rejects(cloudFormationError('Throttling', 'Rate exceeded'));
    const result = await run('status', []);
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toBe(
      'fleet-drainer status: AWS throttled cloudformation:DescribeStacks past the retries (Throttling): retry in a minute',
    );
  });

  it('a network failure: exit 1, names the endpoint setting to check', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' });
    mocks.cloudFormation.on(DescribeStacksCommand).rejects(refused);
    const result = await run('status', []);
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toContain(
      'cannot reach AWS for cloudformation:DescribeStacks (ECONNREFUSED)',
    );
  });

  it.each([
    ['status', ['--region', 'Europe'], '--region must be an AWS region such as us-east-1, got "Europe"'],
    ['status', ['--group', 'bad group'], '--group must be an Auto Scaling group name'],
    ['status', ['--instance', INSTANCE], 'status takes no --instance'],
    ['status', ['extra'], 'status: unexpected argument "extra"'],
    ['status', ['--profile', 'a b'], '--profile must be a profile name'],
  ] as const)('%s %j: exit 64 before any AWS call', async (command, args, message) => {
    const result = await run(command, [...args]);
    expect(result.code).toBe(64);
    expect(oneLine(result.stderr)).toContain(message);
    expect(Object.values(mocks).every((mock) => mock.calls().length === 0)).toBe(true);
  });
});
