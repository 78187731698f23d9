// SSM's JSON 1.1 API over the commands model: SendCommand, GetCommandInvocation, ListCommands,
// ListCommandInvocations, CancelCommand. Member names from the API reference.
// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetCommandInvocation.html
// DocumentVersion is answered as SendCommand named it (`$DEFAULT` when it named none, or e.g. "1"), the way
// the AWS CLI's send-command examples show it; *assumption* for `$LATEST` (echoed too).

import type { AgentRegistry } from './agents';
import { AwsError, constraintMessage } from './aws-error';
import {
  ACCOUNT_ID,
  type Command,
  type CommandsModel,
  commandStatus,
  type Invocation,
  type ListFilter,
  type SendCommandInput,
  TERMINAL,
} from './commands';
import { epochSeconds } from './json-protocol';
import { paginate } from './paginate';

type Json = Record<string, unknown>;

function commandJson(command: Command): Json {
  const invocations = [...command.invocations.values()];
  const status = commandStatus(command);
  return {
    CommandId: command.commandId,
    DocumentName: command.documentName,
    DocumentVersion: command.requestedVersion,
    Comment: command.comment,
    ExpiresAfter: epochSeconds(
      command.requestedMs + command.timeoutSeconds * 1000 + command.executionTimeoutMs,
    ),
    Parameters: command.parameters,
    InstanceIds: command.instanceIds,
    Targets: [],
    RequestedDateTime: epochSeconds(command.requestedMs),
    Status: status,
    StatusDetails: status,
    OutputS3Region: 'us-west-2',
    OutputS3BucketName: '',
    OutputS3KeyPrefix: '',
    MaxConcurrency: command.maxConcurrency,
    MaxErrors: command.maxErrors,
    TargetCount: invocations.length,
    CompletedCount: invocations.filter((invocation) => TERMINAL.has(invocation.status)).length,
    ErrorCount: invocations.filter(
      (invocation) => TERMINAL.has(invocation.status) && invocation.status !== 'Success',
    ).length,
    DeliveryTimedOutCount: invocations.filter(
      (invocation) => invocation.statusDetails === 'Delivery Timed Out',
    ).length,
    ServiceRole: '',
    NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
    CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
    TimeoutSeconds: command.timeoutSeconds,
  };
}

/** GetCommandInvocation's date-times are strings, not timestamps. */
function isoOrEmpty(ms: number | undefined): string {
  return ms === undefined ? '' : new Date(ms).toISOString();
}

function invocationJson(command: Command, invocation: Invocation, nowMs: number): Json {
  const elapsedMs =
    invocation.startedMs === undefined ? 0 : (invocation.endedMs ?? nowMs) - invocation.startedMs;
  return {
    CommandId: command.commandId,
    InstanceId: invocation.instanceId,
    Comment: command.comment,
    DocumentName: command.documentName,
    DocumentVersion: command.requestedVersion,
    PluginName: command.steps[0]?.name ?? '',
    ResponseCode: invocation.responseCode,
    ExecutionStartDateTime: isoOrEmpty(invocation.startedMs),
    ExecutionElapsedTime: `PT${(elapsedMs / 1000).toFixed(3)}S`,
    ExecutionEndDateTime: isoOrEmpty(invocation.endedMs),
    Status: invocation.status,
    StatusDetails: invocation.statusDetails,
    StandardOutputContent: invocation.stdout,
    StandardOutputUrl: '',
    StandardErrorContent: invocation.stderr,
    StandardErrorUrl: '',
    CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
  };
}

function listInput(input: Json) {
  return {
    commandId: input.CommandId as string | undefined,
    instanceId: input.InstanceId as string | undefined,
    filters: (input.Filters as ListFilter[] | undefined) ?? [],
    maxResults: input.MaxResults as number | undefined,
    nextToken: input.NextToken as string | undefined,
  };
}

