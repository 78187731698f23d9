// Our own error classes: the edge modules translate SDK errors into these (with `cause`), so the core
// decides on meaning, never on SDK class names or message text.

import { errorCode, errorMessage } from '../../common/errors';

/** Auto Scaling: "No active Lifecycle Action found …" — the action is over (completed, timed out, instance gone). */
export class NoActiveLifecycleActionError extends Error {
  override name = 'NoActiveLifecycleActionError';
  /** The SDK retried the call: an earlier attempt, whose response was lost, may have done the work. */
  afterRetry = false;
}

/** Auto Scaling: any other ValidationError — a wrong group or hook name, a missing permission: a configuration bug. */
export class LifecycleConfigError extends Error {
  override name = 'LifecycleConfigError';
}

/** SSM SendCommand: `InvalidInstanceId` — not managed, agent offline, shutting down or terminated. */
export class InstanceUnreachableError extends Error {
  override name = 'InstanceUnreachableError';
}

/** SSM GetCommandInvocation: `InvocationDoesNotExist` — not visible yet (eventual consistency) or wrong ids. */
export class InvocationNotFoundError extends Error {
  override name = 'InvocationNotFoundError';
}

/** Any other failed AWS call, after the SDK's own retries. */
export class AwsCallError extends Error {
  override name = 'AwsCallError';
}

/**
 * A failed call of a JSON-protocol client (SSM, SQS) after the SDK's retries: a missing permission is a
 * configuration error (the role), not something a retry fixes; anything else is an AwsCallError.
 */
export function callError(error: unknown, call: string): Error {
  const code = errorCode(error);
  if (code === 'AccessDeniedException' || code === 'AccessDenied') {
    return new LifecycleConfigError(`${call}: access denied: ${errorMessage(error)}`, { cause: error });
  }
  return new AwsCallError(`${call} failed: ${code ?? 'Error'}: ${errorMessage(error)}`, { cause: error });
}
