// The AWS JSON 1.1 protocol as SSM and EventBridge speak it: `X-Amz-Target: Service.Operation`, JSON bodies,
// errors as `{"__type": code, "message": …}` with the code also in `x-amzn-ErrorType`.

import type { AwsError } from './aws-error';

export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';

/** Splits `AmazonSSM.SendCommand` into service prefix and operation. */
export function parseTarget(target: string | undefined): { service: string; operation: string } | undefined {
  const match = /^([A-Za-z0-9_]+)\.([A-Za-z0-9]+)$/.exec(target ?? '');
  return match ? { service: match[1] as string, operation: match[2] as string } : undefined;
}

/** JSON 1.1 timestamps are epoch seconds (with milliseconds as a fraction). */
export function epochSeconds(ms: number): number {
  return ms / 1000;
}

export function jsonError(error: AwsError): string {
  return JSON.stringify({ __type: error.code, message: error.message });
}
