// SSM Run Command as a pure model over an injected clock: commands, one invocation per instance, statuses
// as SSM reports them, the eventual consistency right after SendCommand, delivery and execution timeouts,
// cancellation. Running the script is a port (`InvocationRunner`), so the model never touches a process.
// https://docs.aws.amazon.com/systems-manager/latest/userguide/monitor-commands.html

import { randomUUID } from 'node:crypto';
import { AwsError, constraintMessage } from './aws-error';
import type { Clock } from './clock';
import { pluginOutput, standardErrorContent, standardOutputContent } from './command-output';
import { type DocumentContent, renderSteps, resolveParameters, type ShellStep } from './document';
import { paginate } from './paginate';

export const TERMINAL = new Set([
  'Success',
  'Failed',
  'Cancelled',
  'TimedOut',
  'Undeliverable',
  'Terminated',
]);
/** How long GetCommandInvocation answers InvocationDoesNotExist after SendCommand (eventual consistency). */
export const DEFAULT_VISIBILITY_DELAY_MS = 1000;
/** The account id that the twin's error messages and ARNs name. */
export const ACCOUNT_ID = '123456789012';

export interface Invocation {
  commandId: string;
  instanceId: string;
  status: string;
  statusDetails: string;
  responseCode: number;
  stdout: string;
  stderr: string;
  /** The plugin's `Output` (ListCommandInvocations with Details), once the run ended. */
  output?: string;
  startedMs: number | undefined;
  endedMs: number | undefined;
}

export interface Command {
  commandId: string;
  documentName: string;
  /** The document version the command runs (the default version when SendCommand names none). */
  documentVersion: number;
  /** The version as SendCommand named it (`$DEFAULT` when it named none): what the API answers. */
  requestedVersion: string;
  comment: string;
  parameters: Record<string, string[]>;
  instanceIds: string[];
  requestedMs: number;
  timeoutSeconds: number;
  executionTimeoutMs: number;
  steps: ShellStep[];
  invocations: Map<string, Invocation>;
  /** As SendCommand named them, or their defaults: `50` and `0`. */
  maxConcurrency: string;
  maxErrors: string;
}

/** How a run ends, as the runner sees it. */
export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a command's steps on an instance. */
export interface InvocationRunner {
  /** Whether the instance has a registered, online SSM Agent. */
  isOnline(instanceId: string): boolean;
  /** Starts the steps; `done` is called once unless the instance vanishes. Returns how to kill the run. */
  run(command: Command, instanceId: string, done: (result: RunResult) => void): { kill(): void };
}

export interface CommandListener {
  invocationChanged(command: Command, invocation: Invocation): void;
}

export interface SendCommandInput {
  DocumentName?: string;
  InstanceIds?: string[];
  Parameters?: Record<string, string[]>;
  Comment?: string;
  TimeoutSeconds?: number;
  DocumentVersion?: string;
  MaxConcurrency?: string;
  MaxErrors?: string;
}

/** SendCommand's MaxConcurrency and MaxErrors patterns (API_SendCommand.html). */
const MAX_CONCURRENCY_PATTERN = /^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$/;
const MAX_ERRORS_PATTERN = /^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$/;

export interface ListFilter {
  key: string;
  value: string;
}

/** SendCommand's limit on InstanceIds. */
export const MAX_INSTANCE_IDS = 50;

/** The Status filter values of each listing (API_CommandFilter.html): the two lists differ. */
export const STATUS_FILTER_VALUES = {
  ListCommands: [
    'Pending',
    'InProgress',
    'Success',
    'Cancelled',
    'Failed',
    'TimedOut',
    'AccessDenied',
    'DeliveryTimedOut',
    'ExecutionTimedOut',
    'Incomplete',
    'NoInstancesInTag',
    'LimitExceeded',
  ],
  ListCommandInvocations: [
    'Pending',
    'InProgress',
    'Delayed',
    'Success',
    'Cancelled',
    'Failed',
    'TimedOut',
    'AccessDenied',
    'DeliveryTimedOut',
    'ExecutionTimedOut',
    'Undeliverable',
    'InvalidPlatform',
    'Terminated',
  ],
};

/** The listing a filter belongs to. */
type ListOperation = keyof typeof STATUS_FILTER_VALUES;

/** What a listing's filters are checked against: a command, or one of its invocations. */
interface ListedRow {
  documentName: string;
  requestedMs: number;
  status: string;
  statusDetails: string;
}

