// Prints the presets table of agent/README.md from agent/policy/presets.ts, so the docs are written from the schema.
// `npx tsx scripts/presets-table.mjs`; test/agent/readme.test.ts checks that agent/README.md carries this table.
import { PRESETS } from '../agent/policy/presets.ts';

export function presetsTable() {
  const rows = Object.entries(PRESETS).map(
    ([name, { schedule, why }]) => `| \`${name}\` | \`${schedule}\` | ${why} |`,
  );
  return ['| preset | schedule | why |', '| --- | --- | --- |', ...rows].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(presetsTable());
