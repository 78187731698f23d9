// The Run Command model on a manual clock: statuses, eventual consistency, timeouts, cancellation.

import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../twin/clock';
import { allowedErrors, CommandsModel, commandStatus, type RunResult } from '../../twin/commands';

const DOCUMENT = {
  schemaVersion: '2.2',
  parameters: {
    drainId: { type: 'String', allowedPattern: '^[a-z0-9-]+$', interpolationType: 'ENV_VAR' },
    mode: { type: 'String', default: 'fast' },
  },
  mainSteps: [
    {
      action: 'aws:runShellScript',
      name: 'drain',
      inputs: { timeoutSeconds: 600, runCommand: ['run {{ mode }} "$SSM_drainId"'] },
    },
  ],
};
const INSTANCE = 'i-00000000000000001';

let clock: ManualClock;
let model: CommandsModel;
let online: boolean;
let finish: ((result: RunResult) => void) | undefined;
let killed: number;
let statuses: string[];

beforeEach(() => {
  clock = new ManualClock();
  online = true;
  finish = undefined;
  killed = 0;
  statuses = [];
  model = new CommandsModel(
    clock,
    new Map([['FleetDrain', DOCUMENT]]),
    {
      isOnline: () => online,
      run: (_command, _instance, done) => {
        finish = done;
        return { kill: () => (killed += 1) };
      },
    },
    { invocationChanged: (_command, invocation) => statuses.push(invocation.status) },
    1000,
  );
});

const send = () => {
  const command = model.sendCommand({
    DocumentName: 'FleetDrain',
    InstanceIds: [INSTANCE],
    Parameters: { drainId: ['d-1'] },
    TimeoutSeconds: 120,
  });
  model.advance();
  return command;
};

describe('Run Command', () => {
  it('renders the step with ENV_VAR parameters and text substitution of {{ }} with defaults', () => {
    const command = send();
    expect(command.steps[0]).toMatchObject({
      script: 'run fast "$SSM_drainId"',
      env: { SSM_drainId: 'd-1' },
      executionTimeoutMs: 600_000,
    });
  });

  it('goes Pending → InProgress → Success, with the invocation hidden for a moment after SendCommand', () => {
    const command = send();
    expect(() => model.getInvocation(command.commandId, INSTANCE)).toThrow(
      expect.objectContaining({ code: 'InvocationDoesNotExist' }),
    );
    clock.advance(1000);
    finish?.({ exitCode: 0, stdout: 'ok', stderr: '' });
    expect(model.getInvocation(command.commandId, INSTANCE).invocation).toMatchObject({
      status: 'Success',
      responseCode: 0,
      stdout: 'ok',
    });
    expect(statuses).toEqual(['Pending', 'InProgress', 'Success']);
  });

  it('reports a non-zero exit as Failed with its ResponseCode', () => {
    const command = send();
    finish?.({ exitCode: 2, stdout: '', stderr: 'incomplete' });
    clock.advance(1000);
    expect(model.getInvocation(command.commandId, INSTANCE).invocation).toMatchObject({
      status: 'Failed',
      responseCode: 2,
    });
  });

  it('times out a run past its execution timeout and kills it', () => {
    const command = send();
    clock.advance(600_000);
    model.advance();
    expect(killed).toBe(1);
    finish?.({ exitCode: 137, stdout: '', stderr: '' });
    expect(model.getInvocation(command.commandId, INSTANCE).invocation).toMatchObject({
      status: 'TimedOut',
      statusDetails: 'Execution Timed Out',
    });
  });

  it('refuses an offline instance, and times out delivery to one that went offline after SendCommand', () => {
    online = false;
    expect(() => send()).toThrow(expect.objectContaining({ code: 'InvalidInstanceId' }));
    online = true;
    const command = model.sendCommand({
      DocumentName: 'FleetDrain',
      InstanceIds: [INSTANCE],
      Parameters: { drainId: ['d-2'] },
      TimeoutSeconds: 120,
    });
    online = false;
    // Not at TimeoutSeconds: at TimeoutSeconds plus the document's execution timeout (600 s), as
    // monitor-commands.html says of Pending.
    clock.advance(120_000 + 599_000);
    model.advance();
    expect(model.getInvocation(command.commandId, INSTANCE).invocation.status).toBe('Pending');
    clock.advance(1000);
    model.advance();
    expect(model.getInvocation(command.commandId, INSTANCE).invocation).toMatchObject({
      status: 'TimedOut',
      statusDetails: 'Delivery Timed Out',
    });
  });

  it('keeps a run whose host died InProgress until its execution timeout', () => {
    const command = send();
    clock.advance(599_000);
    model.advance();
    expect(model.getInvocation(command.commandId, INSTANCE).invocation.status).toBe('InProgress');
    clock.advance(1000);
    model.advance();
    expect(model.getInvocation(command.commandId, INSTANCE).invocation).toMatchObject({
      status: 'TimedOut',
      responseCode: 137,
    });
  });

  it('cancels: a running invocation goes through Cancelling to Cancelled', () => {
    const command = send();
    model.cancelCommand(command.commandId, [INSTANCE]);
    expect(killed).toBe(1);
    finish?.({ exitCode: 143, stdout: '', stderr: '' });
    expect(statuses).toEqual(['Pending', 'InProgress', 'Cancelling', 'Cancelled']);
    expect(() => model.cancelCommand('00000000-0000-0000-0000-000000000000', undefined)).toThrow(
      expect.objectContaining({ code: 'InvalidCommandId' }),
    );
  });
});

