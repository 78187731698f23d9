// `fleet-drainer drill`: the whole flow on this machine. Synthesizes the FleetDrainer construct, starts the
// twin with the real Lambda, document and agent, boots a small fleet running demo workers, scales part of it
// in, shows each drain as it goes, and ends with a summary. It fails if an instance was stranded, completed
// before its workers stopped, or had a worker signalled twice with a graceful signal.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoScalingClient, SetDesiredCapacityCommand } from '@aws-sdk/client-auto-scaling';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { DrainPolicy } from '../agent/policy/policy';
import type { DrainReport } from '../agent/report/report';
import { parseReport } from '../lambda/decide/parse-report';
import { FleetDrainer, type FleetDrainerProps } from '../lib/index';
import { table } from '../operator/format';
import type { BusEvent } from './event-envelope';
import { REGION } from './event-envelope';
import { isolationMode, type WorkerSpec } from './instances';
import { isInWarmPool } from './lifecycle';
import type { CfnTemplate } from './template';
import { Twin, type TwinOptions } from './twin';

/** Resolves to twin/demo-worker.mjs from twin/ (sources) and from dist/ (the bundle) alike. */
const DEMO_WORKER = fileURLToPath(new URL('../twin/demo-worker.mjs', import.meta.url));
export const DRILL_GROUP = 'drill-fleet';
/** The drill's stack: what CloudFormation's DescribeStacks knows it by (`fleet-drainer status --stack Drill`). */
export const DRILL_STACK = 'Drill';
/** The demo workers every instance runs unless a plan says otherwise. */
export const WORKER_KINDS = ['queue', 'slow', 'stuck'] as const;
/**
 * Outcomes that say why an action may be completed while workers still run: the host could not be reached
 * (`unreachable`), was stopped (`skipped`), ran out of time (`expired`), or the agent could not drain (`failed`:
 * its exit code and stderr are in the event, and the result policy can ABANDON instead).
 */
export const EXPLAINED_OUTCOMES: readonly string[] = ['unreachable', 'skipped', 'expired', 'failed'];

/** The drill's drain policy: job workers get TERM and time to finish; the stuck one needs KILL. */
export const DRILL_POLICY: DrainPolicy = {
  version: 1,
  targets: [
    { name: 'jobs', match: { cmdline: 'demo-worker\\.mjs (queue|slow) ' }, schedule: 'TERM/20s/KILL/5s' },
    { name: 'stuck', match: { cmdline: 'demo-worker\\.mjs stuck ' }, schedule: 'TERM/2s/KILL/3s' },
  ],
};

export interface DrillOptions {
  instances: number;
  scaleIn: number;
  /** Where progress and the summary go (a line at a time). */
  print: (line: string) => void;
  /** Bound on the whole drain phase. */
  timeoutMs?: number;
}

export interface InstanceSummary {
  instanceId: string;
  outcome: string;
  result: string;
  drainMs: number | null;
  signals: string;
  completionLatencyMs: number | null;
  problems: string[];
}

export interface DrillResult {
  ok: boolean;
  instances: InstanceSummary[];
  problems: string[];
}

export interface WorkerRecord {
  at: number;
  pid: number;
  kind: string;
  instanceId: string;
  event: 'ready' | 'signal' | 'exit';
  signal?: string;
}

/** A demo worker of an instance: its kind, and extra environment (e.g. DEMO_IGNORE_TERM). */
export interface DemoWorker {
  kind: string;
  env?: Record<string, string>;
}

/** A running fleet: what a plan's hooks act on. */
export interface Fleet {
  twin: Twin;
  /** In launch order. */
  instances: string[];
  records(): WorkerRecord[];
  print(line: string): void;
}

/** One run of the drain flow: a fleet, faults, a scale-in, and what each drained instance must end with. */
export interface FleetPlan {
  instances: number;
  /** Twin options besides the template (default: the drill's template on the wall clock). */
  twin?: Omit<TwinOptions, 'template'> & { template?: CfnTemplate };
  /** The demo workers of the instance at `index`. Default: one of each WORKER_KINDS. */
  workers?: (index: number) => DemoWorker[];
  /** Before the scale-in: inject faults. */
  prepare?: (fleet: Fleet) => void | Promise<void>;
  /** Starts the scale-in; returns the instances that must leave the group. */
  scaleIn: (fleet: Fleet) => string[] | Promise<string[]>;
  /** While the drains run (kill an agent, vanish a host, deploy a policy…). */
  during?: (fleet: Fleet) => void | Promise<void>;
  /** The outcomes allowed for a drained instance; undefined: any. */
  expected?: (instanceId: string, index: number) => readonly string[] | undefined;
  /** Further checks after the drains ended; returns problems. */
  verify?: (fleet: Fleet) => string[];
  /** Wall time to keep watching after the drains ended, so late duplicates show. Default 0. */
  settleMs?: number;
  /** Bound on the drain phase. Default 120 s. */
  timeoutMs?: number;
}

