// `fleet-drainer report <instance-id|command-id>`: the agent's report of an instance's latest drain (or of
// one command), read from the command's output as the Lambda reads it.

import type { OperatorConfig } from '../common/operator-config';
import type { ListedCommand } from '../lambda/decide/drain-command';
import { triggerOfDrainId } from '../lambda/decide/drain-command';
import type { OperatorClients } from './aws/clients';
import { invocation } from './aws/commands';
import { listedCommands } from './aws/fleet';
import { readDrainers } from './aws/stack';
import { EXIT, OperatorError } from './exit-codes';
import { INSTANCE_ID } from './plan-request';
import { type ReportResult, readOutput } from './report-view';

/** SSM command ids are UUIDs. */
export const COMMAND_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What `report` was asked about. */
export type ReportSubject = { instanceId: string } | { commandId: string };

/** Reads the argument; OperatorError (usage) when it is neither an instance id nor a command id. */
export function reportSubject(argument: string | undefined): ReportSubject {
  if (argument !== undefined && INSTANCE_ID.test(argument)) return { instanceId: argument };
  if (argument !== undefined && COMMAND_ID.test(argument)) return { commandId: argument };
  throw new OperatorError(
    `report needs an instance id (i-0123456789abcdef0) or a command id (a UUID), got ${argument === undefined ? 'nothing' : `"${argument}"`}`,
    EXIT.usage,
  );
}

const first = (command: ListedCommand, name: string) => command.parameters?.[name]?.[0];

/** The newest command of the drainers' documents for the subject; plan commands only when asked by id. */
async function findCommand(
  clients: OperatorClients,
  drainers: readonly OperatorConfig[],
  subject: ReportSubject,
): Promise<ListedCommand | undefined> {
  let newest: ListedCommand | undefined;
  for (const document of new Set(drainers.map((drainer) => drainer.document))) {
    const listed = await listedCommands(clients.ssm, document, subject);
    for (const command of listed) {
      if ('instanceId' in subject && first(command, 'action') === 'plan') continue;
      if (newest === undefined || (command.requestedMs ?? 0) > (newest.requestedMs ?? 0)) newest = command;
    }
  }
  return newest;
}

export async function report(
  clients: OperatorClients,
  options: { stack: string; subject: ReportSubject },
): Promise<ReportResult & { plan: boolean; stdout: string | undefined }> {
  const { subject } = options;
  const drainers = await readDrainers(clients.cloudFormation, options.stack);
  const command = await findCommand(clients, drainers, subject);
  const instanceId = 'instanceId' in subject ? subject.instanceId : command && first(command, 'instanceId');
  if (command?.commandId === undefined || instanceId === undefined) {
    const documents = drainers.map((drainer) => drainer.document).join(', ');
    throw new OperatorError(
      'instanceId' in subject
        ? `no drain command for ${subject.instanceId} in the history of ${documents}: it was never drained here (pass --region where it ran), or SSM no longer keeps the command`
        : `command ${subject.commandId} is not a command of ${documents}: pass the command id status shows, or --region where it ran`,
      EXIT.notFound,
    );
  }
  const found = await invocation(clients.ssm, command.commandId, instanceId);
  if (found === undefined) {
    throw new OperatorError(
      `SSM has no invocation of command ${command.commandId} on ${instanceId} yet: retry in a few seconds`,
      EXIT.notFound,
    );
  }
  const drainId = first(command, 'drainId');
  const plan = first(command, 'action') === 'plan';
  return {
    instanceId,
    commandId: command.commandId,
    drainId,
    trigger: plan ? 'plan' : drainId === undefined ? undefined : triggerOfDrainId(drainId),
    status: found.status,
    statusDetails: found.statusDetails,
    responseCode: found.responseCode,
    requestedMs: command.requestedMs,
    startedMs: found.startedMs,
    endedMs: found.endedMs,
    output: readOutput(found.stdout),
    plan,
    stdout: found.stdout,
  };
}