describe('document versions (UpdateMethod: NewVersion)', () => {
  const newVersion = () => {
    const updated = structuredClone(DOCUMENT);
    updated.mainSteps[0] = {
      ...DOCUMENT.mainSteps[0],
      inputs: { timeoutSeconds: 600, runCommand: ['v2'] },
    } as never;
    return model.addDocumentVersion('FleetDrain', updated);
  };
  const sendVersion = (DocumentVersion: string | undefined) =>
    model.sendCommand({
      DocumentName: 'FleetDrain',
      ...(DocumentVersion === undefined ? {} : { DocumentVersion }),
      InstanceIds: [INSTANCE],
      Parameters: { drainId: ['d-2'] },
    });

  it('a new version is not made the default: no version named runs the default, still version 1', () => {
    const first = send();
    expect(newVersion()).toBe(2);
    const second = send();
    expect(first.documentVersion).toBe(1);
    expect(second.documentVersion).toBe(1);
    expect(second.steps[0]?.script).toContain('run fast');
    expect(second.requestedVersion).toBe('$DEFAULT');
  });

  it('$LATEST runs the newest version; a number runs that one; a command keeps the version it was sent with', () => {
    const first = sendVersion('$LATEST');
    newVersion();
    const latest = sendVersion('$LATEST');
    expect(first.documentVersion).toBe(1);
    expect(first.steps[0]?.script).toContain('run fast');
    expect(latest.documentVersion).toBe(2);
    expect(latest.steps[0]?.script).toContain('v2');
    expect(latest.requestedVersion).toBe('$LATEST');
    expect(sendVersion('1').documentVersion).toBe(1);
    model.setDefaultVersion('FleetDrain', 2);
    expect(sendVersion(undefined).documentVersion).toBe(2);
    expect(() => sendVersion('3')).toThrow(/version 3 does not exist/);
    expect(() => sendVersion('latest')).toThrow(/version latest does not exist/);
  });
});

