#!/usr/bin/env node
// Benchmark of the drainer Lambda (not a test): `node bench/lambda-bench.mjs [--runs N]`.
//  1. Bundles lambda/handler.ts as it would be deployed (esbuild, minified, SDK clients bundled, node22)
//     and reports its size.
//  2. Cold load: module load + client construction of the bundle vs. the same clients loaded unbundled
//     from node_modules (bench/lambda/unbundled-load.mjs), each in fresh child processes, interleaved;
//     medians and ratio.
//  3. One reconcile tick with 1,000 and 10,000 in-flight drains on mocked clients (wall and CPU), both for
//     the worst tick (every drain due a heartbeat) and a quiet one.
// Goals: bundle ≤ 400 KB · load ≤ 1/3 of unbundled · tick with 10,000 drains ≤ 5 s CPU (mocked clients) and
// within the function's 256 MB (peak RSS of the tick's own process, through the whole SDK stack).

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = join(root, '.bench-out', 'lambda');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 9;
const TICK_RUNS = 3;
const GOALS = { bundleKb: 400, loadRatio: 1 / 3, tickCpuMs: 5000, memoryMb: 256 };

// ESM output; a few bundled CommonJS dependencies call require() for Node built-ins.
const banner = {
  js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
};
const common = {
  bundle: true,
  // Lambda passes credentials in environment variables: the full default chain is not bundled
  // (lambda/aws/env-credentials.ts; the construct must bundle with the same alias).
  alias: { '@aws-sdk/credential-provider-node': join(root, 'lambda/aws/env-credentials.ts') },
  platform: 'node',
  target: 'node22',
  format: 'esm',
  mainFields: ['module', 'main'],
  banner,
  logLevel: 'warning',
};

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const fmt = (ms) => `${ms.toFixed(1)} ms`;

mkdirSync(outDir, { recursive: true });
const handlerFile = join(outDir, 'handler.mjs');
const harnessFile = join(outDir, 'tick-harness.mjs');
await build({
  ...common,
  entryPoints: [join(root, 'lambda/handler.ts')],
  outfile: handlerFile,
  minify: true,
  legalComments: 'none',
});
await build({
  ...common,
  entryPoints: [join(root, 'bench/lambda/tick-harness.ts')],
  outfile: harnessFile,
  minify: true,
  keepNames: true,
});

const bytes = statSync(handlerFile).size;
const gzipBytes = gzipSync(readFileSync(handlerFile)).length;
console.log(`node ${process.version} · ${RUNS} load runs · ${TICK_RUNS} tick runs\n`);
console.log(
  `bundle  ${handlerFile.replace(`${root}`, '')}: ${(bytes / 1024).toFixed(1)} KB (${(gzipBytes / 1024).toFixed(1)} KB gzip)`,
);

// --- cold load --------------------------------------------------------------------------------------------
const env = {
  ...process.env,
  AWS_REGION: 'us-west-2',
  FLEET_DRAINER_DOCUMENT_NAME: 'FleetDrain',
  FLEET_DRAINER_GROUP_NAMES: 'bench-asg',
  FLEET_DRAINER_HOOK_NAME: 'drain-hook',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};
const bundledScript = `const t=performance.now();await import(${JSON.stringify(pathToFileURL(handlerFile).href)});process.stdout.write(String(performance.now()-t))`;
function timeChild(args) {
  const started = performance.now();
  const child = spawnSync(process.execPath, args, { cwd: root, env, encoding: 'utf8' });
  const processMs = performance.now() - started;
  if (child.status !== 0) throw new Error(`child failed: ${child.stderr}`);
  return { loadMs: Number.parseFloat(child.stdout), processMs };
}
const bundled = [];
const unbundled = [];
timeChild(['--input-type=module', '-e', bundledScript]); // warm the file cache for both sides
timeChild([join(root, 'bench/lambda/unbundled-load.mjs')]);
for (let run = 0; run < RUNS; run += 1) {
  bundled.push(timeChild(['--input-type=module', '-e', bundledScript]));
  unbundled.push(timeChild([join(root, 'bench/lambda/unbundled-load.mjs')]));
}
const load = {
  bundled: median(bundled.map((run) => run.loadMs)),
  unbundled: median(unbundled.map((run) => run.loadMs)),
  bundledProcess: median(bundled.map((run) => run.processMs)),
  unbundledProcess: median(unbundled.map((run) => run.processMs)),
};
const ratio = load.bundled / load.unbundled;
console.log('\ncold load (module load + client construction, fresh process, median)');
console.log(
  `  bundled handler      ${fmt(load.bundled).padStart(10)}   (whole process ${fmt(load.bundledProcess)})`,
);
console.log(
  `  unbundled SDK clients${fmt(load.unbundled).padStart(10)}   (whole process ${fmt(load.unbundledProcess)})`,
);
console.log(`  ratio                ${ratio.toFixed(2)}`);

