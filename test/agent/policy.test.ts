import { describe, expect, it } from 'vitest';
import { type DrainPolicy, PolicyError, parsePolicyJson, resolvePolicy } from '../../agent/policy/policy.js';

// The README's example policy, typed: the construct's props use the same type.
const designExample: DrainPolicy = {
  version: 1,
  prepare: [{ touch: '/run/app/no-dispatch' }, { run: ['/usr/local/bin/app', 'drain'], timeout: '30s' }],
  targets: [
    { name: 'workers', match: { cmdline: 'lava-worker', user: 'app' }, schedule: 'HUP/10m/HUP/20s/KILL/5s' },
    { name: 'queue', systemd: 'worker@*.service', schedule: 'TERM/5m/KILL/10s' },
    { name: 'jobs', docker: { label: 'drain=true' }, preset: 'celery' },
    { name: 'legacy', pidfile: '/run/legacy.pid', schedule: 'QUIT/30s/TERM/10s/KILL' },
  ],
  finally: [{ run: ['/usr/local/bin/flush-logs'], timeout: '20s' }],
};

describe('resolvePolicy', () => {
  it('accepts the example of the design', () => {
    const policy = resolvePolicy(designExample);

    expect(policy.prepare).toEqual([
      { kind: 'touch', path: '/run/app/no-dispatch' },
      { kind: 'run', argv: ['/usr/local/bin/app', 'drain'], timeoutMs: 30_000 },
    ]);
    expect(policy.targets.map((t) => [t.name, t.selector.kind, t.schedule.text])).toEqual([
      ['workers', 'process', 'HUP/10m/HUP/20s/KILL/5s'],
      ['queue', 'systemd', 'TERM/5m/KILL/10s'],
      ['jobs', 'docker', 'TERM/10m/QUIT/30s/KILL/5s'],
      ['legacy', 'process', 'QUIT/30s/TERM/10s/KILL/5s'],
    ]);
    expect(policy.targets[3]?.selector).toEqual({
      kind: 'process',
      match: { pidfile: '/run/legacy.pid' },
      scope: 'roots',
    });
  });

  it.each(['/proc/x/y', '/sys/a', '/dev/marker', '/proc', '/run/../proc/1/x'])(
    'refuses a touch step under the kernel pseudo file systems: %s',
    (path) => {
      expect(() => resolvePolicy({ ...designExample, prepare: [{ touch: path }] })).toThrow(
        /prepare\[0\]\.touch: ".*" is under \/(proc|sys|dev), which the kernel provides/,
      );
    },
  );

  it('uses TERM/30s/KILL/5s when a target names no schedule', () => {
    const policy = resolvePolicy({ version: 1, targets: [{ name: 'w', match: { exe: '/usr/bin/w' } }] });
    expect(policy.targets[0]?.schedule.text).toBe('TERM/30s/KILL/5s');
  });

  it('reports every problem at once, each with its path', () => {
    try {
      resolvePolicy({
        version: 1,
        targets: [{ name: 'a', systemd: 'x.service', schedule: 'TERM/5x' }, { name: 'b' }],
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PolicyError);
      expect((error as PolicyError).issues.map((issue) => issue.path)).toEqual([
        'targets[0].schedule',
        'targets[1]',
      ]);
    }
  });

  it('suggests the known field for a misspelt one', () => {
    expect(() =>
      resolvePolicy({ version: 1, targets: [{ name: 'a', systemd: 'x', shedule: 'TERM/1s' }] }),
    ).toThrow(/targets\[0\]\.shedule: is not a known field; did you mean "schedule"\?/);
  });

  it('refuses a cycle of "after"', () => {
    expect(() =>
      resolvePolicy({
        version: 1,
        targets: [
          { name: 'a', systemd: 'a', after: ['b'] },
          { name: 'b', systemd: 'b', after: ['a'] },
        ],
      }),
    ).toThrow(/"after" makes a cycle: a → b → a/);
  });

  it('parses JSON text and names a syntax error', () => {
    expect(() => parsePolicyJson('{"version": 1,')).toThrow(/\(policy\): is not valid JSON/);
  });
});
