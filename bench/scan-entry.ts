// The agent's /proc scan, bundled on the fly by agent-bench.mjs: the same modules the agent runs (no copy).
// Usage: node scan-entry.js ITERATIONS CMDLINE_REGEX
// Prints one JSON line: per-iteration times of the scan (protectProcesses + takeSnapshot + matchProcesses)
// and of a ProcessTarget's discover (the full first scan of a drain: descendants, groups, commands).

import { procReader, takeSnapshot } from '../agent/host/proc.js';
import { compileMatch, matchProcesses } from '../agent/targets/find-processes.js';
import { ProcessTarget } from '../agent/targets/process-target.js';
import { protectProcesses } from '../agent/targets/protected-processes.js';

const [iterationsArg, pattern] = process.argv.slice(2);
const iterations = Number(iterationsArg);
if (!Number.isInteger(iterations) || iterations < 1 || pattern === undefined) {
  process.stderr.write('usage: scan-entry ITERATIONS CMDLINE_REGEX\n');
  process.exit(64);
}

const proc = procReader();
const sinceMs = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const scanMs: number[] = [];
const discoverMs: number[] = [];
let processes = 0;
let matched = 0;
let tracked = 0;
for (let i = 0; i < iterations; i++) {
  const scanStart = process.hrtime.bigint();
  const protection = protectProcesses(proc);
  const snapshot = takeSnapshot(proc);
  const found = matchProcesses(snapshot, compileMatch({ cmdline: pattern }), proc, protection);
  scanMs.push(sinceMs(scanStart));
  processes = snapshot.byPid.size;
  matched = found.length;

  const discoverStart = process.hrtime.bigint();
  const target = new ProcessTarget('bench', { cmdline: pattern }, 'roots', {
    proc,
    protection: protectProcesses(proc),
    clock: () => 0,
    kill: () => {
      throw new Error('the scan benchmark never signals');
    },
  });
  await target.discover();
  discoverMs.push(sinceMs(discoverStart));
  tracked = target.all().length;
}
process.stdout.write(`${JSON.stringify({ scanMs, discoverMs, processes, matched, tracked })}\n`);
