#!/usr/bin/env node
// Scale benchmark of the drainer (not a test): `node bench/scale-bench.mjs [--instances 1000,10000] [...]`.
// Each fleet size runs in a fresh process (bench/scale/run-scale.ts): that many virtual instances scaled in at
// once, the real handler and SDK clients against the twin, Auto Scaling and SSM throttled to token buckets,
// all on virtual time. Other options (--as-rate, --ssm-rate, --seed, --concurrency, …) pass through;
// `--save FILE` writes each run's `RESULT` line to FILE; `--replay FILE` prints the table from such lines
// instead of running.
// Goals: stranded, premature, double-signalled all 0 at 10,000; reconcile tick p99 under a third of the tick
// period; a drain's own Auto Scaling calls within 2 + one per H/2 of its duration (the design's heartbeat
// slot S = (H − period − margin)/2 is shorter than H/2: both budgets are reported); completion after the
// agent's exit within 10 s of the floor the Auto Scaling budget sets (p99).

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const sizesAt = args.indexOf('--instances');
const sizes =
  sizesAt >= 0
    ? String(args[sizesAt + 1])
        .split(',')
        .map(Number)
    : [1000, 10000];
const saveAt = args.indexOf('--save');
const saveFile = saveAt >= 0 ? args[saveAt + 1] : undefined;
if (saveAt >= 0 && (saveFile === undefined || saveFile.startsWith('--'))) {
  console.error('--save takes the file to write the RESULT lines to, e.g. --save bench/scale/results.txt');
  process.exit(64);
}
// This script's own options, with their values, are not passed on to each run.
const ownIndexes = new Set();
for (const at of [sizesAt, saveAt]) if (at >= 0) ownIndexes.add(at).add(at + 1);
const passThrough = args.filter((_, index) => !ownIndexes.has(index));
if (sizes.some((size) => !Number.isInteger(size) || size <= 0)) {
  console.error('--instances takes fleet sizes separated by commas, e.g. --instances 1000,10000');
  process.exit(64);
}
const TICK_PERIOD_MS = 60_000;

// --replay FILE: the table from RESULT lines saved from earlier runs (a 10,000-instance run takes ~45 min).
const replayAt = args.indexOf('--replay');
const results =
  replayAt >= 0
    ? readFileSync(String(args[replayAt + 1]), 'utf8')
        .split('\n')
        .filter((text) => text.startsWith('RESULT '))
        .map((text) => JSON.parse(text.slice('RESULT '.length)))
    : [];
for (const size of replayAt >= 0 ? [] : sizes) {
  console.error(`scale run: ${size} instances …`);
  const run = spawnSync(
    process.execPath,
    [
      '--max-old-space-size=16384',
      '--import',
      'tsx',
      'bench/scale/run-scale.ts',
      '--instances',
      String(size),
      ...passThrough,
    ],
    {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 64 * 2 ** 20,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    },
  );
  const line = run.stdout.split('\n').find((text) => text.startsWith('RESULT '));
  if (run.status !== 0 || line === undefined) {
    console.error(`scale run of ${size} instances failed (exit ${run.status})`);
    process.exit(1);
  }
  results.push(JSON.parse(line.slice('RESULT '.length)));
  if (saveFile !== undefined)
    writeFileSync(saveFile, `${line}\n`, { flag: results.length === 1 ? 'w' : 'a' });
}

