// Turns whatever an AWS call threw into one line that names the cause and the fix, with its exit code.
// Error names and messages as AWS and SDK v3 give them:
// - no credentials: the default chain's CredentialsProviderError "Could not load credentials from any
//   providers" (github.com/aws/aws-sdk-js-v3 pull 2408);
// - access denied: `AccessDenied` (Query APIs: CloudFormation, Auto Scaling) or `AccessDeniedException`
//   (JSON APIs: SSM), message "User: <arn> is not authorized to perform: <action> on resource: <arn> …"
//   (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html);
// - stack not found: CloudFormation `ValidationError` "Stack with id <name> does not exist"
//   (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html; the code and
//   message as AWS answers them: github.com/boto/boto3 issue 2807);
// - `InvalidInstanceId` from SendCommand: not managed, agent offline, shutting down or terminated
//   (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html).

import { errorCode, errorMessage, MAX_CAUSE_DEPTH } from '../common/errors';
import { EXIT, OperatorError } from './exit-codes';

/** An AWS call that failed, with the IAM action it needs (`ssm:SendCommand`): the edges throw this. */
export class AwsOperationError extends Error {
  override name = 'AwsOperationError';
  constructor(
    readonly action: string,
    cause: unknown,
  ) {
    super(`${action}: ${errorMessage(cause)}`, { cause });
  }
}

/** What the message of a failure may mention. */
export interface ErrorContext {
  region?: string | undefined;
  stack?: string | undefined;
  /** The profile chosen (--profile or AWS_PROFILE), if any. */
  profile?: string | undefined;
}

const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']);
const CREDENTIALS_REFUSED = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
]);
const NETWORK = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ECONNRESET',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'TimeoutError',
]);
const THROTTLED = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException']);

/** "… is not authorized to perform: ssm:SendCommand on resource: …" → `ssm:SendCommand`. */
export function deniedAction(message: string): string | undefined {
  return /is not authorized to perform: ([A-Za-z0-9-]+:[A-Za-z0-9*]+)/.exec(message)?.[1];
}

/** The error and its causes, outermost first. */
function chain(error: unknown): unknown[] {
  const errors = [error];
  let current = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && current instanceof Error && current.cause; depth += 1) {
    current = current.cause;
    errors.push(current);
  }
  return errors;
}

const fixPermission =
  'grant it to your role (FleetDrainer.grantOperator, or the policy in lib/README.md "Operators")';

/** The one-line explanation of anything a command threw. */
export function explainError(error: unknown, context: ErrorContext = {}): OperatorError {
  if (error instanceof OperatorError) return error;
  const errors = chain(error);
  const action = errors.find((e): e is AwsOperationError => e instanceof AwsOperationError)?.action;
  const root = errors[errors.length - 1];
  const code = errorCode(root);
  const message = errorMessage(root).split('\n')[0] as string;
  const where = context.region ? ` in ${context.region}` : '';
  if (code === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    if (context.profile !== undefined) {
      return new OperatorError(
        `no AWS credentials for profile ${context.profile}: check it in ~/.aws/config and ~/.aws/credentials, or run \`aws sso login --profile ${context.profile}\``,
        EXIT.permission,
      );
    }
    return new OperatorError(
      'no AWS credentials found: pass --profile NAME, set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login`',
      EXIT.permission,
    );
  }
  if (/^Region is missing/i.test(message)) {
    return new OperatorError(
      'no AWS region: pass --region (the stack’s region) or set AWS_REGION',
      EXIT.config,
    );
  }
  if (code !== undefined && CREDENTIALS_REFUSED.has(code)) {
    return new OperatorError(
      `AWS refused the credentials (${code}): refresh them (\`aws sso login\`) or pass another --profile`,
      EXIT.permission,
    );
  }
  if (code !== undefined && ACCESS_DENIED.has(code)) {
    const missing = deniedAction(message) ?? action ?? 'an action';
    return new OperatorError(
      `access denied: your credentials lack ${missing}: ${fixPermission}`,
      EXIT.permission,
    );
  }
  const stack = /Stack with id (\S+) does not exist/.exec(message);
  if (code === 'ValidationError' && stack) {
    return new OperatorError(
      `stack ${stack[1]} not found${where}: pass --stack NAME (the stack holding the FleetDrainer) and --region REGION (where it is deployed)`,
      EXIT.notFound,
    );
  }
  if (code !== undefined && NETWORK.has(code)) {
    return new OperatorError(
      `cannot reach AWS${action ? ` for ${action}` : ''} (${code}): check the network, proxy or AWS_ENDPOINT_URL, then retry`,
      EXIT.failed,
    );
  }
  if (code !== undefined && THROTTLED.has(code)) {
    return new OperatorError(
      `AWS throttled ${action ?? 'a call'} past the retries (${code}): retry in a minute`,
      EXIT.failed,
    );
  }
  if (action === undefined)
    return new OperatorError(
      `unexpected error: ${code ?? 'Error'}: ${message}; please report it`,
      EXIT.failed,
    );
  return new OperatorError(
    `${action} failed: ${code ?? 'Error'}: ${message}; retry, or check AWS's status`,
    EXIT.failed,
  );
}