// --- reconcile tick -----------------------------------------------------------------------------------------
console.log('\nreconcile tick on mocked clients (median of runs, fresh process each)');
const ticks = {};
for (const mode of ['send', 'wire']) {
  console.log(
    mode === 'send'
      ? '  send mocked (aws-sdk-client-mock level): the drainer’s own work'
      : '  wire mocked (canned HTTP responses): plus the SDK’s serialisation, signing, retries and parsing',
  );
  for (const drains of [1000, 10000]) {
    for (const scenario of ['heartbeat', 'quiet']) {
      const results = [];
      for (let run = 0; run < TICK_RUNS; run += 1) {
        const child = spawnSync(process.execPath, [harnessFile, String(drains), scenario, mode], {
          cwd: root,
          env: {
            ...env,
            POWERTOOLS_LOG_LEVEL: 'INFO',
            AWS_ACCESS_KEY_ID: 'AKIDBENCH',
            AWS_SECRET_ACCESS_KEY: 'bench',
          },
          stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        });
        if (child.status !== 0) throw new Error(`tick harness failed with ${child.status}: ${child.stderr}`);
        results.push(JSON.parse(child.output[3]));
      }
      const wallMs = median(results.map((result) => result.wallMs));
      const cpuMs = median(results.map((result) => result.cpuMs));
      const maxRssMb = Math.max(...results.map((result) => result.maxRssMb));
      const heapGrowthMb = Math.max(...results.map((result) => result.heapGrowthMb));
      const { summary, calls } = results[0];
      ticks[`${mode} ${drains} ${scenario}`] = { wallMs, cpuMs, maxRssMb };
      const callCount = Object.values(calls).reduce((sum, count) => sum + count, 0);
      console.log(
        `    ${String(drains).padStart(6)} drains, ${scenario.padEnd(9)} wall ${fmt(wallMs).padStart(10)}  cpu ${fmt(cpuMs).padStart(10)}` +
          `  peak RSS ${maxRssMb.toFixed(0).padStart(4)} MB, heap +${heapGrowthMb.toFixed(0)} MB` +
          `   (${summary.heartbeats} heartbeats, ${callCount} AWS calls)`,
      );
    }
  }
}

// --- goals --------------------------------------------------------------------------------------------------
// The goal is stated for mocked clients (the aws-sdk-client-mock level); the wire figures are reported too.
const worstCpu = Math.max(ticks['send 10000 heartbeat'].cpuMs, ticks['send 10000 quiet'].cpuMs);
const worstWireCpu = Math.max(ticks['wire 10000 heartbeat'].cpuMs, ticks['wire 10000 quiet'].cpuMs);
// Through the whole SDK stack: what the function's memory (the construct's 256 MB) must hold.
const worstRss = Math.max(ticks['wire 10000 heartbeat'].maxRssMb, ticks['wire 10000 quiet'].maxRssMb);
const checks = [
  [`bundle ≤ ${GOALS.bundleKb} KB`, bytes / 1024 <= GOALS.bundleKb, `${(bytes / 1024).toFixed(1)} KB`],
  ['load ≤ 1/3 of unbundled', ratio <= GOALS.loadRatio, `ratio ${ratio.toFixed(2)}`],
  [`tick with 10,000 drains ≤ ${GOALS.tickCpuMs / 1000} s CPU`, worstCpu <= GOALS.tickCpuMs, fmt(worstCpu)],
  [
    `tick with 10,000 drains fits ${GOALS.memoryMb} MB`,
    worstRss <= GOALS.memoryMb,
    `${worstRss.toFixed(0)} MB peak RSS (whole process)`,
  ],
];
console.log('\ngoals');
for (const [goal, met, figure] of checks)
  console.log(`  ${met ? 'met ' : 'MISS'}  ${goal.padEnd(36)} ${figure}`);
console.log(`  info  same tick through the whole SDK stack   ${fmt(worstWireCpu)}`);
if (checks.some(([, met]) => !met)) process.exitCode = 1;