describe('output, as the SSM Agent cuts it and GetCommandInvocation returns it', () => {
  const SUFFIX = '--output truncated--';
  const run = (stdout: string, stderr = '') => {
    const command = send();
    finish?.({ exitCode: 0, stdout, stderr });
    clock.advance(1000);
    return model.getInvocation(command.commandId, INSTANCE).invocation;
  };

  it('keeps stdout whole under 24,000 bytes; at 24,000 and past it keeps 23,980 bytes and the suffix', () => {
    expect(run('a'.repeat(23_999)).stdout).toBe('a'.repeat(23_999));
    expect(run('a'.repeat(24_000)).stdout).toBe(`${'a'.repeat(23_980)}${SUFFIX}`);
    expect(run('a'.repeat(24_001)).stdout).toBe(`${'a'.repeat(23_980)}${SUFFIX}`);
    expect(run(`${'a'.repeat(23_980)}b${'c'.repeat(30_000)}`).stdout).toBe(`${'a'.repeat(23_980)}${SUFFIX}`);
  });

  it('counts bytes, not characters: 12,000 × "é" is 24,000 bytes', () => {
    expect(run('é'.repeat(11_999)).stdout).toBe('é'.repeat(11_999));
    expect(run('é'.repeat(12_000)).stdout).toBe(`${'é'.repeat(11_990)}${SUFFIX}`);
  });

  it('sends a character cut at the byte limit as one U+FFFD per byte kept of it, as Go’s JSON encoder does', () => {
    const tail = 'x'.repeat(100);
    expect(run(`${'a'.repeat(23_979)}é${tail}`).stdout).toBe(`${'a'.repeat(23_979)}\uFFFD${SUFFIX}`);
    expect(run(`${'a'.repeat(23_978)}€${tail}`).stdout).toBe(`${'a'.repeat(23_978)}\uFFFD\uFFFD${SUFFIX}`);
    expect(run(`${'a'.repeat(23_977)}😀${tail}`).stdout).toBe(
      `${'a'.repeat(23_977)}\uFFFD\uFFFD\uFFFD${SUFFIX}`,
    );
    expect(run(`${'a'.repeat(23_976)}😀${tail}`).stdout).toBe(`${'a'.repeat(23_976)}😀${SUFFIX}`);
  });

  it('cuts stderr at the same 24,000 bytes, then returns its first 8,000 characters', () => {
    expect(run('', 'e'.repeat(8_000)).stderr).toBe('e'.repeat(8_000));
    expect(run('', 'e'.repeat(30_000)).stderr).toBe('e'.repeat(8_000));
    expect(run('', '€'.repeat(7_999)).stderr).toBe('€'.repeat(7_999));
    // 8,000 × "€" is 24,000 bytes: the agent keeps 7,993 of them, a cut one, and the suffix; the API the first 8,000.
    expect(run('', '€'.repeat(8_000)).stderr).toBe(`${'€'.repeat(7_993)}\uFFFD${SUFFIX.slice(0, 6)}`);
  });
});

