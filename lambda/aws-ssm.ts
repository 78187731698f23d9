// Edge: SSM Run Command calls for the fleet-drain document. Translates SDK errors into our own classes.
// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html

import {
  CancelCommandCommand,
  type CommandFilter,
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { DrainParameters } from '../agent/drain-parameters';
import { documentBaseName } from './classify-event';
import { commandComment, DELIVERY_TIMEOUT_SECONDS, type ListedCommand } from './drain-command';
import {
  AwsCallError,
  awsErrorCode,
  errorMessage,
  InstanceUnreachableError,
  InvocationNotFoundError,
} from './errors';
import type { SsmPort } from './ports';

/** ListCommands returns at most 50 per page. */
const PAGE_SIZE = 50;

function callError(error: unknown, call: string): AwsCallError {
  return new AwsCallError(`${call} failed: ${awsErrorCode(error) ?? 'Error'}: ${errorMessage(error)}`, {
    cause: error,
  });
}

/** The SSM port for one document over a real (or mocked) client. */
export function createSsmPort(client: SSMClient, documentName: string): SsmPort {
  return {
    async sendDrainCommand(params: DrainParameters) {
      try {
        const response = await client.send(
          new SendCommandCommand({
            DocumentName: documentName,
            InstanceIds: [params.instanceId],
            Parameters: {
              drainId: [params.drainId],
              deadline: [params.deadline],
              instanceId: [params.instanceId],
              autoScalingGroupName: [params.autoScalingGroupName],
              lifecycleHookName: [params.lifecycleHookName],
            },
            Comment: commandComment(params),
            TimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
          }),
        );
        const commandId = response.Command?.CommandId;
        if (!commandId) throw new AwsCallError('SendCommand returned no command id');
        return commandId;
      } catch (error) {
        if (error instanceof AwsCallError) throw error;
        if (awsErrorCode(error) === 'InvalidInstanceId') {
          throw new InstanceUnreachableError(`SendCommand: ${errorMessage(error)}`, { cause: error });
        }
        throw callError(error, 'SendCommand');
      }
    },

    async listCommands({ instanceId, commandId, invokedAfterMs }) {
      // A lookup by command id goes without filters (whether the API combines them is *unconfirmed*); the
      // document is checked on the result instead.
      const filters: CommandFilter[] | undefined =
        commandId !== undefined ? undefined : [{ key: 'DocumentName', value: documentName }];
      if (filters !== undefined && invokedAfterMs !== undefined) {
        filters.push({ key: 'InvokedAfter', value: new Date(invokedAfterMs).toISOString() });
      }
      const listed: ListedCommand[] = [];
      let nextToken: string | undefined;
      try {
        do {
          const page = await client.send(
            new ListCommandsCommand({
              CommandId: commandId,
              InstanceId: instanceId,
              Filters: filters,
              MaxResults: PAGE_SIZE,
              NextToken: nextToken,
            }),
          );
          for (const command of page.Commands ?? []) {
            if (
              command.DocumentName !== undefined &&
              documentBaseName(command.DocumentName) !== documentBaseName(documentName)
            ) {
              continue;
            }
            listed.push({
              commandId: command.CommandId,
              parameters: command.Parameters,
              requestedMs: command.RequestedDateTime?.getTime(),
              status: command.Status,
            });
          }
          nextToken = page.NextToken;
        } while (nextToken);
      } catch (error) {
        // An id SSM does not know (yet): the same as an empty listing.
        if (awsErrorCode(error) === 'InvalidCommandId') return [];
        throw callError(error, 'ListCommands');
      }
      return listed;
    },

    async getInvocation(commandId, instanceId) {
      try {
        const response = await client.send(
          new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
        );
        return {
          status: response.Status ?? 'Unknown',
          statusDetails: response.StatusDetails,
          responseCode: response.ResponseCode,
          stdout: response.StandardOutputContent,
          stderr: response.StandardErrorContent,
        };
      } catch (error) {
        if (awsErrorCode(error) === 'InvocationDoesNotExist') {
          throw new InvocationNotFoundError(`GetCommandInvocation: ${errorMessage(error)}`, { cause: error });
        }
        throw callError(error, 'GetCommandInvocation');
      }
    },

    async cancelCommand(command) {
      try {
        await client.send(
          new CancelCommandCommand({
            CommandId: command.commandId,
            InstanceIds: [command.params.instanceId],
          }),
        );
      } catch (error) {
        // Already finished, or the instance is gone: nothing left to cancel.
        const code = awsErrorCode(error);
        if (code === 'InvalidCommandId' || code === 'InvalidInstanceId') return;
        throw callError(error, 'CancelCommand');
      }
    },
  };
}
