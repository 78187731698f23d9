// Prints the presets tables of agent/README.md from agent/policy/presets.ts and the agent's deadline clipping,
// so the docs are written from the code. `npx tsx scripts/presets-table.mjs`; test/agent/readme.test.ts
// checks that agent/README.md carries both tables.
import { waitEndMs } from '../agent/drain/escalate.ts';
import { PRESETS } from '../agent/policy/presets.ts';
import { parseSchedule } from '../agent/policy/schedule.ts';

export function presetsTable() {
  const rows = Object.entries(PRESETS).map(
    ([name, { schedule, why }]) => `| \`${name}\` | \`${schedule}\` | ${why} |`,
  );
  return ['| preset | schedule | why |', '| --- | --- | --- |', ...rows].join('\n');
}

/** How far before a spot interruption the drain's deadline falls, by default: 120 s of warning less 20 s. */
export const SPOT_DEADLINE_S = 100;

/**
 * What a schedule does to a worker that never exits when the deadline is `deadlineMs` after the drain
 * starts: each signal with the drain-clock time it is sent at, and when the last wait ends. The waits are
 * clipped by the agent's own waitEndMs.
 */
export function underDeadline(schedule, deadlineMs) {
  const { steps } = parseSchedule(schedule);
  const signals = [];
  let atMs = 0;
  steps.forEach((step, index) => {
    if ('signal' in step) signals.push({ signal: step.signal.name, atMs });
    else atMs = waitEndMs(steps, index, atMs, deadlineMs);
  });
  return { signals, endMs: atMs };
}

const seconds = (ms) => `${Math.round(ms / 100) / 10} s`;

export function spotDeadlineTable(deadlineS = SPOT_DEADLINE_S) {
  const rows = Object.entries(PRESETS).map(([name, { schedule }]) => {
    const { signals, endMs } = underDeadline(schedule, deadlineS * 1000);
    const [first, second] = signals;
    const sent = signals.map(({ signal, atMs }) => `${signal} ${seconds(atMs)}`).join(' · ');
    const graceful = second ? seconds(second.atMs - first.atMs) : '-';
    return `| \`${name}\` | ${sent} | ${graceful} | ${seconds(endMs)} |`;
  });
  return [
    `| preset | signals sent (s after the drain starts) | until the next signal | done by |`,
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(presetsTable());
  console.log();
  console.log(spotDeadlineTable());
}