describe('a command to several instances (SendCommand takes up to 50 InstanceIds)', () => {
  const hosts = ['i-0000000000000000a', 'i-0000000000000000b', 'i-0000000000000000c'];
  let finishes: Map<string, (result: RunResult) => void>;
  let offline: Set<string>;
  let changes: [string, string][];
  let many: CommandsModel;

  beforeEach(() => {
    finishes = new Map();
    offline = new Set();
    changes = [];
    many = new CommandsModel(
      clock,
      new Map([['FleetDrain', DOCUMENT]]),
      {
        isOnline: (id) => !offline.has(id),
        run: (_command, instanceId, done) => {
          finishes.set(instanceId, done);
          return { kill: () => undefined };
        },
      },
      {
        invocationChanged: (_command, invocation) => changes.push([invocation.instanceId, invocation.status]),
      },
      1000,
    );
  });

  const sendTo = (instanceIds: string[], controls: { MaxErrors?: string; MaxConcurrency?: string } = {}) =>
    many.sendCommand({
      DocumentName: 'FleetDrain',
      InstanceIds: instanceIds,
      Parameters: { drainId: ['d-batch'] },
      TimeoutSeconds: 120,
      ...controls,
    });

  it('refuses more than 50 ids', () => {
    const ids = Array.from({ length: 51 }, (_, n) => `i-${n.toString(16).padStart(17, '0')}`);
    expect(() => sendTo(ids)).toThrow(
      expect.objectContaining({
        code: 'ValidationException',
        message: expect.stringContaining('Member must have length less than or equal to 50'),
      }),
    );
    expect(sendTo(ids.slice(0, 50)).invocations.size).toBe(50);
  });

  it('refuses the whole call when one instance is unreachable, naming it: nothing is sent to the others', () => {
    offline.add(hosts[1] as string);
    expect(() => sendTo(hosts)).toThrow(
      expect.objectContaining({
        code: 'InvalidInstanceId',
        message: expect.stringContaining(`[[${hosts[1]}]]`),
      }),
    );
    expect(changes).toEqual([]);
  });

  it('runs one invocation per instance, each with its own status and status events; the command’s waits for all', () => {
    const command = sendTo(hosts, { MaxErrors: '100%' });
    many.advance();
    clock.advance(1000);
    expect(changes.filter(([, status]) => status === 'InProgress').map(([id]) => id)).toEqual(hosts);
    finishes.get(hosts[0] as string)?.({ exitCode: 0, stdout: 'drained', stderr: '' });
    finishes.get(hosts[1] as string)?.({ exitCode: 2, stdout: '', stderr: 'incomplete' });
    const statusOf = () =>
      many
        .listInvocations({ commandId: command.commandId })
        .items.map(({ invocation }) => [invocation.instanceId, invocation.status]);
    expect(statusOf()).toEqual([
      [hosts[0], 'Success'],
      [hosts[1], 'Failed'],
      [hosts[2], 'InProgress'],
    ]);
    // One status for the command while any invocation runs, then the worst of theirs.
    expect(commandStatus(command)).toBe('InProgress');
    finishes.get(hosts[2] as string)?.({ exitCode: 0, stdout: 'drained', stderr: '' });
    expect(commandStatus(command)).toBe('Failed');
    expect(changes.filter(([id]) => id === hosts[1])).toEqual([
      [hosts[1], 'Pending'],
      [hosts[1], 'InProgress'],
      [hosts[1], 'Failed'],
    ]);
  });

  it('with SSM’s default MaxErrors 0, is Failed, terminal, at the first failed host while the others still run', () => {
    const command = sendTo(hosts);
    many.advance();
    clock.advance(1000);
    finishes.get(hosts[1] as string)?.({ exitCode: 2, stdout: '', stderr: 'incomplete' });
    expect(commandStatus(command)).toBe('Failed');
    expect(many.listCommands({ filters: [{ key: 'ExecutionStage', value: 'Executing' }] }).items).toEqual([]);
    // Invocations already running go on.
    expect(many.getInvocation(command.commandId, hosts[2] as string).invocation.status).toBe('InProgress');
  });

  it('with MaxErrors 1 of three, fails on the second error; with 100% only once every host ended', () => {
    const failOn = (id: string) => finishes.get(id)?.({ exitCode: 1, stdout: '', stderr: 'failed' });
    const one = sendTo(hosts, { MaxErrors: '1' });
    many.advance();
    expect(allowedErrors(one)).toBe(1);
    failOn(hosts[0] as string);
    expect(commandStatus(one)).toBe('InProgress');
    failOn(hosts[1] as string);
    expect(commandStatus(one)).toBe('Failed');

    const all = sendTo(hosts, { MaxErrors: '100%' });
    many.advance();
    expect(allowedErrors(all)).toBe(3);
    failOn(hosts[0] as string);
    failOn(hosts[1] as string);
    expect(commandStatus(all)).toBe('InProgress');
    failOn(hosts[2] as string);
    expect(commandStatus(all)).toBe('Failed');
  });

  it('does not count a delivery timeout against MaxErrors: the command runs on while a host still drains', () => {
    const command = sendTo(hosts);
    offline.add(hosts[0] as string).add(hosts[2] as string);
    many.advance();
    finishes.get(hosts[1] as string)?.({ exitCode: 0, stdout: 'drained', stderr: '' });
    // Host 0 comes back and starts late; host 2 never does, and its delivery times out.
    clock.advance(500_000);
    offline.delete(hosts[0] as string);
    many.advance();
    clock.advance(220_000);
    many.advance();
    expect(many.getInvocation(command.commandId, hosts[2] as string).invocation.statusDetails).toBe(
      'Delivery Timed Out',
    );
    expect(many.getInvocation(command.commandId, hosts[0] as string).invocation.status).toBe('InProgress');
    expect(commandStatus(command)).toBe('InProgress');
  });

  it('refuses a MaxErrors or MaxConcurrency outside SendCommand’s patterns', () => {
    for (const controls of [{ MaxErrors: '101%' }, { MaxErrors: '-1' }, { MaxConcurrency: '0' }]) {
      expect(() => sendTo(hosts, controls)).toThrow(
        expect.objectContaining({
          code: 'ValidationException',
          message: expect.stringContaining('Member must satisfy regular expression pattern'),
        }),
      );
    }
  });

  it('times out delivery to one instance that went offline while the others run', () => {
    const command = sendTo(hosts);
    offline.add(hosts[2] as string);
    many.advance();
    for (const id of hosts.slice(0, 2)) finishes.get(id)?.({ exitCode: 0, stdout: 'drained', stderr: '' });
    clock.advance(120_000 + 600_000);
    many.advance();
    expect(many.getInvocation(command.commandId, hosts[2] as string).invocation).toMatchObject({
      status: 'TimedOut',
      statusDetails: 'Delivery Timed Out',
    });
    expect(many.getInvocation(command.commandId, hosts[0] as string).invocation.status).toBe('Success');
    expect(commandStatus(command)).toBe('TimedOut');
  });
});
