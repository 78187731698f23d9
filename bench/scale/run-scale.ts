// One scale run (bench/scale-bench.mjs runs it in a fresh process per fleet size): N virtual instances
// scaled in at once against the twin, with the real handler (createHandler and the real SDK v3 clients, one
// set per Lambda execution environment) and Auto Scaling and SSM throttled to token buckets. Prints one
// line `RESULT {json}`.
//
// Virtual instances have no processes: a drain lasts a time drawn from a distribution and the agent's exit is
// simulated at the SSM edge (the invocation ends with the agent's report on stdout). A second command that
// reaches a host joins the running drain, as the agent does (one drain per host).

import { writeFileSync } from 'node:fs';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { emptyReport, type TargetReport } from '../../agent/report/report';
import { heartbeatSlotMs } from '../../lambda/decide/heartbeat-schedule';
import { FleetDrainer } from '../../lib/index';
import type { Command, RunResult } from '../../twin/commands';
import type { RateLimit } from '../../twin/rate-limit';
import type { CfnTemplate } from '../../twin/template';
import { Twin } from '../../twin/twin';
import { seededRandom } from '../seeded-random.mjs';
import { realClearInterval, realSetInterval, VirtualTime } from './virtual-time';

const GROUP = 'fleet';
const START_MS = Date.parse('2026-11-22T10:00:00Z');

export interface ScaleOptions {
  instances: number;
  seed: number;
  /** The function's concurrency (Lambda's default account limit). */
  concurrency: number;
  autoScaling: RateLimit;
  ssm: RateLimit;
  maxDrainMinutes: number;
  /** The construct's maxConcurrentDrains (sizes H): the fleet size unless given. */
  maxConcurrentDrains: number;
  /** Drain time: log-normal with this median and σ; `stuckShare` of the drains run into the deadline. */
  medianDrainSeconds: number;
  sigma: number;
  stuckShare: number;
}

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`--${name} needs a positive number, got ${process.argv[index + 1]}\n`);
    process.exit(64);
  }
  return value;
}

function synthesize(maxDrainMinutes: number, maxConcurrentDrains: number): CfnTemplate {
  const app = new App();
  const stack = new Stack(app, 'Scale', { env: { account: '123456789012', region: 'us-west-2' } });
  new FleetDrainer(stack, 'Drainer', {
    groups: [GROUP],
    maxDrainTime: Duration.minutes(maxDrainMinutes),
    maxConcurrentDrains,
    policy: {
      version: 1,
      targets: [{ name: 'workers', match: { cmdline: 'worker' }, schedule: 'TERM/5m/KILL' }],
    },
  });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;

export const percentile = (values: number[], p: number): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
};

/** What one virtual host did: when its agent ran and exited, and how many drain commands reached it. */
interface HostRecord {
  deliveries: number;
  /** When the first drain command reached the host: its drain started. */
  startedMs: number;
  exitMs: number | undefined;
  forced: boolean;
  /** Runs waiting for the running drain (joined), answered when it ends. */
  joined: { id: string; done: (result: RunResult) => void }[];
}

