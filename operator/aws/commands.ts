// Edge: sending the plan command and reading invocations back.
// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html
// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetCommandInvocation.html

import { SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { errorCode } from '../../common/errors';
import { InvocationNotFoundError } from '../../lambda/aws/errors';
import { createSsmPort, DRAIN_DOCUMENT_VERSION } from '../../lambda/aws/ssm';
import { isTerminalStatus } from '../../lambda/decide/command-status';
import type { InvocationResult } from '../../lambda/decide/outcome';
import { EXIT, OperatorError } from '../exit-codes';
import { AwsOperationError } from '../explain-error';
import { PLAN_DELIVERY_TIMEOUT_SECONDS } from '../plan-request';
import { tagged } from './fleet';

/** Sends the plan; an instance SSM cannot reach is named as such. */
export async function sendPlanCommand(
  client: SSMClient,
  documentName: string,
  instanceId: string,
  parameters: Record<string, string[]>,
  comment: string,
): Promise<string> {
  try {
    const response = await client.send(
      new SendCommandCommand({
        DocumentName: documentName,
        // The content the stack last deployed, as the Lambda's drains run (lambda/aws/ssm.ts).
        DocumentVersion: DRAIN_DOCUMENT_VERSION,
        InstanceIds: [instanceId],
        Parameters: parameters,
        Comment: comment,
        TimeoutSeconds: PLAN_DELIVERY_TIMEOUT_SECONDS,
      }),
    );
    const commandId = response.Command?.CommandId;
    if (!commandId) throw new Error('SendCommand returned no command id');
    return commandId;
  } catch (error) {
    if (errorCode(error) === 'InvalidInstanceId') throw notManaged(instanceId, 'SendCommand refused it');
    throw new AwsOperationError('ssm:SendCommand', error);
  }
}

/** The one line for an instance SSM does not manage or cannot reach. */
export function notManaged(instanceId: string, why: string): OperatorError {
  return new OperatorError(
    `instance ${instanceId} is not managed by SSM (${why}): start its SSM Agent and give its instance profile AmazonSSMManagedInstanceCore, then retry`,
    EXIT.unavailable,
  );
}

/** One invocation; undefined while SSM does not show it yet. */
export async function invocation(
  client: SSMClient,
  commandId: string,
  instanceId: string,
): Promise<InvocationResult | undefined> {
  try {
    return await tagged('ssm:GetCommandInvocation', () =>
      createSsmPort(client, 'unused').getInvocation(commandId, instanceId),
    );
  } catch (error) {
    if (error instanceof AwsOperationError && error.cause instanceof InvocationNotFoundError)
      return undefined;
    throw error;
  }
}

export interface PollTiming {
  nowMs: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Give up after this long. */
  timeoutMs: number;
  intervalMs: number;
}

/** Polls until the invocation ends or the time is up; the last one seen (undefined: never seen). */
export async function waitForInvocation(
  client: SSMClient,
  commandId: string,
  instanceId: string,
  timing: PollTiming,
): Promise<{ result: InvocationResult | undefined; ended: boolean }> {
  const giveUpMs = timing.nowMs() + timing.timeoutMs;
  let result: InvocationResult | undefined;
  for (;;) {
    // Right after SendCommand SSM may answer InvocationDoesNotExist: not visible yet.
    result = (await invocation(client, commandId, instanceId)) ?? result;
    if (result !== undefined && isTerminalStatus(result.status)) return { result, ended: true };
    if (timing.nowMs() + timing.intervalMs > giveUpMs) return { result, ended: false };
    await timing.sleep(timing.intervalMs);
  }
}
