// Runs the fleet-drain document's own script, extracted from the synthesized template, the way the SSM Agent
// would: a shell with the $SSM_<name> parameters in its environment, against real fixture workers.

import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRAIN_PARAMETERS, POLICY_PARAMETER_MAX_CHARS } from '../../agent/policy/drain-parameters';
import type { DrainPolicy } from '../../agent/policy/policy';
import type { DrainReport } from '../../agent/report/report';
import { AGENT_CHECK_MARKER, DOCUMENT_STEP } from '../../agent/targets/document-steps';
import { parsePlanOutput } from '../../common/plan-output';
import {
  DOCUMENT_CONTENT_LIMIT_BYTES,
  documentContentBytes,
  STATE_DIR_OVERRIDE_ENV,
  WATCHDOG_GRACE_ENV,
  WATCHDOG_MARGIN_ENV,
} from '../../lib/drain-document';
import { canUnshare, FIXTURES, isAlive, parseJson, Sandbox } from '../agent/helpers';
import { documentScript, drainerStack, onlyResource } from './helpers';

interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const sandbox = new Sandbox();
let scriptFile = '';
let script = '';

const deadlineIn = (ms: number) => new Date(Date.now() + ms).toISOString().replace(/\.\d+Z$/, 'Z');

function ssmEnv(drainId: string): Record<string, string> {
  return {
    SSM_drainId: drainId,
    SSM_deadline: deadlineIn(60_000),
    SSM_instanceId: 'i-0123456789abcdef0',
    SSM_autoScalingGroupName: 'workers',
    SSM_lifecycleHookName: 'fleet-drainer',
    SSM_action: 'drain',
    // SSM exports every parameter, a default too: `policy` is empty unless a plan sends one.
    SSM_policy: '',
    SSM_drainIds: '',
  };
}

/** PIDs of the live processes in process group `pgid` (the script's, as SSM starts it: its own group). */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && Number(fields[2]) === pgid) members.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return members;
}

/** A folder with a `node` that runs the script's own `node -e` helpers for real and `agentBody` as the agent. */
function stubNode(name: string, agentBody: string): string {
  const bin = join(sandbox.dir, name);
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'node'),
    `#!/bin/sh\ncase "$1" in -e|--version) exec "${process.execPath}" "$@" ;; esac\n${agentBody}\n`,
  );
  chmodSync(join(bin, 'node'), 0o755);
  return bin;
}

function runScript(
  file: string,
  env: Record<string, string>,
  shell = 'bash',
): Promise<ScriptRun & { pid: number }> {
  return new Promise((resolve) => {
    // Its own process group, as the SSM Agent starts the script (Setpgid, executers_unix.go).
    const child = spawn(shell, [file], {
      detached: true,
      env: {
        PATH: process.env.PATH ?? '',
        FIXTURE_LOG: sandbox.log,
        [STATE_DIR_OVERRIDE_ENV]: sandbox.stateDir,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr, pid: child.pid as number }));
  });
}

beforeAll(() => {
  const { template } = drainerStack({
    groups: ['workers'],
    policy: {
      version: 1,
      targets: [{ name: 'workers', match: { cmdline: sandbox.tag }, schedule: 'TERM/10s/KILL/1s' }],
    },
  });
  script = documentScript(template);
  scriptFile = join(sandbox.dir, 'drain.sh');
  writeFileSync(scriptFile, script);
});

afterAll(() => sandbox.cleanup());

describe('the document', () => {
  it("stays under SSM's 64 KB content limit", () => {
    const { template } = drainerStack();
    const bytes = documentContentBytes(onlyResource(template, 'AWS::SSM::Document').Content);
    expect(bytes).toBeLessThan(DOCUMENT_CONTENT_LIMIT_BYTES);
    console.log(`fleet-drain document: ${bytes} bytes of ${DOCUMENT_CONTENT_LIMIT_BYTES}`);
  });
});

