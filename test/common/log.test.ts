// The JSON-line logger the agent writes its stderr with, and the keys its lines share with the Lambda's.
import { describe, expect, it } from 'vitest';
import { createLogger, LOG_KEYS } from '../../common/log.js';

const capture = () => {
  const lines: string[] = [];
  return { lines, write: (line: string) => lines.push(line), parsed: () => lines.map((l) => JSON.parse(l)) };
};

describe('createLogger', () => {
  it('writes one JSON object a line: time, level, message, then the fields', () => {
    const out = capture();
    createLogger({ fields: { drainId: 'd-1' }, write: out.write }).log('info', 'target found', {
      processes: 2,
    });
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]?.endsWith('}\n')).toBe(true);
    const [line] = out.parsed();
    expect(Object.keys(line)).toEqual(['time', 'level', 'message', 'drainId', 'processes']);
    expect(line).toMatchObject({ level: 'info', message: 'target found', drainId: 'd-1', processes: 2 });
    expect(Number.isNaN(Date.parse(line.time))).toBe(false);
  });

  it('adds the fields of `with` to every line of the logger it returns, not to its own', () => {
    const out = capture();
    const log = createLogger({ fields: { drainId: 'd-1' }, write: out.write });
    log.with({ target: 'workers' }).log('warn', 'target done');
    log.log('info', 'drain finished');
    expect(out.parsed()).toMatchObject([
      { drainId: 'd-1', target: 'workers' },
      { drainId: 'd-1', message: 'drain finished' },
    ]);
    expect(out.parsed()[1]).not.toHaveProperty('target');
  });

  it('drops the lines below its minimum level, in the loggers `with` returns too', () => {
    const out = capture();
    const log = createLogger({ write: out.write, minLevel: 'warn' });
    for (const level of ['debug', 'info', 'warn', 'error'] as const) log.with({ n: 1 }).log(level, level);
    expect(out.parsed().map((line) => line.level)).toEqual(['warn', 'error']);
  });

  it('keeps every level by default', () => {
    const out = capture();
    createLogger({ write: out.write }).log('debug', 'detail');
    expect(out.lines).toHaveLength(1);
  });
});

describe('LOG_KEYS', () => {
  it('names a drain by the keys the Lambda logs', () => {
    expect(Object.values(LOG_KEYS)).toEqual([
      'drainId',
      'instanceId',
      'autoScalingGroupName',
      'lifecycleHookName',
      'commandId',
    ]);
  });
});
