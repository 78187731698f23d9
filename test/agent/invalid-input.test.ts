// Bad input gets a clear error naming what is wrong, with the documented exit code (64 usage, 78 config),
// never a stack trace, and no process is touched.

import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAgent } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'fleet-drain-invalid-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');
const target = { name: 'w', match: { cmdline: 'never-matches-anything-xyz' } };
const withTarget = (extra: Record<string, unknown>) => ({ version: 1, targets: [{ ...target, ...extra }] });

// Folders that lead onto the kernel's file systems by a symbolic link or a mount (/dev/shm is tmpfs: fine).
mkdirSync(join(dir, 'links'));
symlinkSync('/proc/self', join(dir, 'links', 'to-proc'));
symlinkSync('/sys/kernel', join(dir, 'links', 'to-sys'));

// [what, argv, exit code, message that must appear]
const cases: [string, string[], number, RegExp][] = [
  // Node's recursive mkdir never returns on these: the agent spun at 100 % CPU, deaf to TERM and its deadline.
  [
    'state dir under /proc',
    ['drain', '--config-b64', b64(withTarget({})), '--state-dir', '/proc/x'],
    78,
    /--state-dir \/proc\/x: \/proc\/x is under \/proc, which the kernel provides; give a folder on a real file system/,
  ],
  [
    'state dir under /sys',
    ['drain', '--config-b64', b64(withTarget({})), '--state-dir', '/sys/fleet/state'],
    78,
    /--state-dir \/sys\/fleet\/state: .* under \/sys/,
  ],
  [
    'state dir through a link to /proc',
    ['drain', '--config-b64', b64(withTarget({})), '--state-dir', join(dir, 'links', 'to-proc', 'x')],
    78,
    /--state-dir .*to-proc\/x: .* resolves to \/proc\/\d+, under \/proc/,
  ],
  [
    'touch under /proc',
    ['drain', '--config-b64', b64({ ...withTarget({}), prepare: [{ touch: '/proc/x/y' }] })],
    78,
    /prepare\[0\]\.touch: "\/proc\/x\/y" is under \/proc, which the kernel provides/,
  ],
  [
    'touch under /dev',
    ['drain', '--config-b64', b64({ ...withTarget({}), finally: [{ touch: '/dev/fleet/marker' }] })],
    78,
    /finally\[0\]\.touch: "\/dev\/fleet\/marker" is under \/dev/,
  ],
  [
    'touch through a link to /sys',
    [
      'drain',
      '--config-b64',
      b64({ ...withTarget({}), prepare: [{ touch: join(dir, 'links', 'to-sys', 'a', 'b') }] }),
    ],
    78,
    /prepare\[0\]\.touch: .*to-sys\/a\/b resolves to \/sys\/kernel, under \/sys, which the kernel provides; a drain writes nothing there/,
  ],
  ['no command', [], 64, /no command given/],
  ['unknown command', ['drian'], 64, /unknown command "drian"/],
  ['unknown flag', ['drain', '--config', '-', '--force'], 64, /--force/],
  ['flag of another command', ['status', '--config', 'x.json'], 64, /--config does not apply to "status"/],
  ['missing policy', ['drain'], 64, /needs the policy/],
  [
    'both policy sources',
    ['drain', '--config', 'a', '--config-b64', 'e30='],
    64,
    /either --config or --config-b64/,
  ],
  ['empty --config', ['drain', '--config', ''], 64, /--config needs a value/],
  ['--config without value', ['drain', '--config'], 64, /--config/],
  ['extra argument', ['plan', 'extra', '--config', 'x'], 64, /unexpected argument "extra"/],
  [
    'bad drain id',
    ['drain', '--config-b64', b64(withTarget({})), '--id', '../etc'],
    64,
    /--id "..\/etc" is not a drain id/,
  ],
  [
    'drain id too long',
    ['drain', '--config-b64', b64(withTarget({})), '--id', 'a'.repeat(65)],
    64,
    /is not a drain id/,
  ],
  [
    // `plan` is the document's action for the plan command: a drain never runs as one.
    'drain with the action plan',
    ['drain', '--config-b64', b64(withTarget({})), '--action', 'plan'],
    64,
    /--action "plan" is neither drain nor prepare/,
  ],
  [
    'bad deadline',
    ['drain', '--config-b64', b64(withTarget({})), '--deadline', 'tomorrow'],
    64,
    /--deadline "tomorrow"/,
  ],
  [
    'deadline without zone',
    ['drain', '--config-b64', b64(withTarget({})), '--deadline', '2026-11-22T10:00:00'],
    64,
    /--deadline/,
  ],
  [
    'missing config file',
    ['drain', '--config', join(dir, 'absent.json')],
    78,
    /cannot read the config file .*ENOENT/,
  ],
  ['config is a directory', ['plan', '--config', dir], 78, /cannot read the config file .*EISDIR/],
  ['not base64', ['drain', '--config-b64', '%%%'], 78, /--config-b64 is not valid base64/],
  [
    'not JSON',
    ['drain', '--config', file('bad.json', '{"version": 1,')],
    78,
    /\(policy\): is not valid JSON/,
  ],
  ['JSON array', ['drain', '--config-b64', b64([1])], 78, /\(policy\): must be a JSON object/],
  [
    'wrong version',
    ['drain', '--config-b64', b64({ version: 2, targets: [target] })],
    78,
    /version: must be 1, got 2/,
  ],
  ['missing version', ['drain', '--config-b64', b64({ targets: [target] })], 78, /version: must be 1/],
  [
    'unknown top-level field',
    ['drain', '--config-b64', b64({ version: 1, targets: [target], prepar: [] })],
    78,
    /prepar: is not a known field; did you mean "prepare"/,
  ],
  [
    'no targets',
    ['drain', '--config-b64', b64({ version: 1, targets: [] })],
    78,
    /targets: must be a non-empty array/,
  ],
  [
    'targets not an array',
    ['drain', '--config-b64', b64({ version: 1, targets: {} })],
    78,
    /targets: must be a non-empty array/,
  ],
  [
    'target not an object',
    ['drain', '--config-b64', b64({ version: 1, targets: ['w'] })],
    78,
    /targets\[0\]: must be an object/,
  ],
  [
    'target without name',
    ['drain', '--config-b64', b64({ version: 1, targets: [{ match: { cmdline: 'x' } }] })],
    78,
    /targets\[0\]\.name: must be a string/,
  ],
  [
    'bad target name',
    ['drain', '--config-b64', b64(withTarget({ name: 'two words' }))],
    78,
    /targets\[0\]\.name: "two words" is not a name/,
  ],
  [
    'duplicate names',
    ['drain', '--config-b64', b64({ version: 1, targets: [target, target] })],
    78,
    /targets\[1\]\.name: "w" is used by an earlier target/,
  ],
  [
    'no selector',
    ['drain', '--config-b64', b64({ version: 1, targets: [{ name: 'w' }] })],
    78,
    /targets\[0\]: selects nothing/,
  ],
  [
    'two selectors',
    ['drain', '--config-b64', b64(withTarget({ systemd: 'x.service' }))],
    78,
    /targets\[0\]: gives match and systemd; give exactly one/,
  ],
  [
    'empty match',
    ['drain', '--config-b64', b64(withTarget({ match: {} }))],
    78,
    /targets\[0\]\.match: is empty/,
  ],
  [
    'bad regex',
    ['drain', '--config-b64', b64(withTarget({ match: { cmdline: '(' } }))],
    78,
    /targets\[0\]\.match\.cmdline: "\(" is not a valid regular expression/,
  ],
  [
    'relative exe',
    ['drain', '--config-b64', b64(withTarget({ match: { exe: 'bin/worker' } }))],
    78,
    /targets\[0\]\.match\.exe: "bin\/worker" must be an absolute path/,
  ],
  [
    'bad user',
    ['drain', '--config-b64', b64(withTarget({ match: { user: 'Root User' } }))],
    78,
    /targets\[0\]\.match\.user: "Root User" is not a user name/,
  ],
  [
    'negative uid',
    ['drain', '--config-b64', b64(withTarget({ match: { user: -1 } }))],
    78,
    /targets\[0\]\.match\.user: must be a string/,
  ],
  [
    'relative pidfile',
    ['drain', '--config-b64', b64({ version: 1, targets: [{ name: 'w', pidfile: 'x.pid' }] })],
    78,
    /targets\[0\]\.pidfile: "x.pid" must be an absolute path/,
  ],
  [
    'bad schedule item',
    ['drain', '--config-b64', b64(withTarget({ schedule: 'TERM/5x' }))],
    78,
    /targets\[0\]\.schedule: "TERM\/5x" is not a valid schedule: "5x" is neither a signal/,
  ],
  [
    'two waits in a row',
    ['drain', '--config-b64', b64(withTarget({ schedule: 'TERM/5s/5s' }))],
    78,
    /targets\[0\]\.schedule: .*follows another duration/,
  ],
  [
    'signal after KILL',
    ['drain', '--config-b64', b64(withTarget({ schedule: 'KILL/TERM' }))],
    78,
    /targets\[0\]\.schedule: .*follows KILL/,
  ],
  [
    'schedule not a string',
    ['drain', '--config-b64', b64(withTarget({ schedule: 30 }))],
    78,
    /targets\[0\]\.schedule: must be a string/,
  ],
  [
    'unknown preset',
    ['drain', '--config-b64', b64(withTarget({ preset: 'resque' }))],
    78,
    /targets\[0\]\.preset: "resque" is not a preset; known presets: celery/,
  ],
  [
    'preset and schedule',
    ['drain', '--config-b64', b64(withTarget({ preset: 'celery', schedule: 'TERM/1s' }))],
    78,
    /targets\[0\]: gives both "schedule" and "preset"/,
  ],
  [
    'bad scope',
    ['drain', '--config-b64', b64(withTarget({ scope: 'children' }))],
    78,
    /targets\[0\]\.scope: must be "roots" or "all"/,
  ],
  [
    'scope on systemd',
    ['drain', '--config-b64', b64({ version: 1, targets: [{ name: 'w', systemd: 'x', scope: 'all' }] })],
    78,
    /targets\[0\]\.scope: applies to process targets only/,
  ],
  [
    'unit with a flag',
    ['drain', '--config-b64', b64({ version: 1, targets: [{ name: 'w', systemd: '--all' }] })],
    78,
    /targets\[0\]\.systemd: "--all" must not start with "-"/,
  ],
  [
    'unit with a space',
    ['drain', '--config-b64', b64({ version: 1, targets: [{ name: 'w', systemd: 'a b' }] })],
    78,
    /targets\[0\]\.systemd: "a b" is not a systemd unit/,
  ],
  [
    'docker with both',
    [
      'drain',
      '--config-b64',
      b64({ version: 1, targets: [{ name: 'w', docker: { label: 'a', name: 'b' } }] }),
    ],
    78,
    /targets\[0\]\.docker: give exactly one of "label" and "name"/,
  ],
  [
    'docker label flag',
    ['drain', '--config-b64', b64({ version: 1, targets: [{ name: 'w', docker: { label: '-q' } }] })],
    78,
    /targets\[0\]\.docker\.label: "-q" is not a label filter/,
  ],
  [
    'after unknown',
    ['drain', '--config-b64', b64(withTarget({ after: ['web'] }))],
    78,
    /targets\[0\]\.after\[0\]: "web" is not the name of a target/,
  ],
  [
    'after itself',
    ['drain', '--config-b64', b64(withTarget({ after: ['w'] }))],
    78,
    /targets\[0\]\.after\[0\]: a target cannot wait for itself/,
  ],
  [
    'touch relative',
    ['drain', '--config-b64', b64({ ...withTarget({}), prepare: [{ touch: 'nodispatch' }] })],
    78,
    /prepare\[0\]\.touch: "nodispatch" must be an absolute path/,
  ],
  [
    'run not argv',
    ['drain', '--config-b64', b64({ ...withTarget({}), prepare: [{ run: 'app drain' }] })],
    78,
    /prepare\[0\]\.run: must be a non-empty array of strings/,
  ],
  [
    'run flag as program',
    ['drain', '--config-b64', b64({ ...withTarget({}), finally: [{ run: ['-rf'] }] })],
    78,
    /finally\[0\]\.run\[0\]: "-rf" is not a program/,
  ],
  [
    'bad step timeout',
    ['drain', '--config-b64', b64({ ...withTarget({}), prepare: [{ run: ['true'], timeout: 'soon' }] })],
    78,
    /prepare\[0\]\.timeout: "soon" is not a duration/,
  ],
  [
    'step timeout too long',
    ['drain', '--config-b64', b64({ ...withTarget({}), prepare: [{ run: ['true'], timeout: '2h' }] })],
    78,
    /prepare\[0\]\.timeout: "2h" is too long/,
  ],
  [
    'step of unknown kind',
    ['drain', '--config-b64', b64({ ...withTarget({}), prepare: [{ rm: '/tmp/x' }] })],
    78,
    /prepare\[0\]: must have "touch" or "run"/,
  ],
  [
    'stop not argv',
    ['drain', '--config-b64', b64(withTarget({ stop: { run: [] } }))],
    78,
    /targets\[0\]\.stop\.run: must be a non-empty array/,
  ],
];

describe('invalid command lines and configs', () => {
  it('covers at least 40 cases', () => expect(cases.length).toBeGreaterThanOrEqual(40));

  it.each(cases)('%s', async (_what, argv, code, message) => {
    const run = await runAgent(argv, { input: '' });

    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/^\s+at /m); // no stack trace
    if (argv[0] === 'drain' && code === 78) {
      expect(run.report).toMatchObject({ outcome: 'error', exitCode: 78 });
      expect(run.summary).toMatch(/^fleet-drain v1 outcome=error exit=78 id=\S+ joined=0$/);
    }
  });
});