describe("the document's script", () => {
  it("drains a real worker and exits with the report and the agent's code", async () => {
    const worker = await sandbox.start('graceful-worker.mjs');
    const run = await runScript(scriptFile, ssmEnv('drain-one'));
    expect(run.code, run.stderr).toBe(0);
    const report = parseJson(run.stdout) as DrainReport;
    expect(report).toMatchObject({ id: 'drain-one', outcome: 'drained' });
    expect(sandbox.signalsOf(worker.pid as number)).toEqual(['SIGTERM']);
    // The agent's log lines carry the keys the document exported from the parameters.
    expect(run.stderr).toContain('"autoScalingGroupName":"workers"');
    expect(run.stderr).toContain('"instanceId":"i-0123456789abcdef0"');
  });

  it('keeps all it prints on stdout under the 24,000 bytes SSM keeps, with 250 workers named in UTF-8', async () => {
    // Three bytes a character in Japanese, four in an emoji: a budget in characters overflowed SSM's bytes,
    // which cut the report and, with it, the outcome.
    const workers = Array.from({ length: 250 }, (_, i) =>
      spawn('sleep', ['600'], {
        argv0: `${sandbox.tag}-wörker-日本語のワーカー-😀🚀-${i}-${'ü'.repeat(30)}`,
        detached: true,
        stdio: 'ignore',
      }),
    );
    try {
      const run = await runScript(scriptFile, ssmEnv('drain-many'));

      expect(run.code, run.stderr).toBe(0);
      expect(Buffer.byteLength(run.stdout)).toBeLessThan(24_000);
      expect(run.stdout).toMatch(/^fleet-drain v1 outcome=drained exit=0 id=drain-many joined=0\n\{/);
      const report = parseJson(run.stdout) as DrainReport;
      const [target] = report.targets;
      expect((target?.processes.length ?? 0) + (target?.omitted?.count ?? 0)).toBe(250);
      // Compacted: the commands shortened (the most shared one said once, on the target).
      expect(target?.command ?? target?.processes[0]?.command).toMatch(/^fdt.{0,21}$/u);
    } finally {
      for (const worker of workers) worker.kill('SIGKILL');
    }
  }, 90_000);

  it('writes the agent into a state dir only its owner can read', () => {
    expect(statSync(sandbox.stateDir).mode & 0o777).toBe(0o700);
    const agent = readdirSync(sandbox.stateDir).find((name) =>
      /^fleet-drain-agent-[0-9a-f]{16}\.js$/.test(name),
    );
    expect(agent).toBeDefined();
    expect(statSync(join(sandbox.stateDir, agent as string)).mode & 0o077).toBe(0);
  });

  it('passes the deadline on and exits 0 (Success) for a forced drain under a plain POSIX sh', async () => {
    const stubborn = await sandbox.start('ignores-term.mjs');
    // A whole second's rounding off the deadline still leaves a TERM the worker has time to log before KILL.
    const env = { ...ssmEnv('drain-short'), SSM_deadline: deadlineIn(6_000) };
    const run = await runScript(scriptFile, env, 'sh');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^fleet-drain v1 outcome=forced exit=3 id=drain-short joined=0\n/);
    expect(parseJson(run.stdout)).toMatchObject({ id: 'drain-short', outcome: 'forced' });
    expect(sandbox.signalsOf(stubborn.pid as number)).toEqual(['SIGTERM']);
  });

  it('with action prepare runs only the prepare steps: nothing signalled, outcome prepared, exit 0', async () => {
    const worker = await sandbox.start('graceful-worker.mjs');
    const run = await runScript(scriptFile, { ...ssmEnv('rebalance-one'), SSM_action: 'prepare' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^fleet-drain v1 outcome=prepared exit=0 id=rebalance-one /);
    expect(parseJson(run.stdout)).toMatchObject({ id: 'rebalance-one', outcome: 'prepared', targets: [] });
    expect(sandbox.signalsOf(worker.pid as number)).toEqual([]);
    // The worker is left out of the script's later drains, which match the same tag.
    process.kill(worker.pid as number, 'SIGKILL');
    await sandbox.waitFor(() => !isAlive(worker.pid as number));
  });

  it('falls back to text substitution for SSM Agents that do not export $SSM_<name>', async () => {
    // What an agent older than 3.3.2746.0 does: substitute {{ name }} in the script, set no SSM_* variable.
    let substituted = script;
    for (const [name, value] of Object.entries(ssmEnv('drain-old-agent'))) {
      substituted = substituted.replaceAll(`{{ ${name.replace(/^SSM_/, '')} }}`, value);
    }
    expect(substituted).not.toMatch(/\{\{/);
    const file = join(sandbox.dir, 'old-agent.sh');
    writeFileSync(file, substituted);
    const run = await runScript(file, {});
    expect(run.code, run.stderr).toBe(0);
    expect(parseJson(run.stdout)).toMatchObject({ id: 'drain-old-agent', outcome: 'nothing' });
  });

  it('exits 78 with a clear message when node is missing', async () => {
    const emptyBin = join(sandbox.dir, 'empty-bin');
    mkdirSync(emptyBin);
    const run = await runScript(scriptFile, { ...ssmEnv('drain-no-node'), PATH: emptyBin }, '/bin/bash');
    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(
      /fleet-drainer: node was not found .*needs Node\.js >= 18.*Nothing was drained/,
    );
    expect(run.stdout).toBe('');
  });

  it('exits 78 when node is older than 18', async () => {
    const oldBin = join(sandbox.dir, 'old-node-bin');
    mkdirSync(oldBin);
    writeFileSync(
      join(oldBin, 'node'),
      '#!/bin/sh\ncase "$1" in -e) echo 1620 ;; --version) echo v16.20.2 ;; esac\n',
    );
    chmodSync(join(oldBin, 'node'), 0o755);
    const run = await runScript(scriptFile, { ...ssmEnv('drain-old-node'), PATH: `${oldBin}:/usr/bin:/bin` });
    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(/is Node\.js v16\.20\.2; the drain agent needs >= 18/);
  });

  it('runs a killed agent once more: it resumes the drain and reports it', async () => {
    // The OOM killer takes the agent once; the second run finds its state and finishes the schedule.
    const worker = await sandbox.start('ignores-term.mjs');
    const killBin = join(sandbox.dir, 'kill-once-bin');
    mkdirSync(killBin);
    const marker = join(sandbox.dir, 'killed-once');
    // Killed once the worker logged its TERM (bounded at 10 s): mid-drain, however slow the agent started.
    const termed = `grep '"pid":${worker.pid},' ${sandbox.log} | grep -q SIGTERM`;
    const untilTermed = `i=0; until ${termed} || [ $i -ge 200 ]; do sleep 0.05; i=$((i+1)); done`;
    writeFileSync(
      join(killBin, 'node'),
      `#!/bin/sh\ncase "$1" in -e|--version) exec "${process.execPath}" "$@" ;; esac\n` +
        `if [ ! -e ${marker} ]; then touch ${marker}; "${process.execPath}" "$@" & ${untilTermed}; kill -9 $!; wait $!; kill -9 $$; fi\n` +
        `exec "${process.execPath}" "$@"\n`,
    );
    chmodSync(join(killBin, 'node'), 0o755);
    const env = {
      ...ssmEnv('drain-killed-once'),
      SSM_deadline: deadlineIn(8_000),
      PATH: `${killBin}:/usr/bin:/bin`,
    };

    const run = await runScript(scriptFile, env);

    expect(run.stderr).toMatch(/died from signal 9; running it once more/);
    expect(run.code, run.stderr).toBe(0);
    expect(parseJson(run.stdout)).toMatchObject({ id: 'drain-killed-once', outcome: 'forced' });
    expect(sandbox.signalsOf(worker.pid as number)).toEqual(['SIGTERM']);
  });

  it('turns a death by signal into 70, never 137 or 194', async () => {
    // A node that runs the script's helpers but is SIGKILLed as the agent (as the OOM killer would do).
    const killBin = join(sandbox.dir, 'kill-bin');
    mkdirSync(killBin);
    symlinkSync(process.execPath, join(killBin, 'real-node'));
    writeFileSync(
      join(killBin, 'node'),
      `#!/bin/sh\ncase "$1" in -e|--version) exec "${join(killBin, 'real-node')}" "$@" ;; esac\nkill -9 $$\n`,
    );
    chmodSync(join(killBin, 'node'), 0o755);
    const run = await runScript(scriptFile, { ...ssmEnv('drain-killed'), PATH: `${killBin}:/usr/bin:/bin` });
    expect(run.code).toBe(70);
    expect(run.stderr).toMatch(/the drain agent died from signal 9 \(exit 137\); exiting 70/);
  });

  it.each([
    [0, 0],
    [3, 0],
    [2, 2],
    [4, 4],
    [64, 64],
    [70, 70],
    [78, 78],
  ])(
    'exits %i from the agent as %i: Success in Run Command only for a clear host',
    async (agentExit, status) => {
      // A stub agent that prints its summary line and exits with the code; the document maps it.
      const bin = stubNode(
        `exit-${agentExit}-bin`,
        `echo "fleet-drain v1 outcome=x exit=${agentExit} id=stub joined=0"; exit ${agentExit}`,
      );
      const run = await runScript(scriptFile, {
        ...ssmEnv(`drain-exit-${agentExit}`),
        PATH: `${bin}:/usr/bin:/bin`,
      });
      expect(run.code, run.stderr).toBe(status);
      expect(run.stdout).toBe(`fleet-drain v1 outcome=x exit=${agentExit} id=stub joined=0\n`);
      // Nothing of the script outlives it (its watchdog included).
      expect(groupMembers(run.pid)).toEqual([]);
    },
  );

  it('has a watchdog that TERMs, then KILLs, an agent still running past its deadline', async () => {
    // An agent stuck in a synchronous call: it neither ends nor handles TERM. Without the watchdog the
    // command would run until SSM's execution timeout, and the instance wait for the hook's global timeout.
    const tag = `${sandbox.tag}-spinner`;
    const bin = stubNode(
      'spin-bin',
      `exec "${process.execPath}" -e 'process.on("SIGTERM", () => {}); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)' ${tag}`,
    );
    const env = {
      ...ssmEnv('drain-stuck'),
      SSM_deadline: deadlineIn(1_000),
      PATH: `${bin}:/usr/bin:/bin`,
      [WATCHDOG_MARGIN_ENV]: '1',
      [WATCHDOG_GRACE_ENV]: '1',
    };

    const run = await runScript(scriptFile, env);

    expect(run.code).toBe(70);
    expect(run.stderr).toMatch(
      /fleet-drainer: the drain agent was still running 1s past its deadline \S+ and ignored TERM for 1s: killed it \(exit 137\); exiting 70/,
    );
    expect(run.stderr).not.toMatch(/running it once more/);
    expect(groupMembers(run.pid)).toEqual([]);
    expect(
      readdirSync('/proc').filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(tag);
        } catch {
          return false;
        }
      }),
    ).toEqual([]);
  });

  it("runs the agent with the drained group's own policy, else the default one", async () => {
    // A stub agent that records its arguments: what the script would run, for each group.
    const legacy: DrainPolicy = {
      version: 1,
      targets: [{ name: 'legacy', match: { cmdline: 'legacy-worker' }, schedule: 'TERM/5s/KILL/1s' }],
    };
    const fallback: DrainPolicy = {
      version: 1,
      targets: [{ name: 'workers', match: { cmdline: 'worker' }, schedule: 'TERM/5s/KILL/1s' }],
    };
    const { template } = drainerStack({
      groups: ['workers', { group: 'legacy', policy: legacy }],
      policy: fallback,
    });
    const file = join(sandbox.dir, 'per-group.sh');
    writeFileSync(file, documentScript(template));
    const stubBin = join(sandbox.dir, 'stub-agent-bin');
    mkdirSync(stubBin);
    const record = join(sandbox.dir, 'agent-args');
    writeFileSync(
      join(stubBin, 'node'),
      `#!/bin/sh\ncase "$1" in -e|--version) exec "${process.execPath}" "$@" ;; esac\nprintf '%s\\n' "$@" > ${record}\n`,
    );
    chmodSync(join(stubBin, 'node'), 0o755);
    const policyRun = async (group: string): Promise<DrainPolicy> => {
      const env = {
        ...ssmEnv(`drain-${group}`),
        SSM_autoScalingGroupName: group,
        PATH: `${stubBin}:/usr/bin:/bin`,
      };
      const run = await runScript(file, env);
      expect(run.code, run.stderr).toBe(0);
      const args = readFileSync(record, 'utf8').split('\n');
      return JSON.parse(Buffer.from(args[args.indexOf('--config-b64') + 1] as string, 'base64').toString());
    };
    expect(await policyRun('legacy')).toEqual(legacy);
    expect(await policyRun('workers')).toEqual(fallback);
  });

  it('runs, of a batched start, the drain paired with this host (AWS_SSM_INSTANCE_ID), else exits 64', async () => {
    const stubBin = join(sandbox.dir, 'stub-batch-bin');
    mkdirSync(stubBin);
    const record = join(sandbox.dir, 'batch-agent-args');
    writeFileSync(
      join(stubBin, 'node'),
      `#!/bin/sh\ncase "$1" in -e|--version) exec "${process.execPath}" "$@" ;; esac\nprintf '%s\\n' "$@" "$FLEET_DRAIN_INSTANCE_ID" > ${record}\n`,
    );
    chmodSync(join(stubBin, 'node'), 0o755);
    const batched = (host: string | undefined) => ({
      ...ssmEnv('i-first-drain'),
      SSM_drainIds: 'i-0aaaaaaaaaaaaaaa1=first-drain,i-0bbbbbbbbbbbbbbb2=own-drain,i-0ccccccccccccccc3=third',
      PATH: `${stubBin}:/usr/bin:/bin`,
      ...(host === undefined ? {} : { AWS_SSM_INSTANCE_ID: host }),
    });
    const run = await runScript(scriptFile, batched('i-0bbbbbbbbbbbbbbb2'), 'sh');
    expect(run.code, run.stderr).toBe(0);
    const args = readFileSync(record, 'utf8').split('\n');
    expect(args[args.indexOf('--id') + 1]).toBe('own-drain');
    // The agent's logs name this host, not the first of the batch.
    expect(args).toContain('i-0bbbbbbbbbbbbbbb2');
    for (const host of ['i-0dddddddddddddd4', undefined]) {
      const refused = await runScript(scriptFile, batched(host), 'sh');
      expect(refused.code).toBe(64);
      expect(refused.stderr).toMatch(/this batched drain names no drain for instance .*Nothing was drained/);
    }
  });

  it('ends each of its own node -e steps with an argument the agent recognises and never signals', () => {
    // The unpacking of the agent ("$agent.$$" is …/fleet-drain-agent-<hash>.js.<pid>) and the two checks.
    const steps = documentScript(drainerStack().template)
      .split('\n')
      .filter((line) => line.includes('node -e '));
    expect(steps).toHaveLength(3);
    for (const line of steps) {
      expect(line).toMatch(
        new RegExp(`' (?:"\\$SSM_deadline" )?(?:"\\$agent\\.\\$\\$"|${AGENT_CHECK_MARKER}) (?:2>|<<)`),
      );
    }
    expect(DOCUMENT_STEP.test(AGENT_CHECK_MARKER)).toBe(true);
    expect(DOCUMENT_STEP.test('/run/fleet-drainer/fleet-drain-agent-0f3a9c.js.4242')).toBe(true);
  });

  it('only ever runs parameters that match their allowedPattern', () => {
    // The fallback puts values in double quotes: the patterns admit nothing the shell would expand.
    for (const { pattern } of Object.values(DRAIN_PARAMETERS)) {
      expect(new RegExp(pattern).test('a$(id)')).toBe(false);
      expect(new RegExp(pattern).test('a"b')).toBe(false);
      expect(new RegExp(pattern).test('a`id`')).toBe(false);
    }
  });
});