export async function runScale(options: ScaleOptions) {
  const template = synthesize(options.maxDrainMinutes, options.maxConcurrentDrains);
  const hooks = Object.values(template.Resources).filter((r) => r.Type === 'AWS::AutoScaling::LifecycleHook');
  const heartbeatTimeoutMs = Number(hooks[0]?.Properties?.HeartbeatTimeout) * 1000;
  const draw = seededRandom(options.seed);
  const hosts = new Map<string, HostRecord>();

  const report = (id: string, forced: boolean, durationMs: number) => {
    const outcome = forced ? 'forced' : 'drained';
    const target: TargetReport = { name: 'workers', kind: 'process', outcome, processes: [] };
    return `${JSON.stringify(emptyReport(id, outcome, 0, { durationMs, targets: [target] }))}\n`;
  };

  const virtualRun = (command: Command, instanceId: string, done: (result: RunResult) => void) => {
    const host = hosts.get(instanceId) ?? {
      deliveries: 0,
      startedMs: Date.now(),
      exitMs: undefined,
      forced: false,
      joined: [],
    };
    hosts.set(instanceId, host);
    host.deliveries += 1;
    // A batched start names each host's drain in `drainIds` (`<instanceId>=<drainId>,…`), as the script picks it.
    const paired = (command.parameters.drainIds?.[0] ?? '')
      .split(',')
      .find((pair) => pair.startsWith(`${instanceId}=`));
    const id = paired?.slice(instanceId.length + 1) ?? command.parameters.drainId?.[0] ?? 'unknown';
    const startMs = Date.now();
    if (host.deliveries > 1) {
      // The agent's host lock: a second drain joins the running one, or replays a finished one's result.
      if (host.exitMs !== undefined) done({ exitCode: 0, stdout: report(id, host.forced, 0), stderr: '' });
      else host.joined.push({ id, done });
      return { kill: () => done({ exitCode: 143, stdout: '', stderr: 'terminated\n' }) };
    }
    const deadlineMs = Date.parse(command.parameters.deadline?.[0] ?? '') || startMs + 3_600_000;
    const stuck = draw() < options.stuckShare;
    // Box–Muller: a standard normal from two uniforms.
    const normal = Math.sqrt(-2 * Math.log(1 - draw())) * Math.cos(2 * Math.PI * draw());
    const drainMs = stuck
      ? Number.POSITIVE_INFINITY
      : options.medianDrainSeconds * 1000 * Math.exp(options.sigma * normal);
    const exitAtMs = Math.min(startMs + drainMs, deadlineMs);
    const timer = setTimeout(() => {
      host.exitMs = Date.now();
      host.forced = exitAtMs === deadlineMs;
      done({ exitCode: 0, stdout: report(id, host.forced, host.exitMs - startMs), stderr: '' });
      for (const joined of host.joined.splice(0))
        joined.done({ exitCode: 0, stdout: report(joined.id, host.forced, 0), stderr: '' });
    }, exitAtMs - startMs);
    return {
      kill: () => {
        // Cancelled or timed out: SSM stops the agent; the workers it was draining are left as they are.
        clearTimeout(timer);
        done({ exitCode: 143, stdout: '', stderr: 'terminated\n' });
      },
    };
  };

  const time = new VirtualTime(START_MS);
  const memory = { rss: 0, heapUsed: 0, tickHeapGrowth: 0 };
  // Per event queue: the most events waiting at once and the longest one waited (sampled).
  const backlog = new Map<string, { maxWaiting: number; maxAgeMs: number }>();
  // Heap at the start of each reconcile tick in flight; the largest growth during one is an upper bound of
  // what a tick allocates (other invocations and the twin allocate at the same time).
  const tickStartHeap = new Map<object, number>();
  let progress = performance.now();
  let progressCalls = 0;
  const sampler = realSetInterval(() => {
    if (performance.now() - progress > 10_000 && twinRef !== undefined) {
      progress = performance.now();
      const t = twinRef;
      const recent: Record<string, string> = {};
      for (const call of t.calls.slice(progressCalls)) {
        const [ok, throttled] = (recent[call.operation] ?? '0/0').split('/').map(Number) as [number, number];
        const limited = call.errorCode === 'Throttling' || call.errorCode === 'ThrottlingException';
        recent[call.operation] = `${ok + (limited ? 0 : 1)}/${throttled + (limited ? 1 : 0)}`;
      }
      progressCalls = t.calls.length;
      if (process.env.SCALE_DEBUG !== undefined) process.stderr.write(`    ${JSON.stringify(recent)}\n`);
      process.stderr.write(
        `  +${((Date.now() - START_MS) / 60_000).toFixed(1)} min virtual: ${t.autoScaling.ended.length} actions ended, ` +
          `${t.calls.length} calls, ${t.bus.invocations.length} invocations; ${time.state}\n`,
      );
    }
    const usage = process.memoryUsage();
    memory.rss = Math.max(memory.rss, usage.rss);
    memory.heapUsed = Math.max(memory.heapUsed, usage.heapUsed);
    for (const tick of twinRef?.bus.invocations.slice(-2000) ?? []) {
      if (tick.event['detail-type'] !== 'Scheduled Event') continue;
      if (tick.endedMs !== undefined) tickStartHeap.delete(tick);
      else if (!tickStartHeap.has(tick)) tickStartHeap.set(tick, usage.heapUsed);
    }
    for (const queue of twinRef?.queues.all() ?? []) {
      const nowMs = Date.now();
      const entry = backlog.get(queue.spec.logicalId) ?? { maxWaiting: 0, maxAgeMs: 0 };
      const oldestMs = queue.oldestVisibleMs(nowMs);
      entry.maxWaiting = Math.max(entry.maxWaiting, queue.counts(nowMs).visible);
      if (oldestMs !== undefined) entry.maxAgeMs = Math.max(entry.maxAgeMs, nowMs - oldestMs);
      backlog.set(queue.spec.logicalId, entry);
    }
    for (const start of tickStartHeap.values())
      memory.tickHeapGrowth = Math.max(memory.tickHeapGrowth, usage.heapUsed - start);
  }, 50);
  const wallStart = performance.now();
  let twinRef: Twin | undefined;
  const twin = await Twin.start({
    template,
    handler: 'composed',
    concurrency: options.concurrency,
    pumpIntervalMs: 250,
    logLevel: 'SILENT',
    virtualRun,
  });
  twinRef = twin;
  twin.faults.limitRate('autoscaling', options.autoScaling);
  for (const operation of [
    'SendCommand',
    'GetCommandInvocation',
    'ListCommands',
    'ListCommandInvocations',
    'DescribeInstanceInformation',
    'CancelCommand',
  ])
    twin.faults.limitRate('ssm', options.ssm, operation);

  const ids = twin.addVirtualInstances(GROUP, options.instances);
  const scaleInMs = Date.now();
  twin.autoScaling.setDesiredCapacity(GROUP, 0);
  const terminated = () =>
    twin.states.filter((change) => change.lifecycleState === 'Terminated').length >= ids.length;
  const maxMs = options.maxDrainMinutes * 60_000;
  await time.runUntil(terminated, scaleInMs + maxMs + 3 * heartbeatTimeoutMs);
  const endMs = Date.now();
  // Ten more minutes: anything late (a duplicate completion, a stray heartbeat or command) shows up.
  await time.runUntil(() => false, endMs + 600_000);
  // Stopping waits for invocations in flight, which wait on virtual timers: keep the clock going.
  let stopped = false;
  const stopping = twin.stop().then(() => {
    stopped = true;
  });
  await time.runUntil(() => stopped, Date.now() + 3_600_000);
  await stopping;
  time.uninstall();
  realClearInterval(sampler);
  const wallMs = performance.now() - wallStart;

  const stuckRequests = time.stuckRequests;
  return {
    ...summarize({ twin, ids, hosts, scaleInMs, endMs, heartbeatTimeoutMs, memory, wallMs, options }),
    // The event queues (dead-letter queues have no mapping): the most waiting, the longest wait, and how
    // many events ended in a dead-letter queue.
    queues: Object.fromEntries(
      twin.queues
        .all()
        .filter((queue) => twin.template.mappings.some((mapping) => mapping.queueId === queue.spec.logicalId))
        .map((queue) => [
          queue.spec.logicalId,
          {
            ...(backlog.get(queue.spec.logicalId) ?? { maxWaiting: 0, maxAgeMs: 0 }),
            deadLettered: queue.deadLetters.length,
          },
        ]),
    ),
    stuckRequests,
  };
}

