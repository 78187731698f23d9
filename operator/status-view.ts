// How `status` prints: a table of the waiting instances, then one line of reason per instance that needs
// an eye (anything but draining); or, with --json, the same as one JSON document.

import { cell, duration, iso, relative, table } from './format';
import type { InstanceStatus } from './verdict';

/** What `status` found for one drainer of the stack. */
export interface DrainerStatus {
  document: string;
  hook: string;
  groups: string[];
  instances: InstanceStatus[];
  /** False when the drainer's output carries no timing: heartbeat and time-left columns stay empty. */
  timingKnown: boolean;
}

export interface StatusResult {
  stack: string;
  region: string | undefined;
  nowMs: number;
  drainers: DrainerStatus[];
}

const HEADER = [
  'instance',
  'group',
  'state',
  'verdict',
  'drain id',
  'trigger',
  'command',
  'status',
  'age',
  'deadline',
  'timeout in',
  'next heartbeat',
];

function row(status: InstanceStatus, nowMs: number): string[] {
  return [
    status.instanceId,
    status.groupName,
    status.lifecycleState,
    status.verdict,
    status.drainId ?? '—',
    status.trigger ?? '—',
    status.commandId ?? '—',
    status.commandStatus ?? '—',
    cell(status.requestedMs, (ms) => duration(nowMs - ms)),
    cell(status.deadlineMs, (ms) => relative(ms, nowMs)),
    cell(status.globalTimeoutAtMs, (ms) => (ms > nowMs ? duration(ms - nowMs) : 'passed')),
    cell(status.nextHeartbeatMs, (ms) => relative(ms, nowMs)),
  ];
}

export function renderStatus(result: StatusResult): string[] {
  const { nowMs } = result;
  const lines: string[] = [];
  for (const drainer of result.drainers) {
    const waiting = drainer.instances.length;
    lines.push(
      `stack ${result.stack}${result.region ? ` (${result.region})` : ''} · hook ${drainer.hook} · groups ${drainer.groups.join(', ')} · ${waiting === 0 ? 'no instance waits on the hook' : `${waiting} instance${waiting === 1 ? '' : 's'} waiting`}`,
    );
    if (waiting === 0) continue;
    lines.push(
      '',
      ...table(
        HEADER,
        drainer.instances.map((status) => row(status, nowMs)),
      ),
    );
    const notes = drainer.instances.filter((status) => status.verdict !== 'draining');
    if (notes.length > 0) lines.push('');
    for (const status of notes) lines.push(`${status.instanceId} ${status.verdict}: ${status.reason}`);
    if (!drainer.timingKnown)
      lines.push(
        '',
        "the stack's fleet-drainer output carries no timing: timeout and heartbeat are not shown (redeploy with this version)",
      );
  }
  return lines;
}

/** JSON names of the times an InstanceStatus holds in milliseconds. */
const TIME_KEYS: Record<string, string> = {
  requestedMs: 'requestedAt',
  deadlineMs: 'deadline',
  actionStartMs: 'actionStartedAt',
  globalTimeoutAtMs: 'globalTimeoutAt',
  nextHeartbeatMs: 'nextHeartbeatAt',
};

function instanceJson(status: InstanceStatus): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(status).map(([key, value]) => {
      const name = TIME_KEYS[key];
      return name !== undefined && typeof value === 'number' ? [name, iso(value)] : [key, value];
    }),
  );
}

/** The --json form: times as ISO 8601 UTC. */
export function statusJson(result: StatusResult): unknown {
  return {
    stack: result.stack,
    region: result.region ?? null,
    at: iso(result.nowMs),
    drainers: result.drainers.map((drainer) => ({
      ...drainer,
      instances: drainer.instances.map(instanceJson),
    })),
  };
}
