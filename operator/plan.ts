// `fleet-drainer plan --instance i-… [--policy drain.json]`: runs the drain document in plan mode on one
// live instance of the stack's groups and reads back what each target matches. The policy is checked
// before any AWS call; the wait for the answer is bounded.

import { planComment } from '../common/plan-output';
import type { OperatorClients } from './aws/clients';
import { notManaged, sendPlanCommand, waitForInvocation } from './aws/commands';
import { agentStates, groupOfInstance } from './aws/fleet';
import { readDrainers } from './aws/stack';
import { EXIT, OperatorError } from './exit-codes';
import { planParameters } from './plan-request';
import { type PlanResult, parsePlanStdout, type ReadPlan } from './plan-view';
import { drainerOfGroup } from './stack-config';

/** How long `plan` waits for the agent's answer, and how often it asks. */
export const PLAN_WAIT_MS = 120_000;
export const PLAN_POLL_MS = 2000;

export interface PlanOptions {
  stack: string;
  instanceId: string;
  /** The base64 policy to try (already checked), or undefined for the deployed one. */
  policy: { file: string; base64: string } | undefined;
  nowMs: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** The drainer and group that hold the instance; OperatorError naming what is wrong otherwise. */
async function locate(clients: OperatorClients, options: PlanOptions) {
  const drainers = await readDrainers(clients.cloudFormation, options.stack);
  const groups = drainers.flatMap((drainer) => drainer.groups).join(', ');
  const found = await groupOfInstance(clients.autoScaling, options.instanceId);
  if (found === undefined) {
    throw new OperatorError(
      `instance ${options.instanceId} is in no Auto Scaling group here: pass an instance of ${groups} (and --region where it runs)`,
      EXIT.notFound,
    );
  }
  const drainer = drainerOfGroup(drainers, found.groupName);
  if (drainer === undefined) {
    throw new OperatorError(
      `instance ${options.instanceId} is in group ${found.groupName}, which stack ${options.stack} does not drain: pass an instance of ${groups}, or the --stack that drains ${found.groupName}`,
      EXIT.notFound,
    );
  }
  return { drainer, groupName: found.groupName };
}

export async function plan(clients: OperatorClients, options: PlanOptions): Promise<PlanResult> {
  const { instanceId } = options;
  const { drainer, groupName } = await locate(clients, options);
  const agent = (await agentStates(clients.ssm, [instanceId])).get(instanceId);
  if (agent === undefined) throw notManaged(instanceId, 'DescribeInstanceInformation does not list it');
  if (agent.pingStatus !== 'Online') throw notManaged(instanceId, `its SSM Agent is ${agent.pingStatus}`);
  const startedMs = options.nowMs();
  const parameters = planParameters(
    { instanceId, groupName, hookName: drainer.hook, policy: options.policy?.base64 },
    startedMs,
  );
  const commandId = await sendPlanCommand(
    clients.ssm,
    drainer.document,
    instanceId,
    parameters,
    planComment(instanceId),
  );
  const { result, ended } = await waitForInvocation(clients.ssm, commandId, instanceId, {
    nowMs: options.nowMs,
    sleep: options.sleep,
    timeoutMs: PLAN_WAIT_MS,
    intervalMs: PLAN_POLL_MS,
  });
  if (!ended) {
    throw new OperatorError(
      `no answer from ${instanceId} within ${PLAN_WAIT_MS / 1000} s (command ${commandId} is ${result?.status ?? 'not visible yet'}): look later with \`fleet-drainer report ${commandId}\``,
      EXIT.unavailable,
    );
  }
  // The agent's plan exits 2 (Failed in Run Command) when a target could not be examined: its plan is still
  // on stdout, and the view shows the target's error.
  const examined = result?.status === 'Success' || (result?.status === 'Failed' && result.responseCode === 2);
  if (!examined || result === undefined) {
    const why = (result?.stderr ?? '').trim().split('\n').pop()?.trim() || 'no error output';
    throw new OperatorError(
      `the plan command ${commandId} ended ${result?.status}${result?.responseCode === undefined ? '' : ` (exit ${result.responseCode})`} on ${instanceId}: ${why}; fix the policy or the host, then retry`,
      EXIT.failed,
    );
  }
  let read: ReadPlan;
  try {
    read = parsePlanStdout(result.stdout);
  } catch (error) {
    throw new OperatorError(
      `the plan command ${commandId} on ${instanceId}: ${(error as Error).message}`,
      EXIT.failed,
    );
  }
  return {
    instanceId,
    groupName,
    commandId,
    policy: options.policy?.file ?? 'deployed',
    elapsedMs: options.nowMs() - startedMs,
    read,
  };
}
