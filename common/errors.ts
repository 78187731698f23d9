// Reading what was thrown, the same way in the drain agent and in the drainer Lambda: its message, its
// code, and the shape both log for it. Dependency-free (the agent is bundled for hosts with only Node):
// nothing here may import anything but Node's built-ins.

/** How many causes deep describeError follows a chain: enough for SDK → own error → wrapper. */
export const MAX_CAUSE_DEPTH = 4;

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * What kind of failure it was, in a word: the `code` of a Node system error (ENOENT, EACCES…), else the
 * `name` of an SDK v3 service exception (ValidationError, AccessDenied…) or of an error class. A plain
 * Error, or anything that is not an object, has none: undefined.
 */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, name } = error as { code?: unknown; name?: unknown };
  if (typeof code === 'string') return code;
  return typeof name === 'string' && name !== 'Error' ? name : undefined;
}

/** An error as it is logged: plain JSON, its causes included to MAX_CAUSE_DEPTH. */
export interface ErrorDescription {
  name: string;
  message: string;
  code?: string;
  cause?: ErrorDescription;
}

export function describeError(error: unknown, depth = 0): ErrorDescription {
  const name = error instanceof Error ? error.name : typeof error;
  const code = errorCode(error);
  const description: ErrorDescription = { name, message: errorMessage(error) };
  if (code !== undefined && code !== name) description.code = code;
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause !== undefined && depth < MAX_CAUSE_DEPTH) description.cause = describeError(cause, depth + 1);
  return description;
}
