// Process identity and the never-signal list, against an injected /proc reader whose processes a test can
// replace between two reads (PID reuse) or mark as kernel threads.

import { describe, expect, it } from 'vitest';
import { type ProcReader, type ProcStat, parseStat } from '../../agent/host/proc.js';
import { compactReport } from '../../agent/report/compact-report.js';
import { AGENT_STDOUT_MAX_BYTES, type DrainReport } from '../../agent/report/report.js';
import { ProcessTarget } from '../../agent/targets/process-target.js';
import { isDrainAgent, protectProcesses } from '../../agent/targets/protected-processes.js';

interface FakeProcess extends Partial<ProcStat> {
  pid: number;
  cmdline?: string;
}

/** A /proc whose table the test edits; `kills` records what would have been signalled. */
function fakeProc(table: FakeProcess[]) {
  const processes = new Map<number, FakeProcess>(table.map((p) => [p.pid, p]));
  const stat = (p: FakeProcess): ProcStat => ({
    comm: 'x',
    state: 'S',
    ppid: 1,
    pgid: p.pid,
    sid: p.pid,
    flags: 0,
    startTime: 1000,
    ...p,
  });
  const reader: ProcReader = {
    listPids: () => [...processes.keys()],
    stat: (pid) => {
      const p = processes.get(pid);
      return p ? stat(p) : undefined;
    },
    cmdline: (pid) => processes.get(pid)?.cmdline ?? '',
    exe: () => undefined,
    uid: () => 0,
  };
  return { reader, processes };
}

describe('parseStat', () => {
  it('reads the fields after a command name holding spaces and parentheses', () => {
    const text = '4242 (my (odd) worker) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 0 0';
    expect(parseStat(text)).toMatchObject({
      pid: 4242,
      comm: 'my (odd) worker',
      state: 'S',
      ppid: 17,
      pgid: 4242,
      sid: 4242,
      startTime: 987654,
    });
  });
});

describe('PID reuse', () => {
  it('never signals a PID that now belongs to another process', async () => {
    const { reader, processes } = fakeProc([
      { pid: 1, ppid: 0, cmdline: '/sbin/init' },
      { pid: 10, ppid: 1, cmdline: 'agent' },
      { pid: 500, ppid: 1, startTime: 5_000, cmdline: 'lava-worker' },
    ]);
    const kills: [number, number][] = [];
    const target = new ProcessTarget('w', { cmdline: 'lava-worker' }, 'roots', {
      proc: reader,
      protection: protectProcesses(reader, 10),
      clock: () => 0,
      kill: (pid, signal) => kills.push([pid, signal]),
    });
    await target.discover();
    // The worker exits and PID 500 goes to an unrelated process started later.
    processes.set(500, { pid: 500, ppid: 1, startTime: 9_000, cmdline: 'postgres' });

    await target.signal({ name: 'TERM', number: 15 });

    expect(kills).toEqual([]);
    expect(target.processes()).toEqual([
      expect.objectContaining({ pid: 500, exitedAfterMs: 0, signals: [] }),
    ]);
    expect(await target.isRunning()).toBe(false);
  });

  it('signals the same process again when its identity still holds', async () => {
    const { reader } = fakeProc([{ pid: 500, ppid: 1, startTime: 5_000, cmdline: 'lava-worker' }]);
    const kills: [number, number][] = [];
    const target = new ProcessTarget('w', { cmdline: 'lava-worker' }, 'roots', {
      proc: reader,
      protection: protectProcesses(reader, 10),
      clock: () => 7,
      kill: (pid, signal) => kills.push([pid, signal]),
    });
    await target.discover();

    await target.signal({ name: 'HUP', number: 1 });

    expect(kills).toEqual([[500, 1]]);
    expect(target.processes()[0]?.signals).toEqual([['HUP', 7]]);
  });

  it('counts a zombie as exited', async () => {
    const { reader, processes } = fakeProc([{ pid: 500, ppid: 1, cmdline: 'w' }]);
    const target = new ProcessTarget('w', { cmdline: 'w' }, 'roots', {
      proc: reader,
      protection: protectProcesses(reader, 10),
      clock: () => 0,
      kill: () => {},
    });
    await target.discover();
    processes.set(500, { pid: 500, ppid: 1, state: 'Z', cmdline: '' });

    expect(await target.isRunning()).toBe(false);
  });
});

describe('the never-signal list', () => {
  const { reader } = fakeProc([
    { pid: 1, ppid: 0, cmdline: '/sbin/init worker' },
    { pid: 2, ppid: 0, cmdline: '', comm: 'kthreadd' },
    { pid: 3, ppid: 2, flags: 0x00208040, cmdline: '', comm: 'rcu_gp' },
    { pid: 77, ppid: 1, flags: 0x00200000, cmdline: '', comm: 'odd_kthread' },
    { pid: 100, ppid: 1, cmdline: 'amazon-ssm-agent worker' },
    { pid: 200, ppid: 100, cmdline: 'sh -c worker' },
    { pid: 300, ppid: 200, cmdline: 'node fleet-drain-agent drain worker' },
    { pid: 301, ppid: 300, cmdline: 'prepare-step worker' },
    { pid: 400, ppid: 1, cmdline: 'worker' },
  ]);
  const protection = protectProcesses(reader, 300);

  it('protects PID 1, the agent, its ancestors, its children and kernel threads', () => {
    const covered = [1, 2, 3, 77, 100, 200, 300, 301, 400].filter((pid) =>
      protection.covers(reader.stat(pid) as ProcStat),
    );
    expect(covered).toEqual([1, 2, 3, 77, 100, 200, 300, 301]);
  });

  it('a match-everything target finds only the worker', async () => {
    const kills: number[] = [];
    const target = new ProcessTarget('all', { cmdline: '.*' }, 'all', {
      proc: reader,
      protection,
      clock: () => 0,
      kill: (pid) => kills.push(pid),
    });
    await target.discover();
    await target.signal({ name: 'KILL', number: 9 });
    expect(kills).toEqual([400]);
  });
});

