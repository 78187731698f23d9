// Benchmark of the drain agent, not a test: `npm run bench` (builds first) or
// `node bench/agent-bench.mjs [--rounds N] [--workers N] [--trace-rounds N] [--background N]
// [--scan-processes N] [--seed N] [--agent BUNDLE] [--candidate BUNDLE]` (--agent: measure another build
// of the agent; --candidate: add another build as a fourth contender, to compare a change side by side).
//
// 1. Drain: WORKERS fixture workers (bench/c/worker.c), each exiting a random 0.2–2 s after TERM, started and
//    reaped at once by bench/c/spawner.c (a zombie counts as alive for `kill -0` and start-stop-daemon). Three
//    contenders, interleaved over ROUNDS rounds with the same delays within a round: the agent, start-stop-daemon
//    --retry TERM/30/KILL/5, and a shell loop. bench/c/measure.c runs each one (fork/exec/wait4): its exit time
//    on CLOCK_MONOTONIC, the clock the workers record their exit with, and wait4's CPU time and peak RSS.
//    Then TRACE_ROUNDS more agent drains with bench/agent-timeline.cjs preloaded: where its overhead goes.
// 2. Scan: the agent's own /proc modules (bench/scan-entry.ts, bundled with esbuild) timed with SCAN_PROCESSES
//    extra processes (bench/c/pauser.c).
// Prints a Markdown table and writes it to .bench-out/agent-bench.md (raw figures: .bench-out/agent-bench.json).
// Every process started here is in a process group of its own and is KILLed on the way out, however it goes.

import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { seededRandom } from './seeded-random.mjs';

const ROOT = realpathSync(resolve(dirname(fileURLToPath(import.meta.url)), '..'));
const OUT = join(ROOT, '.bench-out');
const BIN = join(OUT, 'bin');
const RUN = join(OUT, 'run');
const START_STOP_DAEMON = '/sbin/start-stop-daemon';

/** The whole benchmark must end within this, whatever hangs. */
const BENCH_TIMEOUT_MS = 6 * 60_000;
/** One contender's drain: the longest delay is 2 s, so this is only ever hit by a broken contender. */
const TRIAL_TIMEOUT_MS = 45_000;
const MIN_DELAY_MS = 200;
const MAX_DELAY_MS = 2_000;
const SCHEDULE = 'TERM/30s/KILL/5s';
const SCAN_PATTERN = 'pauser';

const GOAL_SCAN_MS = 30;
/** The agent's first TERM after its start, with WORKERS processes to drain. */
const GOAL_FIRST_SIGNAL_MS = 50;

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    'trace-rounds': { type: 'string', default: '3' },
    background: { type: 'string', default: '0' },
    agent: { type: 'string', default: 'dist/fleet-drain-agent.js' },
    candidate: { type: 'string' },
    workers: { type: 'string', default: '200' },
    'scan-processes': { type: 'string', default: '2000' },
    'scan-runs': { type: 'string', default: '5' },
    'scan-iterations': { type: 'string', default: '40' },
    seed: { type: 'string', default: '20261122' },
  },
});
const positiveInt = (name, min = 1) => {
  const value = Number(flags[name]);
  if (!Number.isInteger(value) || value < min)
    throw new Error(`--${name} must be an integer of at least ${min}, got ${flags[name]}`);
  return value;
};
const ROUNDS = positiveInt('rounds');
const WORKERS = positiveInt('workers');
const SCAN_PROCESSES = positiveInt('scan-processes');
const SCAN_RUNS = positiveInt('scan-runs');
const SCAN_ITERATIONS = positiveInt('scan-iterations');
const SEED = positiveInt('seed');
const TRACE_ROUNDS = positiveInt('trace-rounds', 0);
/** Idle processes kept alive during the drain rounds: a busier /proc for every contender. */
const BACKGROUND = positiveInt('background', 0);
const AGENT = resolve(ROOT, flags.agent);
/** Another build of the agent run as a fourth contender, interleaved with the others: an A/B of a change. */
const CANDIDATE = flags.candidate === undefined ? undefined : resolve(ROOT, flags.candidate);
const TIMELINE = join(ROOT, 'bench', 'agent-timeline.cjs');

// --- cleanup: every child is a process-group leader; KILL every group we made on any way out ----------------

