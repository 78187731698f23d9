// What `plan` sends: the drain document's parameters in plan mode, and a policy to try, checked here with
// the agent's own schema and against the document's `policy` pattern before any AWS call.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DRAIN_PARAMETERS, PLAN_ACTION, POLICY_PARAMETER_MAX_CHARS } from '../agent/policy/drain-parameters';
import { PolicyError, parsePolicyJson } from '../agent/policy/policy';
import { errorCode, errorMessage } from '../common/errors';
import { formatDeadline } from '../lambda/decide/drain-command';
import { EXIT, OperatorError } from './exit-codes';

/** How long the agent may take over a plan: it only reads /proc and asks systemd or docker. */
export const PLAN_DEADLINE_MS = 10 * 60_000;
/** SendCommand's delivery timeout for a plan (its minimum is 30 s): an agent that is not there fails fast. */
export const PLAN_DELIVERY_TIMEOUT_SECONDS = 60;
/** Instance ids Auto Scaling launches. */
export const INSTANCE_ID = new RegExp(DRAIN_PARAMETERS.instanceId.pattern);

/** The document's `policy` parameter (agent/policy/drain-parameters.ts): strict base64, at most maxChars. */
export function policyParameterSpec(): { pattern: RegExp; maxChars: number } {
  return { pattern: new RegExp(DRAIN_PARAMETERS.policy.pattern), maxChars: POLICY_PARAMETER_MAX_CHARS };
}

/** Reads and checks a policy file; the base64 of its compact JSON, as the document takes it. */
export function loadPolicyParameter(file: string, read: (file: string) => string = readText): string {
  let text: string;
  try {
    text = read(file);
  } catch (error) {
    throw new OperatorError(
      `cannot read --policy ${file}: ${errorCode(error) ?? errorMessage(error)}: pass the path of a drain policy JSON file`,
      EXIT.usage,
    );
  }
  try {
    parsePolicyJson(text);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    const issues = error.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
    throw new OperatorError(
      `--policy ${file} is not a valid drain policy: ${issues} (the policy's schema: agent/README.md)`,
      EXIT.policy,
    );
  }
  const encoded = Buffer.from(JSON.stringify(JSON.parse(text))).toString('base64');
  const { pattern, maxChars } = policyParameterSpec();
  if (encoded.length > maxChars || !pattern.test(encoded)) {
    throw new OperatorError(
      `--policy ${file} is too large for SSM: ${encoded.length} characters of base64, the document's policy parameter takes at most ${maxChars}; drop targets or steps, or deploy it with the stack instead`,
      EXIT.policy,
    );
  }
  return encoded;
}

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

/** A plan's drain id: `plan-` and 12 hex digits, inside the drainId pattern and never a lifecycle token. */
export function planDrainId(): string {
  return `plan-${randomBytes(6).toString('hex')}`;
}

export interface PlanTarget {
  instanceId: string;
  groupName: string;
  hookName: string;
  policy?: string;
}

/** The SendCommand parameters of a plan: the drain parameters, with action `plan` and the policy to try. */
export function planParameters(target: PlanTarget, nowMs: number): Record<string, string[]> {
  return {
    drainId: [planDrainId()],
    deadline: [formatDeadline(nowMs + PLAN_DEADLINE_MS)],
    instanceId: [target.instanceId],
    autoScalingGroupName: [target.groupName],
    lifecycleHookName: [target.hookName],
    action: [PLAN_ACTION],
    ...(target.policy === undefined ? {} : { policy: [target.policy] }),
  };
}