/**
 * The construct's template for the drill's one group, with the drill's policy or another one, and further
 * props of the construct (e.g. `onRebalanceRecommendation`), passed through as they are.
 */
export function drillTemplate(
  policy: DrainPolicy = DRILL_POLICY,
  props: Record<string, unknown> = {},
): CfnTemplate {
  const app = new App();
  const stack = new Stack(app, DRILL_STACK, { env: { account: '123456789012', region: REGION } });
  new FleetDrainer(stack, 'Drainer', {
    groups: [DRILL_GROUP],
    policy,
    maxDrainTime: Duration.minutes(10),
    ...props,
  } as FleetDrainerProps);
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

/**
 * The `Fleet Drain Finished` events of lifecycle drains: a Spot or rebalance drain (its `trigger` says so)
 * finishes with an event of its own, and its lifecycle action (if any) with another.
 */
const finished = (events: readonly BusEvent[]) =>
  events.filter(
    (event) =>
      event.source === 'fleet-drainer' &&
      event['detail-type'] === 'Fleet Drain Finished' &&
      (event.detail.trigger === undefined || event.detail.trigger === 'lifecycle'),
  );

export async function runDrill(options: DrillOptions): Promise<DrillResult> {
  const { print } = options;
  return runFleet(
    {
      instances: options.instances,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      scaleIn: async ({ twin, instances }) => {
        print(
          `${instances.length} instances in ${DRILL_GROUP}, each running a queue worker, a slow one and one that ignores TERM.`,
        );
        print(
          `Scaling in by ${options.scaleIn} (SetDesiredCapacity ${instances.length - options.scaleIn}) …\n`,
        );
        const client = new AutoScalingClient({
          endpoint: twin.url,
          region: REGION,
          credentials: { accessKeyId: 'drill', secretAccessKey: 'drill' },
        });
        await client.send(
          new SetDesiredCapacityCommand({
            AutoScalingGroupName: DRILL_GROUP,
            DesiredCapacity: instances.length - options.scaleIn,
          }),
        );
        client.destroy();
        // Scale-in takes the oldest instances first.
        return instances.slice(0, options.scaleIn);
      },
    },
    print,
  );
}

/** Runs a plan end to end and checks it; always stops the twin and everything it started. */
export async function runFleet(plan: FleetPlan, print: (line: string) => void): Promise<DrillResult> {
  if (isolationMode() !== 'pid-namespace') {
    print('note: PID namespaces are not available here; instances share one process table (process groups).');
  }
  const dir = mkdtempSync(join(tmpdir(), 'fleet-drainer-drill-'));
  const log = join(dir, 'workers.log');
  writeFileSync(log, '');
  const records = (): WorkerRecord[] =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as WorkerRecord);
  const started = Date.now();
  const wallStarted = started;

  print(`Synthesizing the FleetDrainer stack and starting the twin on 127.0.0.1 …`);
  const twin = await Twin.start({
    logLevel: 'ERROR',
    stackName: DRILL_STACK,
    ...plan.twin,
    template: plan.twin?.template ?? drillTemplate(),
  });
  // Progress lines are stamped with wall time since the start, whatever the twin's clock.
  const clockStarted = twin.clock.now();
  const wallOf = (atMs: number) => wallStarted + (atMs - clockStarted) / speedOf(twin);
  try {
    const kinds = (index: number): DemoWorker[] =>
      plan.workers?.(index) ?? WORKER_KINDS.map((kind) => ({ kind }));
    let launched = 0;
    const instances = await twin.launch(DRILL_GROUP, plan.instances, (instanceId): WorkerSpec[] =>
      kinds(launched++).map(({ kind, env }) => ({
        command: [process.execPath, DEMO_WORKER, kind, instanceId],
        env: { DEMO_LOG: log, ...env },
      })),
    );
    const workerCount = instances.reduce((sum, _, index) => sum + kinds(index).length, 0);
    await twin.waitFor(
      () => records().filter((r) => r.event === 'ready').length >= workerCount,
      'the demo workers to be ready',
    );
    const fleet: Fleet = { twin, instances, records, print };
    await plan.prepare?.(fleet);
    const leaving = await plan.scaleIn(fleet);

    // Live progress: one line per step of each instance, from what the twin saw, in the order it happened.
    const seen = new Set<string>();
    const progress = () => {
      const steps: [atMs: number, key: string, line: string][] = [];
      for (const change of twin.states) {
        if (change.lifecycleState === 'InService') continue;
        const key = `${change.instanceId}:${change.lifecycleState}`;
        steps.push([change.atMs, key, `${change.instanceId}  ${change.lifecycleState}`]);
      }
      for (const event of twin.bus.events) {
        if (event.source !== 'aws.ec2') continue;
        const atMs = twin.bus.publishedMs.get(event) ?? Date.parse(event.time);
        const action = event.detail['instance-action'];
        steps.push([
          atMs,
          `ec2:${event.id}`,
          `${event.detail['instance-id']}  ${event['detail-type']}${action ? ` (${action})` : ''}`,
        ]);
      }
      for (const interruption of twin.interruptions) {
        if (interruption.interruptedMs === undefined) continue;
        steps.push([
          interruption.interruptedMs,
          `interrupted:${interruption.instanceId}`,
          `${interruption.instanceId}  interrupted by EC2 (${interruption.action})`,
        ]);
      }
      for (const command of twin.commands.all()) {
        for (const [instanceId, invocation] of command.invocations) {
          const action = command.parameters.action?.[0];
          const version =
            (command.documentVersion > 1 ? `, document v${command.documentVersion}` : '') +
            (action !== undefined && action !== 'drain' && action !== 'plan' ? `, ${action}` : '');
          steps.push([
            command.requestedMs,
            `${command.commandId}:sent`,
            `${instanceId}  ${action === 'plan' ? 'plan' : 'drain'} command sent (${command.commandId.slice(0, 8)}${version})`,
          ]);
          if (invocation.endedMs !== undefined) {
            steps.push([
              invocation.endedMs,
              `${command.commandId}:ended`,
              `${instanceId}  agent exited ${invocation.responseCode} (${invocation.status})`,
            ]);
          }
        }
      }
      for (const end of twin.autoScaling.ended) {
        const how = end.how === 'completed' ? `completed ${end.result}` : `${end.how} → ${end.result}`;
        steps.push([
          end.atMs,
          `${end.action.token}:ended`,
          `${end.action.instanceId}  lifecycle action ${how}`,
        ]);
      }
      for (const [atMs, key, line] of steps.sort((a, b) => a[0] - b[0])) {
        if (seen.has(key)) continue;
        seen.add(key);
        print(`${`+${((wallOf(atMs) - started) / 1000).toFixed(1)}s`.padStart(7)}  ${line}`);
      }
    };
    const scaledIn = () => new Set(twin.autoScaling.ended.map((end) => end.action.instanceId));
    const finishedFor = () => new Set(finished(twin.bus.events).map((e) => e.detail.instanceId));
    const ticker = setInterval(progress, 100);
    let failure: string | undefined;
    try {
      // A failing `during` ends the wait at once: it says what went wrong better than a timeout would.
      let duringFailed = false;
      const during = Promise.resolve(plan.during?.(fleet)).catch((error: unknown) => {
        duringFailed = true;
        throw error;
      });
      during.catch(() => undefined);
      await twin.waitFor(
        () =>
          duringFailed ||
          (leaving.every((id) => scaledIn().has(id)) && leaving.every((id) => finishedFor().has(id))),
        `${leaving.length} drains to finish`,
        plan.timeoutMs ?? 120_000,
      );
      await during;
      // Terminated, or back in the warm pool (instance reuse).
      await twin.waitFor(
        () =>
          leaving.every((id) =>
            twin.states.some(
              (s) =>
                s.instanceId === id && (s.lifecycleState === 'Terminated' || isInWarmPool(s.lifecycleState)),
            ),
          ),
        'the drained instances to terminate or go back to the warm pool',
      );
      if (plan.settleMs) await new Promise((resolve) => setTimeout(resolve, plan.settleMs));
    } catch (error) {
      failure = (error as Error).message.split('\n')[0];
      print(`\n${failure}`);
    } finally {
      clearInterval(ticker);
      progress();
    }
    return summarize(fleet, leaving, plan, print, failure);
  } finally {
    await twin.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** How many times faster than the wall the twin's clock runs (1 on the wall clock). */
function speedOf(twin: Twin): number {
  const stepMs = (twin.clock as { stepMs?: number }).stepMs;
  return stepMs === undefined ? 1 : stepMs / 20;
}

/** The checks, per drained instance; then the table and the verdict. */
export function checkInstance(
  fleet: Fleet,
  instanceId: string,
  allowed: readonly string[] | undefined,
): InstanceSummary | undefined {
  const { twin } = fleet;
  const ends = twin.autoScaling.ended.filter((end) => end.action.instanceId === instanceId);
  if (ends.length === 0) return undefined;
  const own: string[] = [];
  const events = finished(twin.bus.events).filter((event) => event.detail.instanceId === instanceId);
  const detail = events[0]?.detail as
    | { outcome?: string; lifecycleActionResult?: string; report?: DrainReport }
    | undefined;
  const report = detail?.report && 'targets' in detail.report ? detail.report : undefined;
  if (ends.length > 1) own.push(`${ends.length} lifecycle actions ended`);
  const [end] = ends;
  if (end && end.how !== 'completed')
    own.push(`stranded: the action ended by ${end.how}, not by the drainer`);
  if (!detail) own.push('no Fleet Drain Finished event');
  if (events.length > 1)
    own.push(
      `${events.length} Fleet Drain Finished events (${events.map((e) => e.detail.outcome).join(', ')})`,
    );
  const outcome = detail?.outcome ?? '—';
  if (detail && allowed !== undefined && !allowed.includes(outcome))
    own.push(`outcome ${outcome}, expected ${allowed.join(' or ')}`);
  // A graceful signal twice (e.g. a second TERM) makes many workers abort their job.
  const workerRecords = fleet.records().filter((r) => r.instanceId === instanceId);
  for (const pid of new Set(workerRecords.map((r) => r.pid))) {
    const signals = workerRecords.filter((r) => r.pid === pid && r.event === 'signal').map((r) => r.signal);
    if (new Set(signals).size !== signals.length) own.push(`worker ${pid} got ${signals.join(', ')}`);
  }
  const invocations = twin.commands
    .all()
    .map((command) => command.invocations.get(instanceId))
    .filter((invocation) => invocation !== undefined);
  // The agent that ran the drain: a second command of the same drain (a duplicate event's) joins it and
  // prints the same report a moment later (`joined: true`); the workers' stop is the first one's.
  const draining = invocations.filter((invocation) => parseReport(invocation.stdout)?.joined !== true);
  const agentEnd = Math.max(
    0,
    ...(draining.length > 0 ? draining : invocations).map((invocation) => invocation.endedMs ?? 0),
  );
  // The action must not be completed before every worker stopped, unless the outcome says why. Workers log
  // their exit on the wall clock; a KILLed one cannot, so the agent's report must show it gone.
  if (end && end.how === 'completed' && !EXPLAINED_OUTCOMES.includes(outcome)) {
    // Terminating:Proceed, or Warmed:Pending:Proceed / Warmed:Terminating:Proceed for warm-pool moves.
    const proceedWallMs =
      twin.states.find((s) => s.instanceId === instanceId && s.lifecycleState.endsWith(':Proceed'))?.wallMs ??
      0;
    const lastExit = Math.max(0, ...workerRecords.filter((r) => r.event === 'exit').map((r) => r.at));
    if (proceedWallMs < lastExit) own.push('completed before its workers stopped');
    if (end.atMs < agentEnd) own.push('completed before the agent exited');
    const processes = report?.targets.flatMap((t) => t.processes) ?? [];
    const stopped = new Set(processes.filter((p) => p.exitedAfterMs !== null).map((p) => p.pid));
    const exited = new Set(workerRecords.filter((r) => r.event === 'exit').map((r) => r.pid));
    const ready = workerRecords.filter((r) => r.event === 'ready').map((r) => r.pid);
    const unaccounted = ready.filter((pid) => !stopped.has(pid) && !exited.has(pid));
    if (unaccounted.length > 0)
      own.push(
        `completed while worker(s) ${unaccounted.join(', ')} may still run (not stopped in the report)`,
      );
  }
  const counts = new Map<string, number>();
  for (const process of report?.targets.flatMap((t) => t.processes) ?? []) {
    for (const [signal] of process.signals) counts.set(signal, (counts.get(signal) ?? 0) + 1);
  }
  return {
    instanceId,
    outcome,
    result: end ? (end.how === 'completed' ? end.result : end.how) : '—',
    drainMs: report?.durationMs ?? null,
    signals: [...counts].map(([signal, count]) => `${signal}×${count}`).join(' ') || '—',
    completionLatencyMs: end && agentEnd > 0 ? Math.round((end.atMs - agentEnd) / speedOf(twin)) : null,
    problems: own,
  };
}

function summarize(
  fleet: Fleet,
  leaving: string[],
  plan: FleetPlan,
  print: (line: string) => void,
  failure?: string,
): DrillResult {
  const { twin, instances } = fleet;
  const records = fleet.records();
  const drained = instances.filter((id) =>
    twin.autoScaling.ended.some((end) => end.action.instanceId === id),
  );
  const problems: string[] = failure === undefined ? [] : [failure];
  const unexpected = drained.filter((id) => !leaving.includes(id));
  const missing = leaving.filter((id) => !drained.includes(id));
  if (unexpected.length > 0 || missing.length > 0)
    problems.push(`${drained.length} instances left the group, expected ${leaving.length}`);
  for (const id of missing) problems.push(`${id}: stranded: its lifecycle action never ended`);
  const summaries: InstanceSummary[] = [];
  instances.forEach((instanceId, index) => {
    const summary = checkInstance(fleet, instanceId, plan.expected?.(instanceId, index));
    if (summary === undefined) return;
    summaries.push(summary);
    problems.push(...summary.problems.map((problem) => `${instanceId}: ${problem}`));
  });
  // A Spot warning drains an instance that never leaves through a lifecycle action: its scenario checks it.
  const warned = new Set(twin.interruptions.map((interruption) => interruption.instanceId));
  for (const id of instances.filter((id) => !drained.includes(id) && !warned.has(id))) {
    const signalled = records.filter((r) => r.instanceId === id && r.event === 'signal');
    if (signalled.length > 0) problems.push(`${id}: stays in service but its workers were signalled`);
  }
  problems.push(...(plan.verify?.(fleet) ?? []));

  const rows = table(
    ['instance', 'outcome', 'result', 'drain', 'signals', 'completion after agent exit'],
    summaries.map((s) => [
      s.instanceId,
      s.outcome,
      s.result,
      s.drainMs === null ? '—' : `${(s.drainMs / 1000).toFixed(2)} s`,
      s.signals,
      s.completionLatencyMs === null ? '—' : `${s.completionLatencyMs} ms`,
    ]),
  );
  print('');
  for (const row of rows) print(row);
  // Interrupted by EC2 and not drained through a lifecycle action.
  const interruptedCount = instances.filter(
    (id) =>
      !summaries.some((summary) => summary.instanceId === id) &&
      twin.interruptions.some((i) => i.instanceId === id && i.interruptedMs !== undefined),
  ).length;
  const latencies = summaries.flatMap((s) => (s.completionLatencyMs === null ? [] : [s.completionLatencyMs]));
  const drains = summaries.flatMap((s) => (s.drainMs === null ? [] : [s.drainMs]));
  print('');
  print(
    `${summaries.length} drained, ${interruptedCount > 0 ? `${interruptedCount} interrupted by EC2, ` : ''}` +
      `${instances.length - summaries.length - interruptedCount} still in service; ` +
      `outcomes: ${[...new Set(summaries.map((s) => s.outcome))].map((o) => `${o} ${summaries.filter((s) => s.outcome === o).length}`).join(', ')}; ` +
      `longest drain ${drains.length ? (Math.max(...drains) / 1000).toFixed(2) : '—'} s; ` +
      `completion after agent exit: max ${latencies.length ? Math.max(...latencies) : '—'} ms.`,
  );
  const ok = problems.length === 0;
  print(
    ok
      ? 'Drill passed: nothing stranded, nothing completed early, no worker signalled twice.'
      : 'Drill FAILED:',
  );
  for (const problem of problems) print(`  - ${problem}`);
  return { ok, instances: summaries, problems };
}