const groups = new Set();
function killGroup(pgid) {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // Already gone.
  }
  groups.delete(pgid);
}
const killAll = () => {
  for (const pgid of [...groups]) killGroup(pgid);
};
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    process.stderr.write(`agent-bench: ${signal}, cleaning up\n`);
    killAll();
    process.exit(130);
  });
}
const benchTimer = setTimeout(() => {
  process.stderr.write(`agent-bench: still running after ${BENCH_TIMEOUT_MS / 1000} s, giving up\n`);
  killAll();
  process.exit(1);
}, BENCH_TIMEOUT_MS);

/** Spawns a child as the leader of a new process group (and session), remembered for cleanup. */
function spawnGroup(command, args, options = {}) {
  const child = spawn(command, args, { ...options, detached: true });
  if (child.pid === undefined) throw new Error(`cannot start ${command}`);
  groups.add(child.pid);
  child.exited = new Promise((resolveExit) =>
    child.on('exit', (code, signal) => resolveExit({ code, signal })),
  );
  return child;
}

/** Resolves with the first line for which `pick` returns something; rejects after `timeoutMs`. */
function waitForLine(stream, pick, timeoutMs, what) {
  return new Promise((resolveLine, reject) => {
    let buffer = '';
    const timer = setTimeout(() => {
      stream.off('data', onData);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const onData = (chunk) => {
      buffer += chunk;
      for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const picked = pick(line);
        if (picked !== undefined) {
          clearTimeout(timer);
          stream.off('data', onData);
          resolveLine(picked);
          return;
        }
      }
    };
    stream.setEncoding('utf8');
    stream.on('data', onData);
  });
}

const collect = (stream) => {
  const chunks = [];
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => chunks.push(chunk));
  return () => chunks.join('');
};

const withTimeout = (promise, ms, what) =>
  new Promise((resolveIt, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolveIt(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });

const sleep = (ms) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

// --- statistics ---------------------------------------------------------------------------------------------

const sorted = (values) => [...values].sort((a, b) => a - b);
/** Nearest-rank percentile. */
function percentile(values, p) {
  const ordered = sorted(values);
  return ordered[Math.min(ordered.length - 1, Math.max(0, Math.ceil((p / 100) * ordered.length) - 1))];
}
function median(values) {
  const ordered = sorted(values);
  const middle = Math.floor(ordered.length / 2);
  return ordered.length % 2 ? ordered[middle] : (ordered[middle - 1] + ordered[middle]) / 2;
}
const ms = (value, digits = 1) => value.toFixed(digits);

function delaysFor(round, count) {
  const next = seededRandom(SEED + round * 7919);
  return Array.from({ length: count }, () =>
    Math.round(MIN_DELAY_MS + next() * (MAX_DELAY_MS - MIN_DELAY_MS)),
  );
}

// --- setup --------------------------------------------------------------------------------------------------

function run(command, args, what) {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`${what} failed (${command} ${args.join(' ')})`);
}

async function setup() {
  if (!existsSync(START_STOP_DAEMON)) throw new Error(`${START_STOP_DAEMON} is not installed`);
  if (!existsSync(AGENT)) run(process.execPath, ['scripts/build.mjs'], 'building the agent');
  rmSync(RUN, { recursive: true, force: true });
  mkdirSync(BIN, { recursive: true });
  mkdirSync(RUN, { recursive: true });
  for (const name of ['worker', 'spawner', 'measure', 'pauser']) {
    run(
      'gcc',
      ['-O2', '-Wall', '-Wextra', '-o', join(BIN, name), join(ROOT, 'bench', 'c', `${name}.c`)],
      `gcc ${name}`,
    );
  }
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(ROOT, 'bench', 'scan-entry.ts')],
    outfile: join(BIN, 'scan-entry.mjs'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: true,
    logLevel: 'warning',
  });
}