/** The Run Command service for a set of documents. */
export class CommandsModel {
  private readonly commands: Command[] = [];
  /** Indexes, so that a fleet of thousands (the scale bench) costs no scan per call. */
  private readonly byId = new Map<string, Command>();
  private readonly byInstance = new Map<string, Command[]>();
  /** Commands with an invocation not yet in a terminal status: what `advance` has to look at. */
  private readonly live = new Set<Command>();
  private readonly kills = new Map<string, { kill(): void }>();
  /** Every version of each document, version 1 first. */
  private readonly versions = new Map<string, DocumentContent[]>();
  /** Each document's default version (1 until something sets it). */
  private readonly defaultVersions = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    documents: ReadonlyMap<string, DocumentContent>,
    private readonly runner: InvocationRunner,
    private readonly listener: CommandListener,
    private readonly visibilityDelayMs = DEFAULT_VISIBILITY_DELAY_MS,
  ) {
    for (const [name, content] of documents) {
      this.versions.set(name, [content]);
      this.defaultVersions.set(name, 1);
    }
  }

  /**
   * A stack update of a document with `UpdateMethod: NewVersion`: a new, latest version that does NOT become
   * the default. CloudFormation documents that it does, yet has been reported to leave the default where it
   * was (github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/2539): the twin takes the worse
   * case, so that only a sender that names the version it wants runs the new one. Commands already sent keep
   * the version they were sent with. Returns the new version number.
   */
  addDocumentVersion(name: string, content: DocumentContent): number {
    const versions = this.versions.get(name);
    if (versions === undefined)
      throw new AwsError('InvalidDocument', `Document with name ${name} does not exist.`);
    versions.push(content);
    return versions.length;
  }

  /** UpdateDocumentDefaultVersion: what CloudFormation is documented to do after a NewVersion update. */
  setDefaultVersion(name: string, version: number): void {
    const versions = this.versions.get(name);
    if (versions === undefined)
      throw new AwsError('InvalidDocument', `Document with name ${name} does not exist.`);
    if (!Number.isInteger(version) || version < 1 || version > versions.length)
      throw new AwsError('InvalidDocumentVersion', `Document version ${version} does not exist.`);
    this.defaultVersions.set(name, version);
  }

  sendCommand(input: SendCommandInput): Command {
    const documentName = documentBaseName(input.DocumentName ?? '');
    const versions = this.versions.get(documentName);
    if (versions === undefined)
      throw new AwsError('InvalidDocument', `Document with name ${documentName} does not exist.`);
    // `$DEFAULT` (also when none is named), `$LATEST` or a version number.
    // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html
    const requested = input.DocumentVersion ?? '$DEFAULT';
    const documentVersion =
      requested === '$DEFAULT'
        ? (this.defaultVersions.get(documentName) ?? 1)
        : requested === '$LATEST'
          ? versions.length
          : /^[1-9][0-9]*$/.test(requested)
            ? Number(requested)
            : 0;
    const content = versions[documentVersion - 1];
    if (content === undefined)
      throw new AwsError('InvalidDocumentVersion', `Document version ${requested} does not exist.`);
    const timeoutSeconds = input.TimeoutSeconds ?? 3600;
    if (timeoutSeconds < 30 || timeoutSeconds > 2_592_000) {
      throw new AwsError(
        'ValidationException',
        constraintMessage(timeoutSeconds, 'timeoutSeconds', 'have value between 30 and 2592000'),
      );
    }
    if ((input.Comment ?? '').length > 100) {
      throw new AwsError(
        'ValidationException',
        constraintMessage(input.Comment, 'comment', 'have length less than or equal to 100'),
      );
    }
    const instanceIds = input.InstanceIds ?? [];
    if (instanceIds.length === 0)
      throw new AwsError('ValidationException', 'InstanceIds or Targets must be specified.');
    // "you can specify up to 50 IDs" (API_SendCommand.html); the message is the usual constraint wording.
    if (instanceIds.length > MAX_INSTANCE_IDS) {
      throw new AwsError(
        'ValidationException',
        constraintMessage(
          instanceIds,
          'instanceIds',
          `have length less than or equal to ${MAX_INSTANCE_IDS}`,
        ),
      );
    }
    const maxConcurrency = input.MaxConcurrency ?? '50';
    const maxErrors = input.MaxErrors ?? '0';
    for (const [name, value, pattern] of [
      ['maxConcurrency', maxConcurrency, MAX_CONCURRENCY_PATTERN],
      ['maxErrors', maxErrors, MAX_ERRORS_PATTERN],
    ] as const) {
      if (!pattern.test(value)) {
        throw new AwsError(
          'ValidationException',
          constraintMessage(value, name, `satisfy regular expression pattern: ${pattern.source}`),
        );
      }
    }
    const values = resolveParameters(content, input.Parameters);
    const offline = instanceIds.filter((id) => !this.runner.isOnline(id));
    if (offline.length > 0) {
      throw new AwsError(
        'InvalidInstanceId',
        `Instances [[${offline.join(', ')}]] not in a valid state for account ${ACCOUNT_ID}`,
      );
    }
    const steps = renderSteps(content, values);
    const now = this.clock.now();
    const command: Command = {
      commandId: randomUUID(),
      documentName,
      documentVersion,
      requestedVersion: requested,
      comment: input.Comment ?? '',
      parameters: input.Parameters ?? {},
      instanceIds,
      requestedMs: now,
      timeoutSeconds,
      executionTimeoutMs: steps.reduce((sum, step) => sum + step.executionTimeoutMs, 0),
      steps,
      invocations: new Map(),
      maxConcurrency,
      maxErrors,
    };
    this.commands.push(command);
    this.byId.set(command.commandId, command);
    this.live.add(command);
    for (const instanceId of command.instanceIds)
      this.byInstance.set(instanceId, [...(this.byInstance.get(instanceId) ?? []), command]);
    for (const instanceId of instanceIds) {
      const invocation: Invocation = {
        commandId: command.commandId,
        instanceId,
        status: 'Pending',
        statusDetails: 'Pending',
        responseCode: -1,
        stdout: '',
        stderr: '',
        startedMs: undefined,
        endedMs: undefined,
      };
      command.invocations.set(instanceId, invocation);
      this.listener.invocationChanged(command, invocation);
    }
    return command;
  }

  getInvocation(commandId: string, instanceId: string): { command: Command; invocation: Invocation } {
    const command = this.byId.get(commandId);
    const invocation = command?.invocations.get(instanceId);
    // No message: SSM sends only the code.
    if (command === undefined || invocation === undefined || !this.isVisible(command))
      throw new AwsError('InvocationDoesNotExist', '');
    return { command, invocation };
  }

  /** ListCommands: newest first (*unconfirmed*), filtered, 1–50 per page. */
  listCommands(input: {
    commandId?: string;
    instanceId?: string;
    filters?: ListFilter[];
    maxResults?: number;
    nextToken?: string;
  }) {
    let commands =
      input.instanceId !== undefined
        ? [...(this.byInstance.get(input.instanceId) ?? [])].reverse()
        : [...this.commands].reverse();
    if (input.commandId !== undefined) {
      commands = commands.filter((command) => command.commandId === input.commandId);
      if (commands.length === 0 && !this.byId.has(input.commandId))
        throw new AwsError('InvalidCommandId', '');
    }
    const matches = filterMatcher('ListCommands', input.filters ?? []);
    commands = commands.filter((command) => matches(commandRow(command)));
    return paginate(commands, pageSize(input.maxResults), input.nextToken, 'InvalidNextToken');
  }

  /** ListCommandInvocations: invocations SSM has made visible, filtered, 1–50 per page. */
  listInvocations(input: {
    commandId?: string;
    instanceId?: string;
    filters?: ListFilter[];
    maxResults?: number;
    nextToken?: string;
  }) {
    const matches = filterMatcher('ListCommandInvocations', input.filters ?? []);
    const rows = [...this.commands]
      .reverse()
      .filter(
        (command) =>
          this.isVisible(command) && (input.commandId === undefined || command.commandId === input.commandId),
      )
      .flatMap((command) => [...command.invocations.values()].map((invocation) => ({ command, invocation })))
      .filter(
        ({ invocation }) => input.instanceId === undefined || invocation.instanceId === input.instanceId,
      )
      .filter(({ command, invocation }) =>
        matches({
          documentName: command.documentName,
          requestedMs: command.requestedMs,
          status: invocation.status,
          statusDetails: invocation.statusDetails,
        }),
      );
    return paginate(rows, pageSize(input.maxResults), input.nextToken, 'InvalidNextToken');
  }

  /** CancelCommand: a pending invocation ends at once, a running one goes through Cancelling. */
  cancelCommand(commandId: string, instanceIds: string[] | undefined): void {
    const command = this.byId.get(commandId);
    if (command === undefined) throw new AwsError('InvalidCommandId', '');
    const unknown = (instanceIds ?? []).filter((id) => !command.invocations.has(id));
    if (unknown.length > 0)
      throw new AwsError(
        'InvalidInstanceId',
        `Instances [[${unknown.join(', ')}]] not in a valid state for account ${ACCOUNT_ID}`,
      );
    for (const invocation of command.invocations.values()) {
      if (instanceIds !== undefined && instanceIds.length > 0 && !instanceIds.includes(invocation.instanceId))
        continue;
      if (invocation.status === 'Pending') this.end(command, invocation, 'Cancelled', 'Cancelled', -1);
      else if (invocation.status === 'InProgress') {
        this.change(command, invocation, 'Cancelling', 'Cancelling');
        this.kills.get(key(command, invocation))?.kill();
      }
    }
  }

  /**
   * Delivers pending invocations to online agents, and applies the timeouts that are due: an agent that stays
   * offline ends in `Delivery Timed Out` once TimeoutSeconds *plus* the document's execution timeout have
   * passed (monitor-commands.html: a command the agent has not received by then; ExpiresAfter is the same
   * sum), and SSM delivers it up to then; a run that never reports back (its host died) stays InProgress
   * until its execution timeout.
   */
  advance(): void {
    const now = this.clock.now();
    for (const command of [...this.live]) {
      if ([...command.invocations.values()].every((invocation) => TERMINAL.has(invocation.status))) {
        this.live.delete(command);
        continue;
      }
      for (const invocation of command.invocations.values()) {
        if (TERMINAL.has(invocation.status)) continue;
        if (invocation.status === 'Pending') {
          if (this.runner.isOnline(invocation.instanceId)) this.deliver(command, invocation);
          else if (now >= command.requestedMs + command.timeoutSeconds * 1000 + command.executionTimeoutMs) {
            this.end(command, invocation, 'TimedOut', 'Delivery Timed Out', -1);
          }
        } else if (
          invocation.startedMs !== undefined &&
          now >= invocation.startedMs + command.executionTimeoutMs
        ) {
          this.kills.get(key(command, invocation))?.kill();
          // SSM reports a command it stopped for its timeout with exit code 137 (*unconfirmed* for this path).
          this.end(command, invocation, 'TimedOut', 'Execution Timed Out', 137);
        }
      }
    }
  }

  /** Every command, oldest first (for tests and the drill). */
  all(): readonly Command[] {
    return this.commands;
  }

  private isVisible(command: Command): boolean {
    return this.clock.now() >= command.requestedMs + this.visibilityDelayMs;
  }

  private deliver(command: Command, invocation: Invocation): void {
    invocation.startedMs = this.clock.now();
    this.change(command, invocation, 'InProgress', 'InProgress');
    const handle = this.runner.run(command, invocation.instanceId, (result) =>
      this.finished(command, invocation, result),
    );
    this.kills.set(key(command, invocation), handle);
  }

  private finished(command: Command, invocation: Invocation, result: RunResult): void {
    this.kills.delete(key(command, invocation));
    if (TERMINAL.has(invocation.status)) return;
    // As the SSM Agent cuts them (bytes) and GetCommandInvocation returns them (command-output.ts).
    invocation.stdout = standardOutputContent(result.stdout);
    invocation.stderr = standardErrorContent(result.stderr);
    invocation.output = pluginOutput(result.stdout, result.stderr);
    if (invocation.status === 'Cancelling')
      this.end(command, invocation, 'Cancelled', 'Cancelled', result.exitCode);
    else if (result.exitCode === 0) this.end(command, invocation, 'Success', 'Success', 0);
    else if (result.exitCode === 137) this.end(command, invocation, 'TimedOut', 'Execution Timed Out', 137);
    else this.end(command, invocation, 'Failed', 'Failed', result.exitCode);
  }

  private end(
    command: Command,
    invocation: Invocation,
    status: string,
    details: string,
    responseCode: number,
  ): void {
    invocation.responseCode = responseCode;
    invocation.endedMs = this.clock.now();
    this.change(command, invocation, status, details);
  }

  private change(command: Command, invocation: Invocation, status: string, details: string): void {
    invocation.status = status;
    invocation.statusDetails = details;
    this.listener.invocationChanged(command, invocation);
  }
}