function summarize(run: {
  twin: Twin;
  ids: string[];
  hosts: Map<string, HostRecord>;
  scaleInMs: number;
  endMs: number;
  heartbeatTimeoutMs: number;
  memory: { rss: number; heapUsed: number; tickHeapGrowth: number };
  wallMs: number;
  options: ScaleOptions;
}) {
  const { twin, ids, hosts } = run;
  const ends = new Map(twin.autoScaling.ended.map((end) => [end.action.instanceId, end]));
  const finished = new Map<string, string[]>();
  for (const event of twin.bus.events) {
    if (event.source !== 'fleet-drainer' || event['detail-type'] !== 'Fleet Drain Finished') continue;
    const detail = event.detail as { instanceId: string; outcome: string };
    finished.set(detail.instanceId, [...(finished.get(detail.instanceId) ?? []), detail.outcome]);
  }
  const outcomes: Record<string, number> = {};
  let stranded = 0;
  let premature = 0;
  let doubleSignalled = 0;
  let finishedNotOnce = 0;
  const latencies: number[] = [];
  const drainHours: number[] = [];
  for (const id of ids) {
    const end = ends.get(id);
    const host = hosts.get(id);
    const events = finished.get(id) ?? [];
    for (const outcome of events) outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (events.length !== 1) finishedNotOnce += 1;
    if (end === undefined || end.how !== 'completed') stranded += 1;
    if ((host?.deliveries ?? 0) > 1) doubleSignalled += 1;
    if (end === undefined) continue;
    drainHours.push((end.atMs - end.action.startedMs) / 3_600_000);
    if (host?.exitMs === undefined || end.atMs < host.exitMs) premature += 1;
    else latencies.push(end.atMs - host.exitMs);
  }

  const calls = twin.calls;
  if (process.env.SCALE_DEBUG) {
    // SCALE_DEBUG=<file>: everything about the first few drains with more than one Finished event, for a reader.
    const odd = ids.filter((id) => (finished.get(id)?.length ?? 0) !== 1).slice(0, 3);
    const mentions = (value: unknown, id: string) => JSON.stringify(value).includes(id);
    const dump = odd.map((id) => ({
      id,
      end: ends.get(id),
      exitMs: hosts.get(id)?.exitMs,
      events: twin.bus.events
        .filter((event) => mentions(event, id))
        .map((e) => ({ t: e.time, type: e['detail-type'], detail: e.detail })),
      invocations: twin.bus.invocations
        .filter((i) => mentions(i.event, id))
        .map((i) => ({
          type: i.event['detail-type'],
          attempt: i.attempt,
          startedMs: i.startedMs,
          endedMs: i.endedMs,
          error: i.error,
          result: i.result,
        })),
      calls: calls
        .filter((call) => mentions(call.input, id) || mentions(call.input, ends.get(id)?.action.token ?? '-'))
        .map((c) => ({ op: c.operation, atMs: c.atMs, error: c.errorCode })),
    }));
    writeFileSync(process.env.SCALE_DEBUG, JSON.stringify(dump, null, 1));
  }
  const count = (service: string, operation?: string, throttled?: boolean) =>
    calls.filter(
      (call) =>
        call.service === service &&
        (operation === undefined || call.operation === operation) &&
        (throttled === undefined || (call.errorCode !== undefined) === throttled),
    ).length;
  const byOperation: Record<string, { calls: number; throttled: number }> = {};
  for (const call of calls) {
    const key = `${call.service}:${call.operation}`;
    const entry = byOperation[key] ?? { calls: 0, throttled: 0 };
    entry.calls += 1;
    if (call.errorCode === 'Throttling' || call.errorCode === 'ThrottlingException') entry.throttled += 1;
    byOperation[key] = entry;
  }

  // Per drain: the Auto Scaling calls made for its instance (lookup, heartbeats, completion), throttled
  // attempts left out (the SDK's retries are not the drainer's decisions), against the budget of
  // 2 + one per H/2 of its duration, and against the design's own of 2 + one per heartbeat slot S.
  const instanceOfToken = new Map(
    twin.autoScaling.ended.map((end) => [end.action.token, end.action.instanceId]),
  );
  const instanceOf = perInstanceCall(instanceOfToken);
  const perInstance = new Map<string, number>();
  for (const call of calls) {
    if (call.service !== 'autoscaling' || call.errorCode === 'Throttling') continue;
    const instanceId = instanceOf(call);
    if (instanceId !== undefined) perInstance.set(instanceId, (perInstance.get(instanceId) ?? 0) + 1);
  }
  const budget = autoScalingBudget(run, instanceOf);
  const slotMs = heartbeatSlotMs(60_000, run.heartbeatTimeoutMs);
  let overBudget = 0;
  let overDesign = 0;
  const lifecycleCalls: number[] = [];
  for (const id of ids) {
    const end = ends.get(id);
    const made = perInstance.get(id) ?? 0;
    lifecycleCalls.push(made);
    if (end === undefined) continue;
    const durationMs = end.atMs - end.action.startedMs;
    if (made > 2 + Math.floor(durationMs / (run.heartbeatTimeoutMs / 2))) overBudget += 1;
    if (made > 2 + Math.floor(durationMs / slotMs)) overDesign += 1;
  }

  // When the last host's drain started after the scale-in (its first command delivered), and how many
  // SendCommands (throttled attempts left out) the drains cost.
  const starts = [...hosts.values()].map((host) => host.startedMs - run.scaleInMs);
  const sendCommands = count('ssm', 'SendCommand') - (byOperation['ssm:SendCommand']?.throttled ?? 0);
  const ticks = twin.bus.invocations.filter((i) => i.event['detail-type'] === 'Scheduled Event');
  const tickMs = ticks.filter((t) => t.endedMs !== undefined).map((t) => (t.endedMs as number) - t.startedMs);
  const tickWaitMs = ticks.map((t) => t.startedMs - t.queuedMs);
  const failedInvocations = twin.bus.invocations.filter((i) => i.error !== undefined).length;
  const totalDrainHours = drainHours.reduce((sum, hours) => sum + hours, 0);
  const asCalls = count('autoscaling');
  const ssmCalls = count('ssm');
  return {
    instances: ids.length,
    options: run.options,
    heartbeatTimeoutSeconds: run.heartbeatTimeoutMs / 1000,
    virtualMinutes: (run.endMs - run.scaleInMs) / 60_000,
    wallSeconds: run.wallMs / 1000,
    stranded,
    premature,
    doubleSignalled,
    finishedNotOnce,
    outcomes,
    drainStartMs: { p50: percentile(starts, 50), max: percentile(starts, 100) },
    sendCommandsPerDrain: sendCommands / ids.length,
    latencyMs: {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: percentile(latencies, 100),
      mean: mean(latencies),
    },
    drainMinutes: {
      p50: percentile(drainHours, 50) * 60,
      p99: percentile(drainHours, 99) * 60,
      max: percentile(drainHours, 100) * 60,
    },
    autoScaling: {
      calls: asCalls,
      throttled: count('autoscaling', undefined, true),
      perDrain: asCalls / ids.length,
      perDrainHour: asCalls / totalDrainHours,
      lifecyclePerDrain: { p50: percentile(lifecycleCalls, 50), max: percentile(lifecycleCalls, 100) },
      overBudget,
      overDesign,
      slotSeconds: slotMs / 1000,
    },
    ssm: {
      calls: ssmCalls,
      throttled: count('ssm', undefined, true),
      perDrain: ssmCalls / ids.length,
      perDrainHour: ssmCalls / totalDrainHours,
    },
    byOperation,
    ...budget,
    ticks: {
      count: ticks.length,
      p50: percentile(tickMs, 50),
      p99: percentile(tickMs, 99),
      max: percentile(tickMs, 100),
      queuedP99: percentile(tickWaitMs, 99),
    },
    invocations: twin.bus.invocations.length,
    failedInvocations,
    peakMemoryMb: {
      rss: run.memory.rss / 2 ** 20,
      heapUsed: run.memory.heapUsed / 2 ** 20,
      tickHeapGrowth: run.memory.tickHeapGrowth / 2 ** 20,
    },
  };
}