/** Live (non-zombie) processes whose executable is `exe`. */
function liveProcessesOf(exe) {
  const pids = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/exe`) !== exe) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') pids.push(Number(name));
    } catch {
      // Exited while we looked.
    }
  }
  return pids;
}

// --- part 1: the drain --------------------------------------------------------------------------------------

const CONTENDERS = ['agent', 'start-stop-daemon', 'shell loop', ...(CANDIDATE ? ['candidate'] : [])];
const EXPECTED_EXIT = { agent: 0, 'start-stop-daemon': 0, 'shell loop': 0, candidate: 0 };
const isAgent = (contender) => contender === 'agent' || contender === 'candidate';
const SHELL_LOOP =
  'kill -TERM "$@" || exit 1; for pid in "$@"; do while kill -0 "$pid" 2>/dev/null; do sleep 1; done; done';

function contenderCommand(contender, { worker, pids, tag, timeline }) {
  if (isAgent(contender)) {
    const policy = join(RUN, `${tag}.policy.json`);
    writeFileSync(
      policy,
      JSON.stringify({
        version: 1,
        targets: [{ name: 'workers', match: { exe: worker }, schedule: SCHEDULE }],
      }),
    );
    return [
      process.execPath,
      ...(timeline ? ['--require', TIMELINE] : []),
      contender === 'candidate' ? CANDIDATE : AGENT,
      'drain',
      '--config',
      policy,
      '--id',
      tag,
      '--state-dir',
      join(RUN, `${tag}.state`),
    ];
  }
  if (contender === 'start-stop-daemon')
    return [START_STOP_DAEMON, '--stop', '--exec', worker, '--retry', 'TERM/30/KILL/5'];
  return ['/bin/sh', '-c', SHELL_LOOP, 'shell-loop', ...pids.map(String)];
}

/** One contender draining one set of workers; throws when anything is not as expected. */
async function runTrial(contender, round, delays, { traced = false } = {}) {
  const worker = join(BIN, 'worker');
  const tag = `r${round}-${contender.replaceAll(' ', '-')}${traced ? '-traced' : ''}`;
  const timeline = traced ? join(RUN, `${tag}.timeline.json`) : undefined;
  const record = join(RUN, `${tag}.exits`);
  const leftovers = liveProcessesOf(worker);
  if (leftovers.length > 0) throw new Error(`workers of an earlier trial still run: ${leftovers.join(' ')}`);

  const spawner = spawnGroup(
    join(BIN, 'spawner'),
    [worker, record, String(TRIAL_TIMEOUT_MS), ...delays.map(String)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let measurer;
  try {
    const spawnerOut = collect(spawner.stdout);
    const pids = await waitForLine(
      spawner.stdout,
      (line) => (line.startsWith('ready') ? line.split(' ').slice(1).map(Number) : undefined),
      20_000,
      'the workers to start',
    );
    if (pids.length !== delays.length)
      throw new Error(`${pids.length} workers started, wanted ${delays.length}`);
    const live = liveProcessesOf(worker).length;
    if (live !== delays.length)
      throw new Error(`${live} live workers before the drain, wanted ${delays.length}`);

    const measureFile = join(RUN, `${tag}.measure.json`);
    const command = contenderCommand(contender, { worker, pids, tag, timeline });
    measurer = spawnGroup(join(BIN, 'measure'), [measureFile, String(TRIAL_TIMEOUT_MS), ...command], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        FLEET_DRAIN_LOG_LEVEL: 'warn',
        ...(timeline ? { AGENT_TIMELINE: timeline } : {}),
      },
    });
    const stdout = collect(measurer.stdout);
    const stderr = collect(measurer.stderr);
    await withTimeout(measurer.exited, TRIAL_TIMEOUT_MS + 5_000, `${contender} to exit`);
    const spawnerExit = await withTimeout(spawner.exited, TRIAL_TIMEOUT_MS + 5_000, 'the spawner to exit');

    const measured = JSON.parse(readFileSync(measureFile, 'utf8'));
    const problems = [];
    if (measured.timedOut) problems.push(`${contender} ran past ${TRIAL_TIMEOUT_MS} ms`);
    if (measured.exitCode !== EXPECTED_EXIT[contender])
      problems.push(
        `${contender} exited ${measured.exitCode} (signal ${measured.signal}), wanted ${EXPECTED_EXIT[contender]}`,
      );
    if (spawnerExit.code !== 0)
      problems.push(`the spawner exited ${spawnerExit.code}: workers had to be KILLed`);

    // Every worker exited on its own (status 0, after its delay) and was reaped.
    const reaps = new Map();
    for (const line of spawnerOut().split('\n')) {
      const [word, pid, reapNs, status] = line.split(' ');
      if (word === 'reaped') reaps.set(Number(pid), { reapNs: Number(reapNs), status: Number(status) });
    }
    const exits = new Map();
    for (const line of readFileSync(record, 'utf8').trim().split('\n')) {
      const [pid, termNs, exitNs] = line.split(' ').map(Number);
      exits.set(pid, { termNs, exitNs });
    }
    for (const pid of pids) {
      const reap = reaps.get(pid);
      if (!reap) problems.push(`worker ${pid} was not reaped`);
      else if (reap.status !== 0) problems.push(`worker ${pid} ended with wait status ${reap.status}`);
      if (!exits.has(pid)) problems.push(`worker ${pid} did not record its exit`);
    }
    let agentReport;
    if (isAgent(contender)) {
      try {
        // The agent prints its summary line, then the JSON report.
        const [summary = '', ...report] = stdout().split('\n');
        if (!summary.startsWith('fleet-drain v1 ')) throw new Error('no summary line');
        agentReport = JSON.parse(report.join('\n'));
      } catch {
        problems.push(
          `the agent's stdout is not a summary line and a JSON report: ${stdout().slice(0, 200)}`,
        );
      }
      const target = agentReport?.targets?.[0];
      const seen = (target?.processes?.length ?? 0) + (target?.omitted?.count ?? 0);
      if (agentReport && (agentReport.outcome !== 'drained' || seen !== delays.length))
        problems.push(`the agent reported ${agentReport.outcome} with ${seen} processes`);
    }
    if (problems.length > 0) {
      throw new Error(`${tag}: ${problems.slice(0, 5).join('; ')}\nstderr: ${stderr().slice(0, 1000)}`);
    }

    const exitTimes = [...exits.values()];
    const lastExitNs = Math.max(...exitTimes.map((exit) => exit.exitNs));
    const firstTermNs = Math.min(...exitTimes.map((exit) => exit.termNs));
    const lastTermNs = Math.max(...exitTimes.map((exit) => exit.termNs));
    const reapLagMs = Math.max(...pids.map((pid) => (reaps.get(pid).reapNs - exits.get(pid).exitNs) / 1e6));
    const lastPid = [...exits].find(([, exit]) => exit.exitNs === lastExitNs)?.[0];
    return {
      ...(timeline
        ? { phases: phasesOf(JSON.parse(readFileSync(timeline, 'utf8')), lastPid, lastExitNs, measured) }
        : {}),
      contender,
      round,
      overheadMs: (measured.endNs - lastExitNs) / 1e6,
      wallMs: (measured.endNs - measured.startNs) / 1e6,
      firstTermMs: (firstTermNs - measured.startNs) / 1e6,
      termSpreadMs: (lastTermNs - firstTermNs) / 1e6,
      cpuMs: (measured.userUs + measured.sysUs) / 1e3,
      userMs: measured.userUs / 1e3,
      sysMs: measured.sysUs / 1e3,
      maxRssKb: measured.maxRssKb,
      exitCode: measured.exitCode,
      reapLagMs,
      lastReapLagMs: (reaps.get(lastPid).reapNs - lastExitNs) / 1e6,
      agentDurationMs: agentReport?.durationMs,
    };
  } finally {
    if (measurer) killGroup(measurer.pid);
    killGroup(spawner.pid);
  }
}

