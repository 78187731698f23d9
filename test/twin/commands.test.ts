// The Run Command model on a manual clock: statuses, eventual consistency, timeouts, cancellation.

import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../twin/clock';
import { CommandsModel, type RunResult } from '../../twin/commands';

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