/**
 * Invocations that count against MaxErrors: failed, or timed out in execution. Delivery timeouts and
 * Undeliverable do not (API_CommandInvocation.html StatusDetails).
 */
const countsAsError = (invocation: Invocation): boolean =>
  invocation.status === 'Failed' ||
  (invocation.status === 'TimedOut' && invocation.statusDetails !== 'Delivery Timed Out');

/** How many errors a command allows: MaxErrors, a number or a percentage of its targets. */
export function allowedErrors(command: Pick<Command, 'maxErrors' | 'invocations'>): number {
  const { maxErrors } = command;
  if (!maxErrors.endsWith('%')) return Number(maxErrors);
  // Rounding of a percentage that is not whole: *assumption* (down).
  return Math.floor((command.invocations.size * Number(maxErrors.slice(0, -1))) / 100);
}

/**
 * A command's overall status: its invocation's for one instance. Of several: the first error's once more
 * invocations failed or timed out than MaxErrors allows (terminal, while invocations already running go on:
 * API_SendCommand.html MaxErrors, API_Command.html StatusDetails); otherwise the first unfinished or failed.
 */
export function commandStatus(command: Command): string {
  const invocations = [...command.invocations.values()];
  const statuses = invocations.map((invocation) => invocation.status);
  if (statuses.length === 1) return statuses[0] as string;
  const errors = invocations.filter(countsAsError);
  if (errors.length > allowedErrors(command)) return (errors[0] as Invocation).status;
  return (
    statuses.find((status) => !TERMINAL.has(status)) ??
    statuses.find((status) => status !== 'Success') ??
    'Success'
  );
}