/**
 * Splits the agent's overhead after the last exit at the events agent-timeline.cjs recorded (ms each):
 * noticing the exit, the final rescan and building the report, writing the state, printing the report,
 * the rest of the event loop, and Node's teardown up to wait4.
 */
function phasesOf(events, lastPid, lastExitNs, measured) {
  const at = (name, after, detail) =>
    events.find(
      ([event, ns, value]) =>
        event === name && Number(ns) >= after && (detail === undefined || value === detail),
    );
  // The agent notices the last exit by reading the worker's stat, or by a rescan whose listing lacks it.
  const noticed = [at('gone', lastExitNs, lastPid), at('scan', lastExitNs)]
    .filter(Boolean)
    .map(([, ns]) => Number(ns));
  if (noticed.length === 0) return undefined; // it read /proc some way agent-timeline.cjs does not follow
  const detectedNs = Math.min(...noticed);
  const firstState = Number(at('state', detectedNs)?.[1] ?? Number.NaN);
  const unlock = Number(at('unlock', detectedNs)?.[1] ?? Number.NaN);
  const report = Number(at('report', detectedNs)?.[1] ?? Number.NaN);
  const exit = Number(at('exit', detectedNs)?.[1] ?? Number.NaN);
  const stateWrites = events.filter(([event, ns]) => event === 'state' && Number(ns) >= detectedNs);
  const rescans = events.filter(([event, ns]) => event === 'scan' && Number(ns) >= detectedNs).length;
  // The poll's period over the last 300 ms before the exit was noticed.
  const ticks = events
    .filter(([event, ns]) => event === 'tick' && Number(ns) <= detectedNs && Number(ns) > detectedNs - 300e6)
    .map(([, ns]) => Number(ns));
  const periods = ticks.slice(1).map((ns, i) => (ns - ticks[i]) / 1e6);
  return {
    poll: (detectedNs - lastExitNs) / 1e6,
    pollPeriod: periods.length > 0 ? median(periods) : Number.NaN,
    rescanAndReport: (firstState - detectedNs) / 1e6,
    stateWrites: (unlock - firstState) / 1e6,
    printReport: (report - unlock) / 1e6,
    eventLoop: (exit - report) / 1e6,
    teardown: (measured.endNs - exit) / 1e6,
    rescans,
    stateWriteCount: stateWrites.length,
    stateBytes: stateWrites.map(([, , bytes]) => bytes),
  };
}

