// Edge: SSM Run Command calls for the fleet-drain document. Translates SDK errors into our own classes.
// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html

import {
  CancelCommandCommand,
  type CommandFilter,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { errorCode, errorMessage } from '../../common/errors';
import { documentBaseName } from '../decide/classify-event';
import { ENDED_INVOCATION, isTerminalStatus } from '../decide/command-status';
import {
  batchComment,
  commandComment,
  DELIVERY_TIMEOUT_SECONDS,
  type DrainCommand,
  isBatchedListing,
  type ListedCommand,
  readDrainIds,
  type SentDrainParameters,
} from '../decide/drain-command';
import type { InvocationResult } from '../decide/outcome';
import { AwsCallError, callError, InstanceUnreachableError, InvocationNotFoundError } from './errors';
import type { AgentState, SsmPort } from './ports';

/** What a listing of commands is narrowed to. */
type CommandListing = Parameters<SsmPort['listCommands']>[0];

/**
 * The document version every drain runs: the newest, the content the stack last deployed. `$DEFAULT` has been
 * reported to stay on the old version after an update with `UpdateMethod: NewVersion`.
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/run-command-version.html
 */
export const DRAIN_DOCUMENT_VERSION = '$LATEST';

/** ListCommands returns at most 50 per page. */
const PAGE_SIZE = 50;

/** DescribeInstanceInformation: at most 50 results per page; instance ids per filter kept to the same. */
const AGENT_PAGE_SIZE = 50;

/** SSM returns some times as strings (ExecutionEndDateTime); undefined when absent or unparsable. */
function parseTime(value: string | undefined): number | undefined {
  const ms = value ? Date.parse(value) : Number.NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

async function sendDrainCommand(
  client: SSMClient,
  documentName: string,
  params: SentDrainParameters,
): Promise<string> {
  // A batched start goes to every instance it names, with one comment for all (its group).
  const batch = [...readDrainIds(params.drainIds).keys()];
  try {
    const response = await client.send(
      new SendCommandCommand({
        DocumentName: documentName,
        DocumentVersion: DRAIN_DOCUMENT_VERSION,
        InstanceIds: batch.length > 0 ? batch : [params.instanceId],
        Parameters: {
          drainId: [params.drainId],
          deadline: [params.deadline],
          instanceId: [params.instanceId],
          autoScalingGroupName: [params.autoScalingGroupName],
          lifecycleHookName: [params.lifecycleHookName],
          action: [params.action],
          ...(batch.length > 0 ? { drainIds: [params.drainIds as string] } : {}),
        },
        Comment: batch.length > 0 ? batchComment(params.autoScalingGroupName) : commandComment(params),
        TimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
        // Every host at once, and no early end: SSM's default MaxErrors 0 makes a batch Failed, a terminal
        // status, at its first failed host while the others still drain (API_SendCommand.html MaxErrors,
        // API_Command.html StatusDetails), and the tick would stop heartbeating them.
        MaxConcurrency: '100%',
        MaxErrors: '100%',
      }),
    );
    const commandId = response.Command?.CommandId;
    if (!commandId) throw new AwsCallError('SendCommand returned no command id');
    return commandId;
  } catch (error) {
    if (error instanceof AwsCallError) throw error;
    if (errorCode(error) === 'InvalidInstanceId') {
      throw new InstanceUnreachableError(`SendCommand: ${errorMessage(error)}`, { cause: error });
    }
    throw callError(error, 'SendCommand');
  }
}

async function listCommands(
  client: SSMClient,
  documentName: string,
  listing: CommandListing,
): Promise<ListedCommand[]> {
  return withInvocationStatuses(client, documentName, await listCommandPages(client, documentName, listing));
}

async function listCommandPages(
  client: SSMClient,
  documentName: string,
  { instanceId, commandId, invokedAfterMs, executingOnly }: CommandListing,
): Promise<ListedCommand[]> {
  // A lookup by command id goes without filters (whether the API combines them is *unconfirmed*); the
  // document is checked on the result instead. So is an ARN-configured document: whether SSM records
  // and filters such a command by the ARN or by the name is *unconfirmed*, so the listing is filtered
  // on the base name here, on both sides, and never by the raw configured value.
  let filters: CommandFilter[] | undefined;
  if (commandId === undefined) {
    filters = documentName.startsWith('arn:') ? [] : [{ key: 'DocumentName', value: documentName }];
    if (invokedAfterMs !== undefined) {
      filters.push({ key: 'InvokedAfter', value: new Date(invokedAfterMs).toISOString() });
    }
    // Filters combine: the document's commands, requested after that time, still executing.
    if (executingOnly) filters.push({ key: 'ExecutionStage', value: 'Executing' });
    if (filters.length === 0) filters = undefined;
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
    if (errorCode(error) === 'InvalidCommandId') return [];
    throw callError(error, 'ListCommands');
  }
  return listed;
}

/** Batched commands' statuses read at once, a few calls in flight. */
const INVOCATION_LOOKUPS_IN_FLIGHT = 10;
/** Above this many running batched commands, listings of the unended invocations replace a call each. */
const INVOCATION_LOOKUPS_PER_LISTING = 4;

/**
 * The statuses of an invocation that has not ended which ListCommandInvocations' `Status` filter accepts; its
 * `ExecutionStage` filter is ListCommands' only (API_CommandFilter.html). Listed in the order an invocation
 * goes through them (*assumed*: AWS documents no order; Delayed is a retry of the delivery), one after the
 * other, so one that moves on between two listings is found by the later. One that went back (Delayed to
 * Pending) in between reads as ended for that tick: finishing it finds its own status not terminal and
 * heartbeats it as usual.
 * `Cancelling` is no filter value: an invocation being cancelled reads as ended. That is harmless: only the
 * drainer cancels, once the drain's lifecycle action is over (completed, expired or gone), so nothing waits
 * on that run; finishing it reads its own status (GetCommandInvocation), which is not terminal yet.
 */
const UNENDED_INVOCATION_STATUSES = ['Pending', 'Delayed', 'InProgress'] as const;

/**
 * A command of several instances has one status for all until every invocation has ended (monitor-commands.html):
 * a batched start still running gets each invocation's own, one ListCommandInvocations per 50 instances; for
 * many (the tick of a scale-in), a listing of the document's invocations per unended status, whose pages
 * shrink as drains end, where a call per batch would go on as long as one of its drains runs.
 */
async function withInvocationStatuses(
  client: SSMClient,
  documentName: string,
  listed: ListedCommand[],
): Promise<ListedCommand[]> {
  const running = listed.filter(
    (command) =>
      isBatchedListing(command) && command.commandId !== undefined && !isTerminalStatus(command.status ?? ''),
  );
  if (running.length > INVOCATION_LOOKUPS_PER_LISTING) {
    const unended = await unendedInvocations(client, documentName);
    for (const command of running) {
      const own = unended.get(command.commandId as string);
      // None listed: SSM may not show a command's invocations yet (eventual consistency): its status stands.
      if (own === undefined) continue;
      const members = [...readDrainIds(command.parameters?.drainIds?.[0]).keys()];
      command.invocationStatuses = new Map(members.map((id) => [id, own.get(id) ?? ENDED_INVOCATION]));
    }
    return listed;
  }
  for (let index = 0; index < running.length; index += INVOCATION_LOOKUPS_IN_FLIGHT) {
    await Promise.all(
      running.slice(index, index + INVOCATION_LOOKUPS_IN_FLIGHT).map(async (command) => {
        command.invocationStatuses = await invocationStatuses(client, command.commandId as string);
      }),
    );
  }
  return listed;
}

/**
 * The document's invocations that have not ended: command id → instance id → status. One listing per status,
 * all pages: whether one call may carry the `Status` key twice is not documented.
 */
async function unendedInvocations(
  client: SSMClient,
  documentName: string,
): Promise<Map<string, Map<string, string>>> {
  const byCommand = new Map<string, Map<string, string>>();
  for (const status of UNENDED_INVOCATION_STATUSES) {
    const filters: CommandFilter[] = documentName.startsWith('arn:')
      ? []
      : [{ key: 'DocumentName', value: documentName }];
    filters.push({ key: 'Status', value: status });
    let nextToken: string | undefined;
    try {
      do {
        const page = await client.send(
          new ListCommandInvocationsCommand({
            Filters: filters,
            MaxResults: PAGE_SIZE,
            NextToken: nextToken,
          }),
        );
        for (const { CommandId, InstanceId, Status } of page.CommandInvocations ?? []) {
          if (CommandId === undefined || InstanceId === undefined || Status === undefined) continue;
          byCommand.set(
            CommandId,
            (byCommand.get(CommandId) ?? new Map<string, string>()).set(InstanceId, Status),
          );
        }
        nextToken = page.NextToken;
      } while (nextToken);
    } catch (error) {
      throw callError(error, 'ListCommandInvocations');
    }
  }
  return byCommand;
}

async function invocationStatuses(client: SSMClient, commandId: string): Promise<Map<string, string>> {
  const statuses = new Map<string, string>();
  let nextToken: string | undefined;
  try {
    do {
      const page = await client.send(
        new ListCommandInvocationsCommand({
          CommandId: commandId,
          MaxResults: PAGE_SIZE,
          NextToken: nextToken,
        }),
      );
      for (const invocation of page.CommandInvocations ?? []) {
        if (invocation.InstanceId !== undefined && invocation.Status !== undefined)
          statuses.set(invocation.InstanceId, invocation.Status);
      }
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (error) {
    throw callError(error, 'ListCommandInvocations');
  }
  return statuses;
}

/** Commands read by id, at most this many remembered (a batch's parameters are about 3 KB). */
const REMEMBERED_COMMANDS = 1000;

/** readCommand over one client: a command's parameters and request time never change. */
function commandReader(client: SSMClient, documentName: string): SsmPort['readCommand'] {
  const remembered = new Map<string, ListedCommand>();
  return async (commandId) => {
    const known = remembered.get(commandId);
    if (known !== undefined) return known;
    const found = (await listCommandPages(client, documentName, { commandId })).find(
      (command) => command.commandId === commandId,
    );
    if (found === undefined) return undefined;
    if (remembered.size >= REMEMBERED_COMMANDS) remembered.delete(remembered.keys().next().value as string);
    remembered.set(commandId, found);
    return found;
  };
}

async function getInvocation(
  client: SSMClient,
  commandId: string,
  instanceId: string,
): Promise<InvocationResult> {
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
      endedMs: parseTime(response.ExecutionEndDateTime),
      startedMs: parseTime(response.ExecutionStartDateTime),
      comment: response.Comment,
      documentName: response.DocumentName,
    };
  } catch (error) {
    if (errorCode(error) === 'InvocationDoesNotExist') {
      throw new InvocationNotFoundError(`GetCommandInvocation: ${errorMessage(error)}`, { cause: error });
    }
    throw callError(error, 'GetCommandInvocation');
  }
}

async function describeAgents(
  client: SSMClient,
  instanceIds: readonly string[],
): Promise<Map<string, AgentState>> {
  const agents = new Map<string, AgentState>();
  // SSM answers InvalidInstanceId for the whole call when one id is terminated or shutting down ("If you
  // specify an instance ID that isn't valid … you receive an error"), and a tick looks up exactly the hosts
  // that may have died. So a refused set is split in halves until the refused ids stand alone: those are
  // gone (left out of the map, as SSM leaves out what it does not know), the others are still read.
  // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html
  const describe = async (ids: readonly string[]): Promise<void> => {
    try {
      let nextToken: string | undefined;
      do {
        const page = await client.send(
          new DescribeInstanceInformationCommand({
            Filters: [{ Key: 'InstanceIds', Values: [...ids] }],
            MaxResults: AGENT_PAGE_SIZE,
            NextToken: nextToken,
          }),
        );
        for (const info of page.InstanceInformationList ?? []) {
          if (info.InstanceId === undefined) continue;
          agents.set(info.InstanceId, {
            pingStatus: info.PingStatus ?? 'Unknown',
            lastPingMs: info.LastPingDateTime?.getTime(),
          });
        }
        nextToken = page.NextToken;
      } while (nextToken);
      return;
    } catch (error) {
      if (errorCode(error) !== 'InvalidInstanceId') throw callError(error, 'DescribeInstanceInformation');
    }
    if (ids.length === 1) return;
    const half = Math.ceil(ids.length / 2);
    await describe(ids.slice(0, half));
    await describe(ids.slice(half));
  };
  for (let index = 0; index < instanceIds.length; index += AGENT_PAGE_SIZE) {
    await describe(instanceIds.slice(index, index + AGENT_PAGE_SIZE));
  }
  return agents;
}

async function cancelCommand(client: SSMClient, command: DrainCommand): Promise<void> {
  try {
    await client.send(
      new CancelCommandCommand({
        CommandId: command.commandId,
        InstanceIds: [command.params.instanceId],
      }),
    );
  } catch (error) {
    // Already finished, or the instance is gone: nothing left to cancel.
    const code = errorCode(error);
    if (code === 'InvalidCommandId' || code === 'InvalidInstanceId') return;
    throw callError(error, 'CancelCommand');
  }
}

/** The SSM port for one document over a real (or mocked) client. */
export function createSsmPort(client: SSMClient, documentName: string): SsmPort {
  return {
    sendDrainCommand: (params) => sendDrainCommand(client, documentName, params),
    readCommand: commandReader(client, documentName),
    listCommands: (listing) => listCommands(client, documentName, listing),
    getInvocation: (commandId, instanceId) => getInvocation(client, commandId, instanceId),
    describeAgents: (instanceIds) => describeAgents(client, instanceIds),
    cancelCommand: (command) => cancelCommand(client, command),
  };
}
