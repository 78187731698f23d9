// The fault matrix: each scenario is a small fleet of demo workers, a fault injected through the
// twin's own hooks, a scale-in, and the drill's checks (nothing stranded, nothing completed before its workers
// stopped unless the outcome says why, no worker signalled twice, one `Fleet Drain Finished` per drain with
// the expected outcome). `fleet-drainer drill --scenario NAME` runs one visibly; the end-to-end tests in
// test/twin/fault-matrix.test.ts run each of them.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SETTLE_MS } from '../lambda/decide/plan-tick';
import { SteppedClock, wallClock } from './clock';
import {
  DRILL_GROUP,
  DRILL_POLICY,
  type DrillResult,
  drillTemplate,
  type Fleet,
  type FleetPlan,
  runFleet,
  WORKER_KINDS,
} from './drill';
import type { BusEvent } from './event-envelope';
import { matchesPattern } from './event-pattern';
import { operatorPlan } from './operator-scenario';
import type { CfnTemplate } from './template';
import type { SpotInterruption, Twin } from './twin';

export interface Scenario {
  name: string;
  /** What it proves, in one line. */
  proves: string;
  /** The fault, in one line. */
  fault: string;
  /** The expected outcome of each drained instance, in launch order. */
  expect: string;
  /** A fresh plan (a fresh clock for each run). */
  plan(): FleetPlan;
  /**
   * `spot`: runs on the wall clock for up to a Spot notice's two minutes (the agent's deadline is wall time),
   * so the tests run these in a file of their own, beside the fault matrix. `cli`: runs the built command line
   * (dist/fleet-drainer.js) as child processes, in a test file of its own.
   */
  needs?: 'spot' | 'cli';
  /** Wall time a run may take, for the tests. Default 90 s. */
  timeoutMs?: number;
}

/** Synthesized once per process: the construct's template is the same for every scenario. */
let template: CfnTemplate | undefined;
const drillStack = () => {
  template ??= drillTemplate();
  return template;
};

/** The policy a `policy-update` deploys mid-drain: the stuck target renamed, with a shorter schedule. */
export const UPDATED_POLICY = {
  ...DRILL_POLICY,
  targets: DRILL_POLICY.targets.map((target) =>
    target.name === 'stuck' ? { ...target, name: 'stuck-v2', schedule: 'TERM/1s/KILL/2s' } : target,
  ),
};

/**
 * The twin on a clock `stepMs / 20` times faster than the wall, with the handler composed on it, so the
 * reconciler's minute ticks, Lambda's 60 s retry and the grace periods pass in about a second.
 */
const stepped = (stepMs: number, environment?: Record<string, string>): FleetPlan['twin'] => ({
  template: drillStack(),
  clock: new SteppedClock(stepMs),
  handler: 'composed',
  ...(environment ? { environment } : {}),
});
/** The wall clock, for what is about wall time (the SDK's retry backoff, the agent's deadline). */
const wall = (environment?: Record<string, string>): FleetPlan['twin'] => ({
  template: drillStack(),
  clock: wallClock,
  // Not `module`: that one is imported once per process with the first twin's endpoint.
  handler: 'composed',
  ...(environment ? { environment } : {}),
});

const about = (instanceId: string | undefined) => (event: BusEvent) =>
  event.detail.EC2InstanceId === instanceId || event.detail['instance-id'] === instanceId;
const lifecycleEventOf = (instanceId: string | undefined) => (event: BusEvent) =>
  event.source === 'aws.autoscaling' && about(instanceId)(event);
const finishedOf = (twin: Twin, instanceId: string | undefined) =>
  twin.bus.events.filter(
    (event) =>
      event.source === 'fleet-drainer' &&
      event['detail-type'] === 'Fleet Drain Finished' &&
      event.detail.instanceId === instanceId,
  );
const commandsOf = (twin: Twin, instanceId: string | undefined) =>
  twin.commands.all().filter((command) => command.instanceIds.includes(instanceId as string));
const inProgress = (twin: Twin, instanceId: string | undefined) =>
  commandsOf(twin, instanceId).some((c) => c.invocations.get(instanceId as string)?.status === 'InProgress');
const signalled = (fleet: Fleet, instanceId: string | undefined) =>
  fleet.records().filter((r) => r.instanceId === instanceId && r.event === 'signal');

/** Scale the group in to nothing: every instance leaves (oldest first). */
const scaleInAll = ({ twin, instances }: Fleet) => {
  twin.autoScaling.setDesiredCapacity(DRILL_GROUP, 0);
  return instances;
};
/** Outcomes by launch index. */
const outcomes =
  (...byIndex: (readonly string[])[]) =>
  (_: string, index: number) =>
    byIndex[index];
const DRAINED = ['forced'] as const; // the stuck demo worker always needs its KILL