async function benchDrain() {
  const trials = [];
  const idle = BACKGROUND > 0 ? await startIdle(BACKGROUND) : undefined;
  try {
    await drainRounds(trials);
  } finally {
    if (idle) {
      idle.stdin.end();
      killGroup(idle.pid);
    }
  }
  return trials;
}

async function drainRounds(trials) {
  // One short untimed drain each, so no contender pays for a cold page cache.
  for (const contender of CONTENDERS) await runTrial(contender, 0, delaysFor(0, 10));
  for (let round = 1; round <= ROUNDS; round++) {
    const delays = delaysFor(round, WORKERS);
    // Interleaved, and each contender takes every position in turn.
    const order = CONTENDERS.map((_, i) => CONTENDERS[(i + round) % CONTENDERS.length]);
    for (const contender of order) {
      const trial = await runTrial(contender, round, delays);
      trials.push(trial);
      process.stderr.write(
        `round ${round}/${ROUNDS} ${contender.padEnd(17)} overhead ${ms(trial.overheadMs).padStart(7)} ms` +
          `  wall ${ms(trial.wallMs, 0)} ms  cpu ${ms(trial.cpuMs, 0)} ms  rss ${trial.maxRssKb} KB\n`,
      );
      await sleep(200);
    }
  }
  const traced = CONTENDERS.filter(isAgent);
  for (let round = 1; round <= TRACE_ROUNDS; round++) {
    for (const contender of traced.map((_, i) => traced[(i + round) % traced.length])) {
      const trial = await runTrial(contender, ROUNDS + round, delaysFor(ROUNDS + round, WORKERS), {
        traced: true,
      });
      trials.push({ ...trial, contender: `${contender} (traced)` });
      process.stderr.write(
        `trace ${round}/${TRACE_ROUNDS} ${contender} overhead ${ms(trial.overheadMs)} ms: ${JSON.stringify(trial.phases)}\n`,
      );
      await sleep(200);
    }
  }
}

// --- part 2: the /proc scan ---------------------------------------------------------------------------------

/** COUNT idle processes (bench/c/pauser.c); they go when the returned child's group is KILLed. */
async function startIdle(count) {
  const pauser = spawnGroup(join(BIN, 'pauser'), [String(count)], { stdio: ['pipe', 'pipe', 'inherit'] });
  await waitForLine(
    pauser.stdout,
    (line) => (line.startsWith('ready') ? true : undefined),
    30_000,
    'the pausers',
  );
  return pauser;
}