type Call = Twin['calls'][number];
const isThrottled = (call: Call) =>
  call.errorCode === 'Throttling' || call.errorCode === 'ThrottlingException';

/** The instance an Auto Scaling call acts for (by id, by action token, or a lookup of one instance). */
function perInstanceCall(instanceOfToken: Map<string, string>) {
  return (call: Call): string | undefined => {
    const input = call.input as Record<string, string | undefined>;
    return (
      input.InstanceId ??
      instanceOfToken.get(input.LifecycleActionToken ?? '') ??
      (input['InstanceIds.member.2'] === undefined ? input['InstanceIds.member.1'] : undefined)
    );
  };
}

/**
 * What the Auto Scaling budget does to completions: its calls per virtual minute after the scale-in by
 * operation (admitted, throttled); heartbeats sent for a drain whose agent had already exited; and the
 * floor of "completion after the agent exited": every token of the bucket spent on completions, one per
 * action, in the order the agents exited (no order does better on the mean: every token is used either way).
 */
function autoScalingBudget(
  run: { twin: Twin; hosts: Map<string, HostRecord>; scaleInMs: number; options: ScaleOptions },
  instanceOf: (call: Call) => string | undefined,
) {
  const byMinute: Record<string, [number, number]>[] = [];
  let heartbeatsAfterExit = 0;
  for (const call of run.twin.calls) {
    if (call.service !== 'autoscaling') continue;
    const minute = Math.max(0, Math.floor((call.atMs - run.scaleInMs) / 60_000));
    for (let m = byMinute.length; m <= minute; m += 1) byMinute.push({});
    const counts = (byMinute[minute] as Record<string, [number, number]>)[call.operation] ?? [0, 0];
    counts[isThrottled(call) ? 1 : 0] += 1;
    (byMinute[minute] as Record<string, [number, number]>)[call.operation] = counts;
    if (call.operation !== 'RecordLifecycleActionHeartbeat' || isThrottled(call)) continue;
    const exitMs = run.hosts.get(instanceOf(call) ?? '')?.exitMs;
    if (exitMs !== undefined && exitMs <= call.atMs) heartbeatsAfterExit += 1;
  }
  const exits = [...run.hosts.values()].flatMap((host) => (host.exitMs === undefined ? [] : [host.exitMs]));
  exits.sort((a, b) => a - b);
  const { burst, perSecond } = run.options.autoScaling;
  const floor: number[] = [];
  let tokens = burst;
  let atMs = run.scaleInMs;
  for (const exitMs of exits) {
    const nowMs = Math.max(atMs, exitMs);
    tokens = Math.min(burst, tokens + ((nowMs - atMs) / 1000) * perSecond);
    atMs = tokens >= 1 ? nowMs : nowMs + ((1 - tokens) / perSecond) * 1000;
    tokens = Math.max(tokens, 1) - 1;
    floor.push(atMs - exitMs);
  }
  return {
    autoScalingByMinute: byMinute,
    heartbeatsAfterExit,
    latencyFloorMs: {
      p50: percentile(floor, 50),
      p99: percentile(floor, 99),
      max: percentile(floor, 100),
      mean: mean(floor),
    },
  };
}

const options: ScaleOptions = {
  instances: option('instances', 1000),
  seed: option('seed', 1),
  concurrency: option('concurrency', 1000),
  autoScaling: { burst: option('as-burst', 40), perSecond: option('as-rate', 10) },
  ssm: { burst: option('ssm-burst', 40), perSecond: option('ssm-rate', 20) },
  maxDrainMinutes: option('max-drain-minutes', 60),
  maxConcurrentDrains: option('max-concurrent-drains', option('instances', 1000)),
  medianDrainSeconds: option('median-drain-seconds', 90),
  sigma: option('sigma', 1.2),
  stuckShare: option('stuck-share', 0.02),
};
runScale(options).then(
  (result) => process.stdout.write(`RESULT ${JSON.stringify(result)}\n`),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