/** A hung job's schedule far longer than a Spot drain has: only the interruption deadline can cut it. */
const LONG_SCHEDULE = 'TERM/600s/KILL/5s';
const LONG_POLICY = {
  ...DRILL_POLICY,
  targets: DRILL_POLICY.targets.map((target) =>
    target.name === 'jobs' ? { ...target, schedule: LONG_SCHEDULE } : target,
  ),
};
/**
 * How soon after the warning a worker must get its graceful signal: at once, well before the 120 s settle
 * delay a drain started later would show; the slack is for an agent that starts slowly on a loaded machine.
 */
const SIGNAL_WITHIN_MS = 30_000;
/** Wall time to wait for EC2's interruption: the notice and some slack. */
const SPOT_NOTICE_WAIT_MS = 150_000;

/** Waits until `predicate` holds; else fails saying whether the EC2 event reached the handler at all. */
async function afterEc2Event(twin: Twin, event: BusEvent, predicate: () => boolean, what: string) {
  try {
    await twin.waitFor(predicate, what, 30_000);
  } catch {
    const reached = twin.bus.invocations.some((invocation) => invocation.event.id === event.id);
    const routed = twin.template.rules.some(
      (rule) => rule.enabled && rule.eventPattern !== undefined && matchesPattern(rule.eventPattern, event),
    );
    const where = reached
      ? 'reached the handler'
      : routed
        ? 'matched a rule but has not reached the handler'
        : 'matched no rule of the template';
    throw new Error(`no ${what} within 30 s; the ${event['detail-type']} ${where}`);
  }
}

/** Waits for the drain command the warning must start. */
async function drainAfterWarning(twin: Twin, interruption: SpotInterruption): Promise<void> {
  await afterEc2Event(
    twin,
    interruption.event,
    () => commandsOf(twin, interruption.instanceId).some((c) => c.requestedMs >= interruption.warnedMs),
    'drain started after the Spot warning',
  );
}

/** Prints warning → first graceful signal; a problem if it took longer than SIGNAL_WITHIN_MS. */
function signalTimes(fleet: Fleet, interruption: SpotInterruption): string[] {
  const first = signalled(fleet, interruption.instanceId)
    .filter((r) => r.at >= interruption.warnedWallMs)
    .sort((a, b) => a.at - b.at)[0];
  if (first === undefined) return [`${interruption.instanceId}: no worker was signalled after the warning`];
  const afterMs = first.at - interruption.warnedWallMs;
  fleet.print(`  warning → first graceful signal (${first.signal}): ${(afterMs / 1000).toFixed(2)} s`);
  return afterMs <= SIGNAL_WITHIN_MS
    ? []
    : [`${interruption.instanceId}: first signal ${(afterMs / 1000).toFixed(1)} s after the warning`];
}