/** DescribeInstanceInformation takes 5–50 results per page and at most 50 ids in its InstanceIds filter. */
function describeInstanceInformation(agents: AgentRegistry, input: Json, nowMs: number): Json {
  const maxResults = (input.MaxResults as number | undefined) ?? 50;
  if (maxResults < 5 || maxResults > 50) {
    throw new AwsError(
      'ValidationException',
      constraintMessage(maxResults, 'maxResults', 'have value between 5 and 50'),
    );
  }
  const filters = (input.Filters as { Key?: string; Values?: string[] }[] | undefined) ?? [];
  let instanceIds: string[] | undefined;
  for (const filter of filters) {
    if (filter.Key !== 'InstanceIds')
      throw new AwsError('InvalidFilterKey', `twin: filter key ${filter.Key} is not emulated`);
    // The code is the one SSM's model lists for this operation; the limit of 50 is the twin's own
    // (*assumption*: the legacy InstanceInformationFilter documents 100 values), stricter than AWS at worst.
    // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html
    if ((filter.Values ?? []).length > 50)
      throw new AwsError(
        'InvalidInstanceInformationFilterValue',
        'The InstanceIds filter takes at most 50 values.',
      );
    instanceIds = filter.Values ?? [];
  }
  // "If you specify an instance ID that isn't valid … you receive an error": InvalidInstanceId, whose
  // documented causes include a node shutting down or terminated. The twin refuses any id it does not know
  // (never registered, or terminated); the message is the twin's own (*assumption*).
  // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html
  const unknown = (instanceIds ?? []).filter((id) => !agents.has(id));
  if (unknown.length > 0) {
    throw new AwsError(
      'InvalidInstanceId',
      `Instances [[${unknown.join(', ')}]] not in a valid state for account ${ACCOUNT_ID}`,
    );
  }
  const page = paginate(
    agents.describe(instanceIds, nowMs),
    maxResults,
    input.NextToken as string | undefined,
    'InvalidNextToken',
  );
  return {
    InstanceInformationList: page.items.map((agent) => ({
      InstanceId: agent.instanceId,
      PingStatus: agent.pingStatus,
      LastPingDateTime: epochSeconds(agent.lastPingMs),
      AgentVersion: '3.3.2746.0',
      IsLatestVersion: false,
      PlatformType: 'Linux',
      PlatformName: 'Amazon Linux',
      PlatformVersion: '2023',
      ResourceType: 'EC2Instance',
      IPAddress: '127.0.0.1',
      ComputerName: `${agent.instanceId}.twin.internal`,
      RegistrationDate: epochSeconds(agent.registeredMs),
    })),
    NextToken: page.nextToken,
  };
}

/** Answers one SSM operation. */
export function ssmOperation(
  model: CommandsModel,
  agents: AgentRegistry,
  operation: string,
  input: Json,
  nowMs: number,
): Json {
  switch (operation) {
    case 'DescribeInstanceInformation':
      return describeInstanceInformation(agents, input, nowMs);
    case 'SendCommand':
      return { Command: commandJson(model.sendCommand(input as SendCommandInput)) };
    case 'GetCommandInvocation': {
      const { command, invocation } = model.getInvocation(String(input.CommandId), String(input.InstanceId));
      return invocationJson(command, invocation, nowMs);
    }
    case 'ListCommands': {
      const page = model.listCommands(listInput(input));
      return { Commands: page.items.map(commandJson), NextToken: page.nextToken };
    }
    case 'ListCommandInvocations': {
      const page = model.listInvocations(listInput(input));
      return {
        CommandInvocations: page.items.map(({ command, invocation }) => ({
          CommandId: command.commandId,
          InstanceId: invocation.instanceId,
          InstanceName: '',
          Comment: command.comment,
          DocumentName: command.documentName,
          DocumentVersion: command.requestedVersion,
          RequestedDateTime: epochSeconds(command.requestedMs),
          Status: invocation.status,
          StatusDetails: invocation.statusDetails,
          TraceOutput: '',
          StandardOutputUrl: '',
          StandardErrorUrl: '',
          CommandPlugins: input.Details === true ? [pluginJson(command, invocation)] : [],
          ServiceRole: '',
          NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
          CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
        })),
        NextToken: page.nextToken,
      };
    }
    case 'CancelCommand':
      model.cancelCommand(String(input.CommandId), input.InstanceIds as string[] | undefined);
      return {};
    default:
      throw new AwsError('UnknownOperationException', `Unknown operation ${operation}`);
  }
}

function pluginJson(command: Command, invocation: Invocation): Json {
  return {
    Name: command.steps[0]?.name ?? '',
    Status: invocation.status,
    StatusDetails: invocation.statusDetails,
    ResponseCode: invocation.responseCode,
    ResponseStartDateTime:
      invocation.startedMs === undefined ? undefined : epochSeconds(invocation.startedMs),
    ResponseFinishDateTime: invocation.endedMs === undefined ? undefined : epochSeconds(invocation.endedMs),
    Output: invocation.output ?? '',
    StandardOutputUrl: '',
    StandardErrorUrl: '',
    OutputS3Region: 'us-west-2',
    OutputS3BucketName: '',
    OutputS3KeyPrefix: '',
  };
}