/** The name part of a document name or ARN (`arn:…:document/NAME`). */
export function documentBaseName(nameOrArn: string): string {
  return nameOrArn.startsWith('arn:') ? nameOrArn.slice(nameOrArn.lastIndexOf('/') + 1) : nameOrArn;
}

function key(command: Command, invocation: Invocation): string {
  return `${command.commandId}/${invocation.instanceId}`;
}

function pageSize(maxResults: number | undefined): number {
  if (maxResults === undefined) return 50;
  if (maxResults < 1 || maxResults > 50) {
    throw new AwsError(
      'ValidationException',
      constraintMessage(maxResults, 'maxResults', 'have value less than or equal to 50'),
    );
  }
  return maxResults;
}

/** A command as its listing's filters see it: its status, and the details of an invocation that has it. */
function commandRow(command: Command): ListedRow {
  const status = commandStatus(command);
  const invocation = [...command.invocations.values()].find((each) => each.status === status);
  return {
    documentName: command.documentName,
    requestedMs: command.requestedMs,
    status,
    statusDetails: invocation?.statusDetails ?? status,
  };
}

/**
 * The filters of each listing (API_CommandFilter.html): InvokedAfter/Before, Status (its own values each),
 * DocumentName; ExecutionStage is ListCommands' only, ListCommandInvocations refuses it (the error's message
 * is the twin's).
 */
