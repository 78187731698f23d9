// Which SSM command and invocation statuses are final. Status *details* also show up in some places (the
// status-change event of some agents, StatusDetails), so they are listed too.
// https://docs.aws.amazon.com/systems-manager/latest/userguide/monitor-commands.html

/** Statuses (and status details) after which SSM changes nothing; the construct's status rule filters on them. */
export const TERMINAL_COMMAND_STATUSES: readonly string[] = [
  'Success',
  'Failed',
  'Cancelled',
  'TimedOut',
  'Undeliverable',
  'Terminated',
  'Delivery Timed Out',
  'Execution Timed Out',
  'Invalid Platform',
  'Access Denied',
];

/**
 * An invocation of a batched start that ended: a listing of the executing invocations left it out while it
 * listed others of its command (its own final status is GetCommandInvocation's). Never an SSM status.
 */
export const ENDED_INVOCATION = 'Ended';

const TERMINAL_STATUSES: ReadonlySet<string> = new Set([...TERMINAL_COMMAND_STATUSES, ENDED_INVOCATION]);

/** True when SSM will not change this status any more. Unknown statuses count as still running. */
export function isTerminalStatus(status: string | undefined): boolean {
  return status !== undefined && TERMINAL_STATUSES.has(status);
}