describe("the document's script with action plan", () => {
  const b64 = (policy: unknown) => Buffer.from(JSON.stringify(policy)).toString('base64');
  const planEnv = (policy: string, stateDir: string) => ({
    ...ssmEnv('plan-0123456789ab'),
    SSM_action: 'plan',
    SSM_policy: policy,
    [STATE_DIR_OVERRIDE_ENV]: stateDir,
  });

  /**
   * Runs the script in a PID namespace of its own beside two real workers (PID 1 is a shell), the way the SSM
   * Agent would on a host: the agent sees the namespace's processes only. The workers die with the namespace.
   */
  function planInNamespace(name: string, policy: string) {
    const out = (file: string) => join(sandbox.dir, `${name}.${file}`);
    const stateDir = join(sandbox.dir, `${name}-state`);
    const shell = `
      node ${FIXTURES}/graceful-worker.mjs ${sandbox.tag} &
      node ${FIXTURES}/ignores-term.mjs ${sandbox.tag} &
      while [ "$(grep -c ready ${sandbox.log})" -lt 2 ]; do sleep 0.05; done
      bash ${scriptFile} > ${out('stdout')} 2> ${out('stderr')}; echo $? > ${out('code')}
    `;
    execFileSync('unshare', ['--pid', '--fork', '--mount-proc', 'sh', '-c', shell], {
      env: {
        PATH: process.env.PATH ?? '',
        FIXTURE_LOG: sandbox.log,
        ...planEnv(policy, stateDir),
      },
      timeout: 30_000,
    });
    const read = (file: string) => readFileSync(out(file), 'utf8');
    return { code: Number(read('code').trim()), stdout: read('stdout'), stderr: read('stderr'), stateDir };
  }

  const freshLog = () => writeFileSync(sandbox.log, '');

  it.runIf(canUnshare)(
    'lists what each target of a sent policy matches, flags the one that matches nothing, signals nothing and writes no lock or state',
    () => {
      freshLog();
      const policy = b64({
        version: 1,
        targets: [
          { name: 'workers', match: { cmdline: sandbox.tag }, schedule: 'TERM/10s/KILL/1s' },
          { name: 'renamed', match: { cmdline: `${sandbox.tag}-renamed` } },
        ],
      });

      const run = planInNamespace('plan-sent', policy);

      expect(run.code, run.stderr).toBe(0);
      const { summary, plan, truncated } = parsePlanOutput(run.stdout);
      expect(summary).toEqual({ targets: 2, unmatched: 1, errors: 0 });
      expect(truncated).toBe(false);
      const ready = sandbox
        .records()
        .filter((record) => record.event === 'ready')
        .map((record) => record.pid);
      const [workers, renamed] = plan?.targets ?? [];
      expect(workers).toMatchObject({ name: 'workers', schedule: 'TERM/10s/KILL/1s', matches: 2 });
      expect(workers?.processes.map((p) => p.pid).sort()).toEqual([...ready].sort());
      expect(renamed).toMatchObject({ name: 'renamed', matches: 0, unmatched: true, processes: [] });
      // Nothing signalled: the workers recorded no signal (the namespace's end kills them with KILL).
      expect(sandbox.records().filter((record) => record.event === 'signal')).toEqual([]);
      // Nothing written but the agent itself: no lock, no state, no watchdog flag.
      expect(readdirSync(run.stateDir)).toEqual([
        expect.stringMatching(/^fleet-drain-agent-[0-9a-f]{16}\.js$/),
      ]);
    },
  );

  it.runIf(canUnshare)('plans with the deployed policy when none is sent', () => {
    freshLog();
    const run = planInNamespace('plan-deployed', '');
    expect(run.code, run.stderr).toBe(0);
    const { plan } = parsePlanOutput(run.stdout);
    expect(plan?.targets).toEqual([
      expect.objectContaining({ name: 'workers', schedule: 'TERM/10s/KILL/1s', matches: 2 }),
    ]);
    expect(sandbox.records().filter((record) => record.event === 'signal')).toEqual([]);
  });

  it("exits 78 naming what is wrong with a sent policy the agent's schema refuses, and plans nothing", async () => {
    const stateDir = join(sandbox.dir, 'plan-bad-state');
    const bad = b64({ version: 1, targets: [{ name: 'x', match: { cmdline: 'w' }, schedule: 'TERM/soon' }] });
    const run = await runScript(scriptFile, planEnv(bad, stateDir));
    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(/fleet-drain-agent: invalid config:\n {2}targets\[0\]\.schedule: /);
    expect(run.stdout).toBe('');
    expect(readdirSync(stateDir).filter((file) => !file.startsWith('fleet-drain-agent-'))).toEqual([]);
  });

  it('exits 78 for a policy over POLICY_PARAMETER_MAX_CHARS, before anything is written', async () => {
    const stateDir = join(sandbox.dir, 'plan-long-state');
    const run = await runScript(scriptFile, planEnv('A'.repeat(POLICY_PARAMETER_MAX_CHARS + 4), stateDir));
    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(
      /the policy parameter is \d+ characters of base64, over 65536: shorten the policy/,
    );
    expect(() => readdirSync(stateDir)).toThrow();
  });

  it('refuses a policy sent with a drain (exit 64): a drain runs the deployed policy only', async () => {
    const worker = await sandbox.start('graceful-worker.mjs');
    const env = { ...ssmEnv('drain-with-policy'), SSM_policy: b64({ version: 1, targets: [] }) };
    const run = await runScript(scriptFile, env);
    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(/the policy parameter is for action plan only.*Nothing was drained/);
    expect(sandbox.signalsOf(worker.pid as number)).toEqual([]);
    process.kill(worker.pid as number, 'SIGKILL');
    await sandbox.waitFor(() => !isAlive(worker.pid as number));
  });
});
