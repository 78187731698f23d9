// `fleet-drainer status`: every instance of the stack's groups that waits on the drainer's hook, with its
// drain and a verdict. Reads only (calls: the "Final calls" list in operator/README.md).

import type { OperatorConfig } from '../common/operator-config';
import { HEARTBEAT_TIMEOUT_RANGE } from '../lambda/config';
import { isTerminatingWait } from '../lambda/decide/lifecycle-state';
import type { OperatorClients } from './aws/clients';
import { agentStates, drainCommands, groupInstances, hookTiming } from './aws/fleet';
import { readDrainers } from './aws/stack';
import { EXIT, OperatorError } from './exit-codes';
import type { DrainerStatus, StatusResult } from './status-view';
import { assessInstance, globalTimeoutMs, type HookTiming } from './verdict';

const MAX_HEARTBEAT_TIMEOUT_S = HEARTBEAT_TIMEOUT_RANGE[1];

export interface StatusOptions {
  stack: string;
  group?: string;
  region: string | undefined;
  nowMs: () => number;
}

/** The groups a drainer's status covers: all, or the one --group names. */
function groupsOf(drainer: OperatorConfig, group: string | undefined): string[] {
  return group === undefined ? drainer.groups : drainer.groups.filter((name) => name === group);
}

async function drainerStatus(
  clients: OperatorClients,
  drainer: OperatorConfig,
  groups: string[],
  nowMs: () => number,
): Promise<DrainerStatus> {
  const summary = { document: drainer.document, hook: drainer.hook, groups, timingKnown: !!drainer.timing };
  const waiting = (await groupInstances(clients.autoScaling, groups)).filter((instance) =>
    isTerminatingWait(instance.lifecycleState),
  );
  if (waiting.length === 0) return { ...summary, instances: [] };
  const hooks = new Map<string, HookTiming | undefined>();
  for (const group of new Set(waiting.map((instance) => instance.groupName)))
    hooks.set(group, await hookTiming(clients.autoScaling, group, drainer.hook));
  // A waiting instance's action started at most one global timeout ago: so did every command of its drain.
  // Without a hook to tell, the longest any wait lasts: 48 h.
  const known = [...hooks.values()].flatMap((hook) => (hook === undefined ? [] : [hook.globalTimeoutMs]));
  const longestMs =
    known.length > 0 ? Math.max(...known) : globalTimeoutMs(MAX_HEARTBEAT_TIMEOUT_S, undefined);
  const commands = await drainCommands(clients.ssm, drainer.document, nowMs() - longestMs);
  const agents = await agentStates(
    clients.ssm,
    waiting.map((instance) => instance.instanceId),
  );
  const now = nowMs();
  const instances = waiting
    .map((instance) =>
      assessInstance({
        instance,
        commands,
        agent: agents.get(instance.instanceId),
        hook: hooks.get(instance.groupName),
        drainer,
        nowMs: now,
      }),
    )
    .sort((a, b) => a.groupName.localeCompare(b.groupName) || a.instanceId.localeCompare(b.instanceId));
  return { ...summary, instances };
}

export async function status(clients: OperatorClients, options: StatusOptions): Promise<StatusResult> {
  const drainers = await readDrainers(clients.cloudFormation, options.stack);
  const covered = drainers.filter((drainer) => groupsOf(drainer, options.group).length > 0);
  if (covered.length === 0) {
    const all = drainers.flatMap((drainer) => drainer.groups);
    throw new OperatorError(
      `group ${options.group} is not drained by stack ${options.stack}: pass --group with one of ${all.join(', ')}, or the --stack that drains it`,
      EXIT.notFound,
    );
  }
  const results: DrainerStatus[] = [];
  for (const drainer of covered)
    results.push(await drainerStatus(clients, drainer, groupsOf(drainer, options.group), options.nowMs));
  return { stack: options.stack, region: options.region, nowMs: options.nowMs(), drainers: results };
}