const f0 = (value) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–');
const f1 = (value) => (Number.isFinite(value) ? value.toFixed(1) : '–');
const s1 = (ms) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : '–');
const rows = [
  ['instances scaled in at once', (r) => f0(r.instances)],
  ['hook HeartbeatTimeout H (maxConcurrentDrains = the fleet)', (r) => `${f0(r.heartbeatTimeoutSeconds)} s`],
  [
    'stranded · completed before the agent exited · hosts sent a second command',
    (r) => `${r.stranded} · ${r.premature} · ${r.doubleSignalled}`,
  ],
  ['drains without exactly one Finished event', (r) => f0(r.finishedNotOnce)],
  [
    'outcomes',
    (r) =>
      Object.entries(r.outcomes)
        .map(([k, v]) => `${k} ${f0(v)}`)
        .join(', '),
  ],
  ['last drain started after the scale-in', (r) => s1(r.drainStartMs?.max)],
  ['drain started after the scale-in, p50', (r) => s1(r.drainStartMs?.p50)],
  [
    'SendCommand calls per drain',
    (r) => (Number.isFinite(r.sendCommandsPerDrain) ? r.sendCommandsPerDrain.toFixed(2) : '–'),
  ],
  ['drain time p50 · p99 (min)', (r) => `${f1(r.drainMinutes.p50)} · ${f1(r.drainMinutes.p99)}`],
  [
    'completion after the agent exited p50 · p99 · mean',
    (r) => `${s1(r.latencyMs.p50)} · ${s1(r.latencyMs.p99)} · ${s1(r.latencyMs.mean)}`,
  ],
  [
    '… its floor: every Auto Scaling token a completion, in exit order, p50 · p99 · mean',
    (r) => `${s1(r.latencyFloorMs?.p50)} · ${s1(r.latencyFloorMs?.p99)} · ${s1(r.latencyFloorMs?.mean)}`,
  ],
  ['heartbeats sent after the agent exited', (r) => f0(r.heartbeatsAfterExit)],
  [
    'Auto Scaling calls per drain · per drain-hour',
    (r) => `${f1(r.autoScaling.perDrain)} · ${f0(r.autoScaling.perDrainHour)}`,
  ],
  ['… of them throttled', (r) => `${f0(r.autoScaling.throttled)} of ${f0(r.autoScaling.calls)}`],
  [
    "a drain's own Auto Scaling calls p50 · max; drains over 2 + D/(H/2) · over 2 + D/S",
    (r) =>
      `${r.autoScaling.lifecyclePerDrain.p50} · ${r.autoScaling.lifecyclePerDrain.max}; ${r.autoScaling.overBudget} · ${r.autoScaling.overDesign}`,
  ],
  ['SSM calls per drain · per drain-hour', (r) => `${f1(r.ssm.perDrain)} · ${f0(r.ssm.perDrainHour)}`],
  ['… of them throttled', (r) => `${f0(r.ssm.throttled)} of ${f0(r.ssm.calls)}`],
  [
    'reconcile tick p50 · p99 · max (virtual)',
    (r) => `${s1(r.ticks.p50)} · ${s1(r.ticks.p99)} · ${s1(r.ticks.max)}`,
  ],
  ['failed invocations or records (delivered again)', (r) => f0(r.failedInvocations)],
  [
    'event queues: most waiting · longest wait · dead-lettered',
    (r) =>
      Object.entries(r.queues ?? {})
        .map(
          ([id, q]) =>
            `${id.replace(/^Drainer|[0-9A-F]{8}$/g, '')} ${f0(q.maxWaiting)} · ${s1(q.maxAgeMs)} · ${q.deadLettered}`,
        )
        .join('; '),
  ],
  ['tick heap growth, largest (MB)', (r) => f1(r.peakMemoryMb.tickHeapGrowth)],
  ['bench process peak RSS (MB)', (r) => f0(r.peakMemoryMb.rss)],
  ['virtual minutes · wall seconds', (r) => `${f1(r.virtualMinutes)} · ${f1(r.wallSeconds)}`],
];
const first = results[0];
console.log(
  `\nmax drain ${first.options.maxDrainMinutes} min, tick period 60 s; ` +
    `Auto Scaling bucket ${first.options.autoScaling.burst} + ${first.options.autoScaling.perSecond}/s (shared), ` +
    `SSM ${first.options.ssm.burst} + ${first.options.ssm.perSecond}/s per operation; concurrency ${first.options.concurrency}\n`,
);
console.log(`| | ${results.map((r) => f0(r.instances)).join(' | ')} |`);
console.log(`|---|${results.map(() => '---:').join('|')}|`);
for (const [label, cell] of rows) console.log(`| ${label} | ${results.map(cell).join(' | ')} |`);

// What shares the Auto Scaling budget while completions queue: the largest run's calls per virtual minute.
const minutes = results.at(-1).autoScalingByMinute;
if (minutes !== undefined) {
  const cell = (counts) =>
    counts === undefined ? '0' : `${f0(counts[0])}${counts[1] ? ` (${f0(counts[1])})` : ''}`;
  const others = (minute) =>
    Object.entries(minute)
      .filter(([operation]) => !/^(CompleteLifecycleAction|RecordLifecycleActionHeartbeat)$/.test(operation))
      .reduce(([ok, limited], [, [a, b]]) => [ok + a, limited + b], [0, 0]);
  console.log(
    `\nAuto Scaling calls per virtual minute after the scale-in, ${f0(results.at(-1).instances)} instances (throttled attempts in brackets)\n`,
  );
  console.log(
    '| minute | CompleteLifecycleAction | RecordLifecycleActionHeartbeat | other |\n|---:|---:|---:|---:|',
  );
  for (const [index, minute] of minutes.slice(0, 30).entries())
    console.log(
      `| ${index} | ${cell(minute.CompleteLifecycleAction)} | ${cell(minute.RecordLifecycleActionHeartbeat)} | ${cell(others(minute))} |`,
    );
}

for (const r of results)
  if (r.stuckRequests > 0)
    console.log(`\n${r.instances}: ${r.stuckRequests} request(s) never answered by the twin (a twin defect)`);
const largest = results.at(-1);
// The last drain starts within 5 s of a scale-in of 1,000 instances, 30 s of 10,000.
const startGoalMs = (instances) => (instances <= 1000 ? 5_000 : 30_000);
const goals = [
  ...results.map((r) => [
    `last drain started within ${startGoalMs(r.instances) / 1000} s at ${f0(r.instances)}`,
    (r.drainStartMs?.max ?? Number.POSITIVE_INFINITY) <= startGoalMs(r.instances),
  ]),
  [
    'all zeros',
    largest.stranded + largest.premature + largest.doubleSignalled + largest.finishedNotOnce === 0,
  ],
  ['tick p99 < period / 3', largest.ticks.p99 < TICK_PERIOD_MS / 3],
  ['lifecycle calls within 2 + D/(H/2)', largest.autoScaling.overBudget === 0],
  // The Auto Scaling budget sets how fast drains that end together complete; the drainer's share is the rest.
  ...(largest.latencyFloorMs === undefined
    ? []
    : [
        [
          'completion p99 within 10 s of its floor',
          largest.latencyMs.p99 <= largest.latencyFloorMs.p99 + 10_000,
        ],
      ]),
];
console.log(
  `\ngoals at ${f0(largest.instances)}: ${goals.map(([name, met]) => `${name} ${met ? 'met' : 'MISSED'}`).join(' · ')}`,
);
process.exitCode = goals.every(([, met]) => met) ? 0 : 1;