async function benchScan() {
  const pauser = await startIdle(SCAN_PROCESSES);
  try {
    const runs = [];
    for (let i = 0; i < SCAN_RUNS; i++) {
      const result = spawnSync(
        process.execPath,
        [join(BIN, 'scan-entry.mjs'), String(SCAN_ITERATIONS), SCAN_PATTERN],
        { encoding: 'utf8', timeout: 60_000 },
      );
      if (result.status !== 0) throw new Error(`the scan entry failed: ${result.stderr}`);
      runs.push(JSON.parse(result.stdout));
    }
    const first = (key) => runs.map((run) => run[key][0]);
    const warm = (key) => runs.flatMap((run) => run[key].slice(1));
    const scan = {
      processes: runs[0].processes,
      matched: runs[0].matched,
      tracked: runs[0].tracked,
      runs: SCAN_RUNS,
      iterations: SCAN_ITERATIONS,
      scanFirstMs: first('scanMs'),
      scanWarmMs: warm('scanMs'),
      discoverFirstMs: first('discoverMs'),
      discoverWarmMs: warm('discoverMs'),
    };
    if (scan.matched < SCAN_PROCESSES)
      throw new Error(`the scan matched ${scan.matched} processes, wanted at least ${SCAN_PROCESSES}`);
    return scan;
  } finally {
    pauser.stdin.end();
    killGroup(pauser.pid);
  }
}

// --- report -------------------------------------------------------------------------------------------------

const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const LOAD_AT_START = loadAverage();

function machine() {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
  const cores = readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? '?';
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  return `${cores} × ${cpu}, Linux ${kernel}, Node ${process.version}; load average ${LOAD_AT_START} at the start, ${loadAverage()} at the end`;
}

/** Where the agent's overhead goes, from the traced rounds. */
function phaseTable(traced) {
  if (traced.length === 0) return [];
  const names = [...new Set(traced.map((trial) => trial.contender))];
  const row = (name) => {
    const list = traced.filter((trial) => trial.contender === name);
    const phase = (key) => ms(median(list.map((trial) => trial.phases[key])));
    const bytes = list[0].phases.stateBytes.map((size) => `${(size / 1024).toFixed(0)} KB`).join(' + ');
    return `| ${name.replace(' (traced)', '')} | ${list.length} | ${phase('pollPeriod')} ms | ${phase('poll')} ms | ${phase('rescanAndReport')} ms | ${phase('stateWrites')} ms (${bytes}) | ${phase('printReport')} ms | ${phase('eventLoop')} ms | ${phase('teardown')} ms | ${ms(median(list.map((trial) => trial.overheadMs)))} ms |`;
  };
  return [
    "### The agent's overhead, phase by phase (more drains with bench/agent-timeline.cjs preloaded; medians)",
    '',
    '| build | drains | poll period | notice the last exit (poll) | final rescan + build report | write state | compact + print report | rest of event loop | Node teardown to wait4 | total |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...names.map(row),
    '',
  ];
}