function filterMatcher(operation: ListOperation, filters: ListFilter[]): (row: ListedRow) => boolean {
  const checks = filters.map(({ key: filterKey, value }): ((row: ListedRow) => boolean) => {
    switch (filterKey) {
      case 'InvokedAfter':
      case 'InvokedBefore': {
        const ms = Date.parse(value);
        if (!Number.isFinite(ms))
          throw new AwsError('InvalidFilterKey', `Invalid value ${value} for filter ${filterKey}`);
        return filterKey === 'InvokedAfter' ? (row) => row.requestedMs >= ms : (row) => row.requestedMs <= ms;
      }
      case 'Status':
        if (!STATUS_FILTER_VALUES[operation].includes(value))
          throw new AwsError('InvalidFilterKey', `Invalid value ${value} for filter Status`);
        return statusCheck(value);
      case 'DocumentName':
        return (row) => row.documentName === documentBaseName(value);
      case 'ExecutionStage':
        if (operation !== 'ListCommands')
          throw new AwsError('InvalidFilterKey', `Filter ExecutionStage is not valid for ${operation}`);
        if (value !== 'Executing' && value !== 'Complete')
          throw new AwsError('InvalidFilterKey', `Invalid value ${value} for filter ExecutionStage`);
        return (row) => TERMINAL.has(row.status) === (value === 'Complete');
      default:
        throw new AwsError('InvalidFilterKey', `Invalid filter key ${filterKey}`);
    }
  });
  return (row) => checks.every((check) => check(row));
}

/** `TimedOut` covers both timeouts; `DeliveryTimedOut` and `ExecutionTimedOut` one each (by its details). */
function statusCheck(value: string): (row: ListedRow) => boolean {
  if (value === 'DeliveryTimedOut')
    return (row) => row.status === 'TimedOut' && row.statusDetails === 'Delivery Timed Out';
  if (value === 'ExecutionTimedOut')
    return (row) => row.status === 'TimedOut' && row.statusDetails === 'Execution Timed Out';
  return (row) => row.status === value;
}
