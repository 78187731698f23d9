// The operator commands' exit codes (sysexits.h where one fits), and the error that carries one. Every
// failure ends as one line naming the cause and the fix (operator/cli.ts); the codes are in operator/README.md.

export const EXIT = {
  ok: 0,
  /** An AWS call failed for another reason (throttled past retries, network, service error). */
  failed: 1,
  /** plan: a policy target matches nothing on the host; or the plan command failed there. */
  attention: 2,
  /** Bad arguments. */
  usage: 64,
  /** --policy is not a valid drain policy, or too large for SSM's parameter limits. */
  policy: 65,
  /** Stack, drainer output, instance (in the stack's groups) or drain command not found. */
  notFound: 66,
  /** The instance is not reachable through SSM (not managed, agent offline), or plan got no answer in time. */
  unavailable: 69,
  /** No credentials, or access denied (the missing action is named). */
  permission: 77,
  /** No region, or the stack's drainer output is unreadable (another version). */
  config: 78,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the operator can act on: the one line to print, and the exit code. */
export class OperatorError extends Error {
  override name = 'OperatorError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}
