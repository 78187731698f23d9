// An error the twin answers with, in AWS's terms: the code, the message and the HTTP status the real service
// uses (see /work/shared/AWS-NOTES.md). Each protocol module renders it in its own wire format.

export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Query protocol only: `Sender` for the caller's fault, `Receiver` for the service's. */
    readonly type: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
  ) {
    super(message);
    this.name = code;
  }
}

/** Auto Scaling's catch-all for bad input and for actions that are no longer active. */
export function validationError(message: string): AwsError {
  return new AwsError('ValidationError', message);
}

/** The Smithy-style constraint message AWS services share ("1 validation error detected: …"). */
export function constraintMessage(value: unknown, member: string, constraint: string): string {
  return `1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: Member must ${constraint}`;
}