describe('another fleet-drain agent', () => {
  const state = '/var/lib/fleet-drain/fleet-drain-agent-0f3a9c.js';
  const unpack = `node -e const fs=require("fs"),zlib=require("zlib");fs.writeFileSync(process.argv[1]) ${state}.4242`;

  it.each([
    ['an agent run by the document', `/usr/bin/node ${state} drain --config-b64 e30= --id d-2`],
    ['the built agent', 'node /opt/fleet-drainer/dist/fleet-drain-agent.js status'],
    ['the document unpacking the agent for a second invocation', unpack],
    [
      'the document checking the node version',
      'node -e const [a, b] = process.versions fleet-drain-agent-check',
    ],
    [
      'the document reading the time left to the deadline',
      'node -e const t = Date.parse(process.argv[1]) 2026-12-07T10:00:00Z fleet-drain-agent-check',
    ],
  ])('is %s', (_, cmdline) => {
    expect(isDrainAgent(cmdline)).toBe(true);
  });

  it.each([
    ['a node worker', 'node /srv/app/worker.js --queue jobs'],
    ['a node worker that names the agent file in an argument', `node /srv/app/worker.js ${state}`],
    ['a node -e that writes another file', 'node -e 1 /tmp/fleet-drain-agent-0f3a9c.json'],
    ['a shell that names the unpacking file', `sh -c cat ${state}.4242`],
    [
      'a node worker whose last argument merely contains the marker',
      'node -e 1 my-fleet-drain-agent-check-x',
    ],
  ])('is not %s', (_, cmdline) => {
    expect(isDrainAgent(cmdline)).toBe(false);
  });

  it('a match-everything target spares the agent being unpacked, and the shell running it', async () => {
    const { reader } = fakeProc([
      { pid: 1, ppid: 0, cmdline: '/sbin/init' },
      { pid: 300, ppid: 1, cmdline: 'node fleet-drain-agent.js drain' },
      { pid: 500, ppid: 1, cmdline: 'sh /var/lib/amazon/ssm/i-0/document/_script.sh' },
      { pid: 501, ppid: 500, comm: 'node', cmdline: unpack },
      { pid: 600, ppid: 1, comm: 'node', cmdline: 'node /srv/app/worker.js' },
    ]);
    const kills: number[] = [];
    const target = new ProcessTarget('all', { cmdline: '.*' }, 'all', {
      proc: reader,
      protection: protectProcesses(reader, 300),
      clock: () => 0,
      kill: (pid) => kills.push(pid),
    });
    await target.discover();
    await target.signal({ name: 'KILL', number: 9 });
    expect(kills).toEqual([600]);
  });
});

describe('compactReport', () => {
  const processes = (count: number) =>
    Array.from({ length: count }, (_, i) => ({
      pid: 100_000 + i,
      command: `/usr/bin/python3 -m celery --app=proj.tasks worker --loglevel=INFO --concurrency=8 -n w${i}@%h`,
      signals: [['TERM', 12] as [string, number], ['KILL', 600_012] as [string, number]],
      exitedAfterMs: i % 7 === 0 ? null : 1_234_567,
      forced: i % 3 === 0,
    }));
  const report = (count: number): DrainReport => ({
    version: 1,
    id: '87654321-4321-4321-4321-210987654321',
    outcome: 'forced',
    exitCode: 3,
    startedAt: '2026-11-22T10:00:00.000Z',
    finishedAt: '2026-11-22T10:10:00.000Z',
    durationMs: 600_000,
    joined: false,
    prepare: [],
    targets: [{ name: 'workers', kind: 'process', outcome: 'incomplete', processes: processes(count) }],
    finally: [],
  });

  it('keeps 200 processes whole within the bytes the agent may print', () => {
    const compact = compactReport(report(200));
    expect(Buffer.byteLength(JSON.stringify(compact))).toBeLessThan(AGENT_STDOUT_MAX_BYTES);
    expect(compact.targets[0]?.processes).toHaveLength(200);
  });

  it('summarises past that, keeping still-running processes first and counting the rest', () => {
    const compact = compactReport(report(5_000));
    const [target] = compact.targets;
    expect(Buffer.byteLength(JSON.stringify(compact))).toBeLessThan(AGENT_STDOUT_MAX_BYTES);
    expect(target?.processes.every((p) => p.exitedAfterMs === null)).toBe(true);
    expect((target?.processes.length ?? 0) + (target?.omitted?.count ?? 0)).toBe(5_000);
    expect(target?.omitted?.running).toBe(Math.ceil(5_000 / 7) - (target?.processes.length ?? 0));
  });
});