/** Prints report → interruption; a problem unless the Finished event, with its report, came before it. */
function reportBeforeInterruption(fleet: Fleet, interruption: SpotInterruption, event: BusEvent): string[] {
  const id = interruption.instanceId;
  const report = event.detail.report as { finishedAt?: string } | undefined;
  if (report?.finishedAt === undefined) return [`${id}: the Finished event carries no report`];
  const publishedMs = fleet.twin.bus.publishedMs.get(event) ?? Date.parse(event.time);
  const interruptedMs = interruption.interruptedMs ?? interruption.interruptAtMs;
  fleet.print(
    `  report → interruption: ${((interruptedMs - Date.parse(report.finishedAt)) / 1000).toFixed(1)} s ` +
      `(Finished event ${((interruptedMs - publishedMs) / 1000).toFixed(1)} s before it)`,
  );
  return publishedMs < interruption.interruptAtMs
    ? []
    : [
        `${id}: Fleet Drain Finished came ${(publishedMs - interruption.interruptAtMs) / 1000} s after the interruption`,
      ];
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'duplicate-event',
    proves:
      'a lifecycle event delivered twice at once, again mid-drain, or after the drain never signals twice',
    fault: 'instance 1: event duplicated at once; 2: redelivered mid-drain; 3: redelivered after it finished',
    expect: 'forced, forced, forced (one Finished each)',
    plan: () => ({
      instances: 3,
      twin: stepped(600),
      prepare: ({ twin, instances }) =>
        twin.injectEventFault({ kind: 'duplicate', match: lifecycleEventOf(instances[0]) }),
      scaleIn: scaleInAll,
      during: async ({ twin, instances }) => {
        const redeliver = (id: string | undefined) => {
          const event = twin.bus.events.find(lifecycleEventOf(id));
          if (event) twin.bus.publish(event);
        };
        await twin.waitFor(() => inProgress(twin, instances[1]), 'the second drain to run');
        await new Promise((resolve) => setTimeout(resolve, 300));
        redeliver(instances[1]);
        await twin.waitFor(
          () => finishedOf(twin, instances[2]).length > 0,
          'the third drain to finish',
          60_000,
        );
        redeliver(instances[2]);
      },
      settleMs: 1500,
      expected: outcomes(DRAINED, DRAINED, DRAINED),
    }),
  },
  {
    name: 'duplicate-in-batch',
    proves:
      'lifecycle events that arrive together start with one SendCommand, each host its own drain, and a duplicate inside that batch signals nothing twice',
    fault: "three instances scaled in at once; instance 2's event duplicated at once, into the same batch",
    expect: 'forced, forced, forced (one command for all three, one Finished each)',
    plan: () => ({
      instances: 3,
      twin: stepped(600),
      prepare: ({ twin, instances }) =>
        twin.injectEventFault({ kind: 'duplicate', match: lifecycleEventOf(instances[1]) }),
      scaleIn: scaleInAll,
      settleMs: 1500,
      expected: outcomes(DRAINED, DRAINED, DRAINED),
      verify: ({ twin, instances }) => {
        const problems: string[] = [];
        const batched = twin.commands.all().filter((command) => command.instanceIds.length > 1);
        const covered = new Set(batched.flatMap((command) => command.instanceIds));
        if (!instances.every((id) => covered.has(id)))
          problems.push(`no command was sent to all three instances (${batched.length} batched commands)`);
        const delivered = twin.bus.invocations.filter((i) => lifecycleEventOf(instances[1])(i.event));
        if (delivered.length < 2)
          problems.push('the duplicate of the lifecycle event never reached the handler');
        return problems;
      },
    }),
  },
  {
    name: 'lost-lifecycle-event',
    proves: 'an instance whose lifecycle event is lost is adopted by the reconciler and drained',
    fault: 'instance 1: its lifecycle event is dropped',
    expect: 'forced (adopted), forced',
    plan: () => ({
      instances: 2,
      twin: stepped(1200),
      prepare: ({ twin, instances }) =>
        twin.injectEventFault({ kind: 'drop', match: lifecycleEventOf(instances[0]) }),
      scaleIn: scaleInAll,
      expected: outcomes(DRAINED, DRAINED),
      verify: ({ twin, instances }) =>
        twin.bus.invocations.some((i) => lifecycleEventOf(instances[0])(i.event))
          ? ['the dropped lifecycle event reached the handler']
          : [],
    }),
  },
  {
    name: 'lost-status-event',
    proves: 'a drain whose command status events are lost is finished by the reconciler',
    fault: "instance 1: every SSM status event of its command's end is dropped",
    expect: 'forced (finished by a tick), forced',
    plan: () => ({
      instances: 2,
      twin: stepped(1200),
      prepare: ({ twin, instances }) =>
        twin.injectEventFault({
          kind: 'drop',
          match: (e) => e.source === 'aws.ssm' && about(instances[0])(e) && e.detail.status !== 'InProgress',
          times: 10,
        }),
      scaleIn: scaleInAll,
      expected: outcomes(DRAINED, DRAINED),
      verify: ({ twin, instances }) =>
        twin.bus.invocations.some(
          (i) =>
            i.event.source === 'aws.ssm' &&
            about(instances[0])(i.event) &&
            i.event.detail.status !== 'InProgress',
        )
          ? ['a dropped status event reached the handler']
          : [],
    }),
  },
  {
    name: 'handler-crash',
    proves:
      "SQS's redelivery of a crashed batch (after the visibility timeout) finishes the job without a second signal",
    fault: 'instance 1: the handler crashes before it runs; 2: it crashes after it sent the drain command',
    expect: 'forced, forced',
    plan: () => ({
      instances: 2,
      // A crashed batch comes back after the queue's visibility timeout (10 min in the template): 30 s here,
      // under the adoption delay, so that the redelivery, not the reconciler, starts the drain.
      twin: { ...stepped(1200), queueVisibilityTimeoutMs: 30_000 },
      prepare: ({ twin, instances }) => {
        twin.injectEventFault({ kind: 'crash', match: lifecycleEventOf(instances[0]) });
        twin.injectEventFault({ kind: 'crash-after', match: lifecycleEventOf(instances[1]) });
      },
      scaleIn: scaleInAll,
      expected: outcomes(DRAINED, DRAINED),
      verify: ({ twin, instances }) =>
        instances
          .filter((id) => !twin.bus.invocations.some((i) => i.attempt > 0 && lifecycleEventOf(id)(i.event)))
          .map((id) => `${id}: its crashed invocation was not retried`),
    }),
  },
  {
    name: 'unreachable',
    proves: 'an instance whose SSM Agent is offline is completed as unreachable after the grace, untouched',
    fault: 'instance 1: SSM Agent offline (SendCommand answers InvalidInstanceId)',
    expect: 'unreachable, forced',
    plan: () => ({
      instances: 2,
      twin: stepped(1200),
      prepare: ({ twin, instances }) => twin.setAgentOnline(instances[0] as string, false),
      scaleIn: scaleInAll,
      expected: outcomes(['unreachable'], DRAINED),
      verify: (fleet) =>
        signalled(fleet, fleet.instances[0]).length > 0 ? ['the unreachable instance was signalled'] : [],
    }),
  },
  {
    name: 'unreachable-in-batch',
    proves:
      'one unreachable instance of a batched start takes its own path (grace, then unreachable); its batch-mates drain',
    fault:
      'three instances scaled in at once; instance 2: SSM Agent offline, so SSM refuses the batched SendCommand',
    expect: 'forced, unreachable, forced',
    plan: () => ({
      instances: 3,
      twin: stepped(1200),
      prepare: ({ twin, instances }) => twin.setAgentOnline(instances[1] as string, false),
      scaleIn: scaleInAll,
      expected: outcomes(DRAINED, ['unreachable'], DRAINED),
      verify: (fleet) => {
        const { twin, instances } = fleet;
        const problems: string[] = [];
        const refused = twin.calls.filter(
          (call) =>
            call.operation === 'SendCommand' &&
            call.errorCode === 'InvalidInstanceId' &&
            ((call.input.InstanceIds as string[] | undefined)?.length ?? 0) > 1,
        );
        if (refused.length === 0)
          problems.push('no batched SendCommand was refused: the batch path did not run');
        if (signalled(fleet, instances[1]).length > 0)
          problems.push('the unreachable instance was signalled');
        return problems;
      },
    }),
  },
  {
    name: 'vanished-instance',
    proves: 'an instance that dies mid-drain is completed explicitly (unreachable or expired), once',
    fault: 'instance 1: the host vanishes while its agent drains (SSM never hears back)',
    expect: 'unreachable or expired, forced',
    plan: () => ({
      instances: 2,
      // A short deadline and no grace, so the vanished drain expires within the run.
      twin: stepped(1200, {
        FLEET_DRAINER_MAX_DRAIN_SECONDS: '300',
        FLEET_DRAINER_EXPIRY_GRACE_SECONDS: '0',
      }),
      scaleIn: scaleInAll,
      during: async ({ twin, instances }) => {
        await twin.waitFor(() => inProgress(twin, instances[0]), 'the first drain to run');
        await new Promise((resolve) => setTimeout(resolve, 500));
        twin.vanish(instances[0] as string);
      },
      expected: outcomes(['unreachable', 'expired'], DRAINED),
      settleMs: 1500,
      verify: ({ twin, instances, print }) => {
        const id = instances[0] as string;
        const problems: string[] = [];
        const commands = commandsOf(twin, id);
        if (commands.length > 1)
          problems.push(`${commands.length} drain commands sent to the vanished instance`);
        // Nothing loops: no Auto Scaling call about the instance once its action ended.
        const end = twin.autoScaling.ended.find((e) => e.action.instanceId === id);
        const late = twin.calls.filter(
          (call) =>
            call.service === 'autoscaling' &&
            /LifecycleAction/.test(call.operation) &&
            (call.input.InstanceId === id || call.input.LifecycleActionToken === end?.action.token) &&
            call.atMs > (end?.atMs ?? Number.POSITIVE_INFINITY),
        );
        if (late.length > 0) problems.push(`${late.length} lifecycle calls after its action ended`);
        const cancelled = twin.calls.filter(
          (call) => call.operation === 'CancelCommand' && call.input.CommandId === commands[0]?.commandId,
        );
        print(
          `  the vanished drain's command: ${commands[0]?.invocations.get(id)?.status}, ` +
            `CancelCommand called ${cancelled.length} time(s)`,
        );
        return problems.map((problem) => `${id}: ${problem}`);
      },
    }),
  },
  {
    name: 'throttling',
    proves: "a throttling storm on Auto Scaling, SSM and EventBridge is ridden out by the SDK's retries",
    fault: 'every API the drainer calls is throttled 3 times in a row (wall clock: real backoff)',
    expect: 'forced, forced',
    plan: () => ({
      instances: 2,
      twin: wall(),
      prepare: ({ twin }) => {
        twin.faults.throttle('autoscaling', 'CompleteLifecycleAction', 3);
        twin.faults.throttle('autoscaling', 'DescribeAutoScalingInstances', 3);
        twin.faults.throttle('ssm', 'SendCommand', 3);
        twin.faults.throttle('ssm', 'GetCommandInvocation', 3);
        twin.faults.throttle('events', 'PutEvents', 3);
        twin.faults.throttle('sqs', 'GetQueueAttributes', 3);
      },
      scaleIn: scaleInAll,
      expected: outcomes(DRAINED, DRAINED),
      verify: ({ twin }) => {
        const throttled = twin.calls.filter((c) => /^Throttling/.test(c.errorCode ?? '')).length;
        return throttled < 12 ? [`only ${throttled} calls were throttled`] : [];
      },
    }),
  },
  {
    name: 'agent-killed',
    proves:
      'an agent killed by SIGKILL mid-drain is run once more by the document: it resumes, never repeats a signal, and the drain ends forced',
    fault: 'instance 1: SIGKILL to the drain agent after its TERMs went out',
    expect: 'forced, forced',
    plan: () => ({
      instances: 2,
      twin: stepped(600),
      scaleIn: scaleInAll,
      during: async (fleet) => {
        const { twin, instances } = fleet;
        await twin.waitFor(() => signalled(fleet, instances[0]).length > 0, 'the first TERM');
        const killed = twin.signalProcesses(
          instances[0] as string,
          /fleet-drain-agent-\w+\.js drain /,
          'SIGKILL',
        );
        if (killed.length === 0) throw new Error('agent-killed: no drain agent found to kill');
      },
      expected: outcomes(['forced'], DRAINED),
      verify: (fleet) => {
        const { twin, instances } = fleet;
        const stderr = commandsOf(twin, instances[0])
          .map((c) => c.invocations.get(instances[0] as string)?.stderr ?? '')
          .join('\n');
        const codes = commandsOf(twin, instances[0]).map(
          (c) => c.invocations.get(instances[0] as string)?.responseCode,
        );
        // A forced drain exits 0 (Success): the document maps the agent's 3 for a clear host.
        return /running it once more/.test(stderr) && codes.includes(0)
          ? []
          : [`the killed agent was not run again to finish (exit codes ${codes.join(', ')})`];
      },
    }),
  },
  {
    name: 'node-missing',
    proves: 'a host without node fails the drain with exit 78 and a clear message, and is completed CONTINUE',
    fault: 'instance 1: the document runs with a PATH that has no node',
    expect: 'failed, forced',
    plan: () => ({
      instances: 2,
      twin: stepped(600),
      prepare: ({ twin, instances }) => twin.setRunPath(instances[0] as string, '/nonexistent/bin'),
      scaleIn: scaleInAll,
      expected: outcomes(['failed'], DRAINED),
      verify: (fleet) => {
        const { twin, instances } = fleet;
        const id = instances[0] as string;
        const problems: string[] = [];
        const invocation = commandsOf(twin, id)[0]?.invocations.get(id);
        if (invocation?.responseCode !== 78) problems.push(`exit ${invocation?.responseCode}, expected 78`);
        if (!/node was not found/.test(invocation?.stderr ?? ''))
          problems.push('no "node was not found" on stderr');
        if (signalled(fleet, id).length > 0) problems.push('workers were signalled without an agent');
        const end = twin.autoScaling.ended.find((e) => e.action.instanceId === id);
        if (end?.result !== 'CONTINUE') problems.push(`completed ${end?.result}, expected CONTINUE`);
        return problems.map((problem) => `${id}: ${problem}`);
      },
    }),
  },
  {
    name: 'deadline',
    proves:
      'a worker that ignores TERM with a schedule longer than the max drain time is KILLed before the deadline',
    fault: 'max drain time 8 s; a job worker ignores TERM (its schedule waits 20 s before KILL)',
    expect: 'forced, before the deadline',
    plan: () => ({
      instances: 1,
      twin: wall({ FLEET_DRAINER_MAX_DRAIN_SECONDS: '8' }),
      workers: () => [{ kind: 'slow', env: { DEMO_IGNORE_TERM: '1' } }, { kind: 'queue' }],
      scaleIn: scaleInAll,
      expected: outcomes(DRAINED),
      verify: ({ twin, instances }) => {
        const detail = finishedOf(twin, instances[0])[0]?.detail as
          | {
              report?: {
                finishedAt?: string;
                deadline?: string;
                targets?: { processes: { signals: [string, number][] }[] }[];
              };
            }
          | undefined;
        const report = detail?.report;
        const problems: string[] = [];
        if (!report?.deadline || !report.finishedAt) return ['no deadline or finishedAt in the report'];
        if (Date.parse(report.finishedAt) > Date.parse(report.deadline))
          problems.push(`finished ${report.finishedAt}, after the deadline ${report.deadline}`);
        const kills = (report.targets ?? [])
          .flatMap((t) => t.processes)
          .filter((p) => p.signals.some(([s]) => s === 'KILL'));
        if (kills.length < 1) problems.push('the hung worker was not KILLed');
        return problems;
      },
    }),
  },
  {
    name: 'warm-pool',
    proves:
      'a drain back into the warm pool (Warmed:Pending:Wait) runs for several ticks, uncancelled; an instance leaving a stopped pool is skipped at once',
    fault:
      'a warm pool (Stopped, ReuseOnScaleIn); instance 1: scaled in with a hung job (20 s to its KILL); instance 2: terminated from the pool',
    expect: 'forced (back in the pool, Warmed:Stopped), skipped',
    plan: () => ({
      instances: 2,
      // 30× the wall: the 20 s drain lasts 10 minutes of the twin's clock, past SETTLE_MS and several ticks,
      // and still past SETTLE_MS + 60 s when a loaded machine beats the pump three times late. The drain may
      // last 30 minutes of that clock, so it ends well before the reconciler would expire it.
      twin: stepped(600, { FLEET_DRAINER_MAX_DRAIN_SECONDS: '1800' }),
      workers: (index) =>
        index === 0
          ? [{ kind: 'slow', env: { DEMO_IGNORE_TERM: '1' } }]
          : WORKER_KINDS.map((kind) => ({ kind })),
      prepare: ({ twin, instances }) => {
        twin.autoScaling.putWarmPool(DRILL_GROUP, { poolState: 'Stopped', reuseOnScaleIn: true });
        // Instance 2 waits in the pool, stopped (its workers and its SSM Agent are gone).
        twin.autoScaling.moveToWarmPool(instances[1] as string);
      },
      scaleIn: ({ twin, instances }) => {
        const [toPool, fromPool] = instances as [string, string];
        twin.autoScaling.terminateInstance(toPool, true, true);
        twin.autoScaling.terminateInstance(fromPool, true);
        return instances;
      },
      expected: outcomes(DRAINED, ['skipped']),
      verify: (fleet) => {
        const [toPool, fromPool] = fleet.instances as [string, string];
        const { twin } = fleet;
        const problems: string[] = [];
        const states = (id: string) =>
          twin.states.filter((s) => s.instanceId === id).map((s) => s.lifecycleState);
        const end = twin.autoScaling.ended.find((e) => e.action.instanceId === toPool);
        const heldMs = (end?.atMs ?? 0) - (end?.action.startedMs ?? 0);
        if (heldMs <= SETTLE_MS + 60_000)
          problems.push(`${toPool}: drained for ${heldMs} ms, not past the settle delay: proves nothing`);
        if (twin.calls.some((call) => call.operation === 'CancelCommand'))
          problems.push('a drain command was cancelled');
        if (!states(toPool).includes('Warmed:Pending:Wait') || states(toPool).at(-1) !== 'Warmed:Stopped')
          problems.push(`${toPool}: went ${states(toPool).join(' → ')}, not back into the stopped pool`);
        if (commandsOf(twin, fromPool).length > 0)
          problems.push(`${fromPool}: a drain command was sent to a stopped instance`);
        if (!states(fromPool).includes('Warmed:Terminating:Wait'))
          problems.push(
            `${fromPool}: went ${states(fromPool).join(' → ')}, not through Warmed:Terminating:Wait`,
          );
        return problems;
      },
    }),
  },
  {
    name: 'policy-update',
    proves:
      'a new policy deployed mid-drain (document NewVersion) leaves the running drain on the old version',
    fault: "instance 1 drains; a new template's document becomes version 2; then instance 2 is scaled in",
    expect: 'forced on v1, forced on v2',
    plan: () => ({
      instances: 2,
      twin: stepped(600),
      scaleIn: ({ twin, instances }) => {
        twin.autoScaling.terminateInstance(instances[0] as string, true);
        return instances;
      },
      during: async ({ twin, instances }) => {
        await twin.waitFor(() => inProgress(twin, instances[0]), 'the first drain to run');
        const updated = twin.deployTemplate(drillTemplate(UPDATED_POLICY));
        if (updated.length !== 1) throw new Error(`policy-update: ${updated.length} documents changed`);
        twin.autoScaling.terminateInstance(instances[1] as string, true);
      },
      expected: outcomes(DRAINED, DRAINED),
      verify: ({ twin, instances }) =>
        instances.flatMap((id, index) => {
          const problems: string[] = [];
          const versions = commandsOf(twin, id).map((c) => c.documentVersion);
          if (versions.join() !== String(index + 1)) problems.push(`ran document version ${versions.join()}`);
          const report = finishedOf(twin, id)[0]?.detail.report as
            | { targets?: { name: string }[] }
            | undefined;
          const names = (report?.targets ?? []).map((t) => t.name);
          const want = index === 0 ? 'stuck' : 'stuck-v2';
          if (!names.includes(want)) problems.push(`report targets ${names.join(', ')}, expected ${want}`);
          return problems.map((problem) => `${id}: ${problem}`);
        }),
    }),
  },
  {
    name: 'spot-interruption',
    needs: 'spot',
    timeoutMs: 240_000,
    proves:
      'a Spot interruption warning drains the instance at once: every worker gets its graceful signal within seconds, the report is out before EC2 interrupts it',
    fault:
      'instance 1 (job workers that finish on TERM): EC2 Spot Instance Interruption Warning; interrupted 2 minutes later (wall clock)',
    expect:
      'a Spot drain: first TERM within seconds of the warning, Finished with its report before the interruption',
    plan: () => ({
      instances: 1,
      twin: wall(),
      workers: () => [{ kind: 'queue' }, { kind: 'slow' }],
      // The instance leaves through EC2's interruption, not through a lifecycle action.
      scaleIn: () => [],
      during: async ({ twin, instances }) => {
        const interruption = twin.spotInterruption(instances[0] as string);
        await drainAfterWarning(twin, interruption);
        await twin.waitFor(
          () => interruption.interruptedMs !== undefined,
          'EC2 to interrupt the instance',
          SPOT_NOTICE_WAIT_MS,
        );
      },
      verify: (fleet) => {
        const id = fleet.instances[0] as string;
        const interruption = fleet.twin.interruptions.find((i) => i.instanceId === id);
        if (interruption === undefined) return ['no Spot interruption was run'];
        const problems = signalTimes(fleet, interruption);
        const spotFinished = finishedOf(fleet.twin, id).filter(
          (event) => event.detail.trigger === 'spot-interruption',
        );
        const [event] = spotFinished;
        if (event === undefined) return [...problems, `${id}: no Fleet Drain Finished of the Spot drain`];
        if (spotFinished.length > 1)
          problems.push(`${id}: ${spotFinished.length} Finished events of the Spot drain`);
        problems.push(...reportBeforeInterruption(fleet, interruption, event));
        // Every worker finishes on TERM: each one got it and exited before EC2 interrupted the instance.
        const records = fleet.records().filter((r) => r.instanceId === id);
        const interruptedWallMs = interruption.interruptedWallMs ?? Number.POSITIVE_INFINITY;
        for (const ready of records.filter((r) => r.event === 'ready')) {
          const own = records.filter((r) => r.pid === ready.pid);
          if (!own.some((r) => r.event === 'signal' && r.at >= interruption.warnedWallMs))
            problems.push(`${id}: worker ${ready.pid} (${ready.kind}) got no signal after the warning`);
          else if (!own.some((r) => r.event === 'exit' && r.at < interruptedWallMs))
            problems.push(
              `${id}: worker ${ready.pid} (${ready.kind}) had not exited when EC2 interrupted it`,
            );
        }
        const signals = signalled(fleet, id).map((r) => `${r.pid}:${r.signal}`);
        if (new Set(signals).size !== signals.length) problems.push(`${id}: a worker was signalled twice`);
        return problems;
      },
    }),
  },
  {
    name: 'spot-after-lifecycle',
    needs: 'spot',
    timeoutMs: 240_000,
    proves:
      'a Spot warning during a long lifecycle drain cuts it to the interruption deadline: KILL before EC2 interrupts, no worker signalled twice, the action completed CONTINUE by the drainer',
    fault: `instance 1 is scaled in with a hung job under ${LONG_SCHEDULE}; once its TERMs went out, an EC2 Spot Instance Interruption Warning (wall clock)`,
    expect: 'forced, completed CONTINUE before the interruption',
    plan: () => ({
      instances: 1,
      twin: { ...wall(), template: drillTemplate(LONG_POLICY) },
      workers: () => [{ kind: 'slow', env: { DEMO_IGNORE_TERM: '1' } }, { kind: 'queue' }],
      scaleIn: ({ twin, instances }) => {
        twin.autoScaling.terminateInstance(instances[0] as string, true);
        return instances;
      },
      during: async (fleet) => {
        const { twin, instances } = fleet;
        const id = instances[0] as string;
        await twin.waitFor(() => signalled(fleet, id).length > 0, 'the lifecycle drain to TERM the workers');
        await drainAfterWarning(twin, twin.spotInterruption(id));
      },
      expected: outcomes(DRAINED),
      timeoutMs: 160_000,
      verify: (fleet) => {
        const { twin } = fleet;
        const id = fleet.instances[0] as string;
        const interruption = twin.interruptions.find((i) => i.instanceId === id);
        if (interruption === undefined) return ['no Spot interruption was run'];
        const problems: string[] = [];
        const end = twin.autoScaling.ended.find((e) => e.action.instanceId === id);
        if (end?.how !== 'completed' || end.result !== 'CONTINUE')
          problems.push(
            `the lifecycle action ended ${end?.how ?? 'never'} ${end?.result ?? ''}, expected completed CONTINUE`,
          );
        if (end !== undefined && end.atMs >= interruption.interruptAtMs)
          problems.push(
            `the lifecycle action ended ${(end.atMs - interruption.interruptAtMs) / 1000} s after the interruption`,
          );
        const [lifecycleFinished] = finishedOf(twin, id).filter(
          (event) => event.detail.trigger === undefined || event.detail.trigger === 'lifecycle',
        );
        if (lifecycleFinished !== undefined)
          problems.push(...reportBeforeInterruption(fleet, interruption, lifecycleFinished));
        const report = lifecycleFinished?.detail.report as
          | { targets?: { processes: { signals: [string, number][] }[] }[] }
          | undefined;
        const kills = (report?.targets ?? [])
          .flatMap((t) => t.processes)
          .filter((p) => p.signals.some(([s]) => s === 'KILL'));
        if (kills.length === 0) problems.push('the hung worker was not KILLed before the interruption');
        if (end !== undefined)
          fleet.print(
            `  warning → lifecycle action completed: ${((end.atMs - interruption.warnedMs) / 1000).toFixed(1)} s (the schedule alone: ${LONG_SCHEDULE})`,
          );
        return problems.map((problem) => `${id}: ${problem}`);
      },
    }),
  },
  {
    name: 'rebalance-prepare',
    needs: 'spot',
    timeoutMs: 120_000,
    proves:
      'with onRebalanceRecommendation prepare and no Capacity Rebalancing, a rebalance recommendation runs only the prepare steps: nothing signalled, the instance stays InService',
    fault:
      'instance 1: EC2 Instance Rebalance Recommendation (the drainer deployed with onRebalanceRecommendation: prepare)',
    expect: 'prepared (the prepare step’s file exists), no worker signalled, InService',
    plan: () => {
      const dir = mkdtempSync(join(tmpdir(), 'fleet-drill-prepare-'));
      const marker = join(dir, 'no-dispatch');
      return {
        instances: 1,
        twin: {
          ...wall(),
          template: drillTemplate(
            { ...DRILL_POLICY, prepare: [{ touch: marker }] },
            { onRebalanceRecommendation: 'prepare' },
          ),
        },
        scaleIn: () => [],
        during: async ({ twin, instances }) => {
          const id = instances[0] as string;
          const sentAfter = twin.clock.now();
          await twin.rebalanceRecommendation(id);
          const event = twin.bus.events
            .filter((e) => e['detail-type'] === 'EC2 Instance Rebalance Recommendation')
            .at(-1) as BusEvent;
          await afterEc2Event(
            twin,
            event,
            () =>
              commandsOf(twin, id).some(
                (c) => c.requestedMs >= sentAfter && c.parameters.action?.[0] === 'prepare',
              ),
            'prepare command after the rebalance recommendation',
          );
          await twin.waitFor(
            () => finishedOf(twin, id).some((e) => e.detail.trigger === 'rebalance-recommendation'),
            'the Fleet Drain Finished of the prepare',
            30_000,
          );
        },
        settleMs: 2000,
        verify: (fleet) => {
          const { twin } = fleet;
          const id = fleet.instances[0] as string;
          const problems: string[] = [];
          if (!existsSync(marker)) problems.push(`the prepare step's file ${marker} does not exist`);
          rmSync(dir, { recursive: true, force: true });
          const commands = commandsOf(twin, id);
          const drains = commands.filter((c) => c.parameters.action?.[0] !== 'prepare');
          if (drains.length > 0)
            problems.push(`${drains.length} drain command(s) sent, only a prepare expected`);
          const prepare = commands.find((c) => c.parameters.action?.[0] === 'prepare');
          const status = prepare?.invocations.get(id)?.status;
          if (prepare !== undefined && status !== 'Success')
            problems.push(`the prepare command ended ${status}`);
          const outcomes = finishedOf(twin, id).map((e) => e.detail.outcome);
          if (outcomes.length > 0 && outcomes.some((o) => o !== 'prepared'))
            problems.push(`Finished with outcome ${outcomes.join(', ')}, expected prepared`);
          if (signalled(fleet, id).length > 0) problems.push('a worker was signalled');
          const state = twin.states.filter((s) => s.instanceId === id).at(-1)?.lifecycleState;
          if (state !== 'InService') problems.push(`the instance is ${state}, expected InService`);
          if (twin.autoScaling.ended.length > 0) problems.push('a lifecycle action ran');
          return problems.map((problem) => `${id}: ${problem}`);
        },
      };
    },
  },
  {
    name: 'operator',
    needs: 'cli',
    timeoutMs: 180_000,
    proves:
      'the operator commands, run as a user runs them, see a drain in progress, render its report once done, and show what the policy matches on an idle host without touching it; each mistake fails in one line',
    fault:
      'none: fleet-drainer status, report and plan (child processes) during a drain, after it and on an idle instance; then a wrong stack, region or instance, one without SSM, no credentials, a denied SendCommand',
    expect:
      'forced; status draining, then not; report lists the targets; plan lists the matches and flags a target that matches nothing, signals nothing, touches no lifecycle action',
    plan: () => operatorPlan(wall()),
  },
];

export const SCENARIO_NAMES = SCENARIOS.map((scenario) => scenario.name);

/** Runs one scenario visibly. */
export async function runScenario(name: string, print: (line: string) => void): Promise<DrillResult> {
  const scenario = SCENARIOS.find((candidate) => candidate.name === name);
  if (scenario === undefined) throw new Error(`unknown scenario "${name}"`);
  print(`Scenario ${scenario.name}: ${scenario.proves}.`);
  print(`  fault: ${scenario.fault}`);
  print(`  expected: ${scenario.expect}`);
  return runFleet(scenario.plan(), print);
}
