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
import type { DrainPolicy } from '../agent/policy';
import type { DrainReport } from '../agent/report';
import { FleetDrainer } from '../lib/index';
import type { BusEvent } from './event-envelope';
import { REGION } from './event-envelope';
import { isolationMode } from './instances';
import type { CfnTemplate } from './template';
import { Twin } from './twin';

/** Resolves to twin/demo-worker.mjs from twin/ (sources) and from dist/ (the bundle) alike. */
const DEMO_WORKER = fileURLToPath(new URL('../twin/demo-worker.mjs', import.meta.url));
export const DRILL_GROUP = 'drill-fleet';
const WORKER_KINDS = ['queue', 'slow', 'stuck'] as const;

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

interface WorkerRecord {
  at: number;
  pid: number;
  kind: string;
  instanceId: string;
  event: 'ready' | 'signal' | 'exit';
  signal?: string;
}

/** The construct's template for the drill's one group. */
export function drillTemplate(): CfnTemplate {
  const app = new App();
  const stack = new Stack(app, 'Drill', { env: { account: '123456789012', region: REGION } });
  new FleetDrainer(stack, 'Drainer', {
    groups: [DRILL_GROUP],
    policy: DRILL_POLICY,
    maxDrainTime: Duration.minutes(10),
  });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

const finished = (events: readonly BusEvent[]) =>
  events.filter(
    (event) => event.source === 'fleet-drainer' && event['detail-type'] === 'Fleet Drain Finished',
  );

export async function runDrill(options: DrillOptions): Promise<DrillResult> {
  const { print } = options;
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

  print(`Synthesizing the FleetDrainer stack and starting the twin on 127.0.0.1 …`);
  const twin = await Twin.start({ template: drillTemplate(), logLevel: 'ERROR' });
  try {
    const instances = await twin.launch(DRILL_GROUP, options.instances, (instanceId) =>
      WORKER_KINDS.map((kind) => ({
        command: [process.execPath, DEMO_WORKER, kind, instanceId],
        env: { DEMO_LOG: log },
      })),
    );
    await twin.waitFor(
      () => records().filter((r) => r.event === 'ready').length >= instances.length * WORKER_KINDS.length,
      'the demo workers to be ready',
    );
    print(
      `${instances.length} instances in ${DRILL_GROUP}, each running a queue worker, a slow one and one that ignores TERM.`,
    );
    print(`Scaling in by ${options.scaleIn} (SetDesiredCapacity ${instances.length - options.scaleIn}) …\n`);
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

    // Live progress: one line per step of each instance, from what the twin saw, in the order it happened.
    const seen = new Set<string>();
    const progress = () => {
      const steps: [atMs: number, key: string, line: string][] = [];
      for (const change of twin.states) {
        if (change.lifecycleState === 'InService') continue;
        const key = `${change.instanceId}:${change.lifecycleState}`;
        steps.push([change.atMs, key, `${change.instanceId}  ${change.lifecycleState}`]);
      }
      for (const command of twin.commands.all()) {
        for (const [instanceId, invocation] of command.invocations) {
          steps.push([
            command.requestedMs,
            `${command.commandId}:sent`,
            `${instanceId}  drain command sent (${command.commandId.slice(0, 8)})`,
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
        print(`${`+${((atMs - started) / 1000).toFixed(1)}s`.padStart(7)}  ${line}`);
      }
    };
    const scaledIn = () => new Set(twin.autoScaling.ended.map((end) => end.action.instanceId));
    const ticker = setInterval(progress, 100);
    try {
      await twin.waitFor(
        () => scaledIn().size >= options.scaleIn && finished(twin.bus.events).length >= options.scaleIn,
        `${options.scaleIn} drains to finish`,
        options.timeoutMs ?? 120_000,
      );
      await twin.waitFor(
        () =>
          [...scaledIn()].every((id) =>
            twin.states.some((s) => s.instanceId === id && s.lifecycleState === 'Terminated'),
          ),
        'the drained instances to terminate',
      );
    } catch (error) {
      print(`\n${(error as Error).message.split('\n')[0]}`);
    } finally {
      clearInterval(ticker);
      progress();
    }
    return summarize(twin, instances, options.scaleIn, records(), print);
  } finally {
    await twin.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function summarize(
  twin: Twin,
  instances: string[],
  scaleIn: number,
  records: WorkerRecord[],
  print: (line: string) => void,
): DrillResult {
  const events = finished(twin.bus.events);
  const drained = instances.filter((id) =>
    twin.autoScaling.ended.some((end) => end.action.instanceId === id),
  );
  const problems: string[] = [];
  if (drained.length !== scaleIn)
    problems.push(`${drained.length} instances left the group, expected ${scaleIn}`);
  const summaries: InstanceSummary[] = [];
  for (const instanceId of instances) {
    const ends = twin.autoScaling.ended.filter((end) => end.action.instanceId === instanceId);
    if (ends.length === 0) continue;
    const own: string[] = [];
    const detail = events.find((event) => (event.detail as { instanceId?: string }).instanceId === instanceId)
      ?.detail as { outcome?: string; lifecycleActionResult?: string; report?: DrainReport } | undefined;
    const report = detail?.report && 'targets' in detail.report ? detail.report : undefined;
    if (ends.length > 1) own.push(`${ends.length} lifecycle actions ended`);
    const [end] = ends;
    if (end && end.how !== 'completed')
      own.push(`stranded: the action ended by ${end.how}, not by the drainer`);
    // A graceful signal twice (e.g. a second TERM) makes many workers abort their job.
    const workerRecords = records.filter((r) => r.instanceId === instanceId);
    for (const pid of new Set(workerRecords.map((r) => r.pid))) {
      const signals = workerRecords.filter((r) => r.pid === pid && r.event === 'signal').map((r) => r.signal);
      if (new Set(signals).size !== signals.length) own.push(`worker ${pid} got ${signals.join(', ')}`);
    }
    // The action must not be completed before every worker stopped (the stuck one stops by KILL).
    const lastExit = Math.max(0, ...workerRecords.filter((r) => r.event === 'exit').map((r) => r.at));
    const invocations = twin.commands
      .all()
      .map((command) => command.invocations.get(instanceId))
      .filter((invocation) => invocation !== undefined);
    const agentEnd = Math.max(0, ...invocations.map((invocation) => invocation.endedMs ?? 0));
    if (end && end.how === 'completed' && end.atMs < lastExit)
      own.push('completed before its workers stopped');
    const running = report?.targets.flatMap((t) => t.processes).filter((p) => p.exitedAfterMs === null) ?? [];
    if (running.length > 0) own.push(`${running.length} worker(s) still running at the end of the drain`);
    if (!detail) own.push('no Fleet Drain Finished event');
    const counts = new Map<string, number>();
    for (const process of report?.targets.flatMap((t) => t.processes) ?? []) {
      for (const [signal] of process.signals) counts.set(signal, (counts.get(signal) ?? 0) + 1);
    }
    summaries.push({
      instanceId,
      outcome: detail?.outcome ?? '—',
      result: end ? (end.how === 'completed' ? end.result : end.how) : '—',
      drainMs: report?.durationMs ?? null,
      signals: [...counts].map(([signal, count]) => `${signal}×${count}`).join(' ') || '—',
      completionLatencyMs: end && agentEnd > 0 ? end.atMs - agentEnd : null,
      problems: own,
    });
    problems.push(...own.map((problem) => `${instanceId}: ${problem}`));
  }
  const stillInService = instances.filter((id) => !drained.includes(id));
  for (const id of stillInService) {
    const signalled = records.filter((r) => r.instanceId === id && r.event === 'signal');
    if (signalled.length > 0) problems.push(`${id}: stays in service but its workers were signalled`);
  }

  const rows = [
    ['instance', 'outcome', 'result', 'drain', 'signals', 'completion after agent exit'],
    ...summaries.map((s) => [
      s.instanceId,
      s.outcome,
      s.result,
      s.drainMs === null ? '—' : `${(s.drainMs / 1000).toFixed(2)} s`,
      s.signals,
      s.completionLatencyMs === null ? '—' : `${s.completionLatencyMs} ms`,
    ]),
  ];
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  print('');
  for (const row of rows) print(row.map((cell, i) => cell.padEnd(widths[i] as number)).join('  '));
  const latencies = summaries.flatMap((s) => (s.completionLatencyMs === null ? [] : [s.completionLatencyMs]));
  const drains = summaries.flatMap((s) => (s.drainMs === null ? [] : [s.drainMs]));
  print('');
  print(
    `${summaries.length} drained, ${instances.length - summaries.length} still in service; ` +
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
