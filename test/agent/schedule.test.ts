import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { waitEndMs } from '../../agent/drain/escalate.js';
import { parseSignal } from '../../agent/host/signals.js';
import { formatDuration, parseDuration } from '../../agent/policy/duration.js';
import { PRESETS } from '../../agent/policy/presets.js';
import {
  FINAL_KILL_WAIT_MS,
  finalStepMs,
  parseSchedule,
  ScheduleError,
} from '../../agent/policy/schedule.js';

describe('parseDuration', () => {
  it.each([
    ['30', 30_000],
    ['30s', 30_000],
    ['10m', 600_000],
    ['2h', 7_200_000],
    ['500ms', 500],
    ['1.5s', 1_500],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', 's', '5x', '-1s', '1e3', '10 m'])('%j is not a duration', (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );

  it('formats any whole number of milliseconds back to the same duration', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 48 * 3_600_000 }),
        (ms) => parseDuration(formatDuration(ms)) === ms,
      ),
    );
  });
});

describe('parseSignal', () => {
  it.each([
    ['TERM', 'TERM', 15],
    ['SIGTERM', 'TERM', 15],
    ['sigterm', 'TERM', 15],
    ['15', 'TERM', 15],
    ['HUP', 'HUP', 1],
    ['USR1', 'USR1', 10],
    ['40', '40', 40],
  ])('%s', (text, name, number) => expect(parseSignal(text)).toEqual({ name, number }));

  it.each(['0', '65', 'TERMINATE', 'SIG', ''])('%j is not a signal', (text) =>
    expect(parseSignal(text)).toBeUndefined(),
  );
});

describe('parseSchedule', () => {
  it.each([
    ['TERM/30s/KILL/5s', 'TERM/30s/KILL/5s'],
    ['TERM/30s', 'TERM/30s/KILL/5s'],
    ['QUIT/30s/TERM/10s/KILL', 'QUIT/30s/TERM/10s/KILL/5s'],
    ['SIGHUP/10m/1/20s/9/5s', 'HUP/10m/HUP/20s/KILL/5s'],
    ['30s', 'TERM/30s/KILL/30s'],
    ['10s/KILL/5s', '10s/KILL/5s'],
    ['TERM/KILL', 'TERM/KILL/5s'],
    ['TERM/500ms/KILL/0', 'TERM/500ms/KILL/0s'],
    ['15/30/9/5', 'TERM/30s/KILL/5s'],
    ['TERM/90s', 'TERM/90s/KILL/5s'],
  ])('%s → %s', (text, normal) => expect(parseSchedule(text).text).toBe(normal));

  it('implies the final KILL and its wait', () => {
    const { steps } = parseSchedule('TERM/1m');
    expect(steps.at(-2)).toEqual({ signal: { name: 'KILL', number: 9 } });
    expect(steps.at(-1)).toEqual({ waitMs: FINAL_KILL_WAIT_MS });
  });

  it.each([
    ['', /item 1 is empty/],
    ['TERM//KILL', /item 2 is empty/],
    ['TERM/5x', /"5x" is neither a signal/],
    ['TERM/30s/10s', /follows another duration/],
    ['KILL/5s/TERM', /"5s" after KILL must be the last item/],
    ['KILL/TERM', /follows KILL/],
    ['TERM/forever', /forever/],
    ['TERM', /needs a wait before the implied KILL/],
    ['TERM/49h', /longer than the 48h/],
    [
      '9',
      /"9" alone is ambiguous: write 9s for TERM\/9s\/KILL\/9s, or a signal with a wait such as KILL\/5s/,
    ],
    [' 30 ', /"30" alone is ambiguous/],
  ])('%j is refused: %s', (text, message) => expect(() => parseSchedule(text)).toThrow(message));

  it('throws ScheduleError (not a crash) on any string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        try {
          const schedule = parseSchedule(text);
          const last = schedule.steps.at(-2);
          return last !== undefined && 'signal' in last && last.signal.name === 'KILL';
        } catch (error) {
          return error instanceof ScheduleError;
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('every preset parses and ends with KILL', () => {
    for (const [name, preset] of Object.entries(PRESETS)) {
      expect(parseSchedule(preset.schedule).text, name).toMatch(/\/KILL\/\d+s$/);
    }
  });
});

describe('deadline clipping', () => {
  const { steps } = parseSchedule('HUP/10m/HUP/20s/KILL/5s');

  it('leaves waits alone without a deadline', () => {
    expect(waitEndMs(steps, 1, 0, undefined)).toBe(600_000);
  });

  it('ends an earlier wait where the final step still fits', () => {
    expect(finalStepMs(steps)).toBe(5_000);
    expect(waitEndMs(steps, 1, 0, 60_000)).toBe(55_000);
    expect(waitEndMs(steps, 3, 55_000, 60_000)).toBe(55_000);
  });

  it('never clips the final wait, and never ends a wait before it starts', () => {
    expect(waitEndMs(steps, 5, 59_000, 60_000)).toBe(64_000);
    expect(waitEndMs(steps, 1, 58_000, 60_000)).toBe(58_000);
  });

  it('ends every clipped wait so that the last signal comes no later than deadline − final wait', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3_600_000 }),
        fc.integer({ min: 0, max: 3_600_000 }),
        (start, deadline) => {
          const end = waitEndMs(steps, 1, start, deadline);
          return end >= start && end <= start + 600_000 && (end <= deadline - 5_000 || end === start);
        },
      ),
    );
  });
});