function table(trials, scan) {
  const by = (contender) => trials.filter((trial) => trial.contender === contender);
  const stats = Object.fromEntries(
    CONTENDERS.map((contender) => {
      const list = by(contender);
      const pick = (key) => list.map((trial) => trial[key]);
      return [
        contender,
        {
          overhead: median(pick('overheadMs')),
          overheadMin: Math.min(...pick('overheadMs')),
          overheadMax: Math.max(...pick('overheadMs')),
          wall: median(pick('wallMs')),
          firstTerm: median(pick('firstTermMs')),
          cpu: median(pick('cpuMs')),
          user: median(pick('userMs')),
          sys: median(pick('sysMs')),
          rss: median(pick('maxRssKb')),
          exits: [...new Set(pick('exitCode'))].join(', '),
          rounds: list.length,
        },
      ];
    }),
  );
  const agent = stats.agent;
  const ssd = stats['start-stop-daemon'];
  const lines = [
    `### Drain: ${WORKERS} workers exiting 0.2–2 s after TERM, ${ROUNDS} interleaved rounds (seed ${SEED})${
      BACKGROUND > 0 ? `, ${BACKGROUND} idle processes besides` : ''
    }`,
    '',
    `agent: ${relative(ROOT, AGENT)}${CANDIDATE ? `; candidate: ${relative(ROOT, CANDIDATE)}` : ''}`,
    '',
    '| contender | overhead after last exit, median (min–max) | wall, median | first TERM after start | CPU user+sys, median | peak RSS, median | exit code |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...CONTENDERS.map((contender) => {
      const s = stats[contender];
      return `| ${contender} | **${ms(s.overhead)} ms** (${ms(s.overheadMin)}–${ms(s.overheadMax)}) | ${ms(s.wall, 0)} ms | ${ms(s.firstTerm)} ms | ${ms(s.cpu, 0)} ms (${ms(s.user, 0)} + ${ms(s.sys, 0)}) | ${(s.rss / 1024).toFixed(1)} MB | ${s.exits} |`;
    }),
    ...['agent', ...(CANDIDATE ? ['candidate'] : [])].map(
      (name) =>
        `| ${name} / start-stop-daemon | **${(stats[name].overhead / ssd.overhead).toFixed(2)}×** | ${(stats[name].wall / ssd.wall).toFixed(2)}× | | ${(stats[name].cpu / ssd.cpu).toFixed(1)}× | ${(stats[name].rss / ssd.rss).toFixed(1)}× | |`,
    ),
    '',
    ...phaseTable(trials.filter((trial) => trial.phases)),
    `### /proc scan: ${scan.processes} live processes (${SCAN_PROCESSES} extra), cmdline regex matching ${scan.matched}`,
    '',
    '| what | first call in a fresh process, median (max) | warm, median | warm, p95 | samples (warm) |',
    '|---|---:|---:|---:|---:|',
    `| scan: protectProcesses + takeSnapshot + matchProcesses | ${ms(median(scan.scanFirstMs))} ms (${ms(Math.max(...scan.scanFirstMs))}) | **${ms(median(scan.scanWarmMs))} ms** | **${ms(percentile(scan.scanWarmMs, 95))} ms** | ${scan.scanWarmMs.length} |`,
    `| ProcessTarget.discover (the drain's first scan, tracking ${scan.tracked}) | ${ms(median(scan.discoverFirstMs))} ms (${ms(Math.max(...scan.discoverFirstMs))}) | ${ms(median(scan.discoverWarmMs))} ms | ${ms(percentile(scan.discoverWarmMs, 95))} ms | ${scan.discoverWarmMs.length} |`,
    '',
    `Goals: overhead median at or below start-stop-daemon's in this run: ${
      agent.overhead <= ssd.overhead ? 'met' : 'MISSED'
    } (${ms(agent.overhead)} ms vs ${ms(ssd.overhead)} ms); first TERM ≤ ${GOAL_FIRST_SIGNAL_MS} ms after start: ${
      agent.firstTerm <= GOAL_FIRST_SIGNAL_MS ? 'met' : 'MISSED'
    } (${ms(agent.firstTerm)} ms); scan ≤ ${GOAL_SCAN_MS} ms: ${
      median(scan.scanWarmMs) <= GOAL_SCAN_MS ? 'met' : 'MISSED'
    } (warm median ${ms(median(scan.scanWarmMs))} ms, p95 ${ms(percentile(scan.scanWarmMs, 95))} ms, first call ${ms(median(scan.scanFirstMs))} ms).`,
    '',
    `Overhead: CLOCK_MONOTONIC from the last worker's exit (recorded by the worker) to wait4 returning on the contender. CPU and RSS: wait4 rusage of the contender and the children it reaped. ${machine()}.`,
    '',
    "The shell loop's small overhead is luck of alignment: it wakes once a second, and the last of 200 delays drawn from 0.2–2 s lands just before its wake-up at ~2 s; for an exit at an arbitrary time it waits 500 ms on average.",
  ];
  return `${lines.join('\n')}\n`;
}

// --- main ---------------------------------------------------------------------------------------------------

try {
  await setup();
  const trials = await benchDrain();
  const scan = await benchScan();
  const markdown = table(trials, scan);
  writeFileSync(join(OUT, 'agent-bench.md'), markdown);
  writeFileSync(join(OUT, 'agent-bench.json'), `${JSON.stringify({ trials, scan }, null, 2)}\n`);
  process.stdout.write(`\n${markdown}`);
  // A zombie is alive to kill -0 and start-stop-daemon: how long the spawner took to reap, for their figures.
  const reaps = Math.max(...trials.map((trial) => trial.reapLagMs));
  const lastReaps = median(trials.map((trial) => trial.lastReapLagMs));
  process.stderr.write(
    `(reaping after a worker's exit: slowest ${ms(reaps, 2)} ms; the last worker's, median ${ms(lastReaps, 2)} ms)\n`,
  );
} catch (error) {
  process.stderr.write(`agent-bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  clearTimeout(benchTimer);
  killAll();
}
