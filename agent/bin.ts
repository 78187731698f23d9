// Entry point of dist/fleet-drain-agent.js: wires the process (signals, stdio, exit code) to main().

import { readFileSync } from 'node:fs';
import { describeError } from '../common/errors.js';
import { createLogger } from '../common/log.js';
import { main } from './cli/main.js';
import { EXIT } from './report/exit-codes.js';

const abort = new AbortController();
// TERM or INT (an SSM cancel, an operator's Ctrl-C): stop escalating, report, exit 4.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => abort.abort(signal));
// The shell SSM ran us from may go away; the drain goes on and reports all the same.
process.on('SIGHUP', () => {});

main(
  process.argv.slice(2),
  {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readStdin: () => readFileSync(0, 'utf8'),
    env: process.env,
  },
  abort.signal,
).then(
  // Exit as soon as the report is out, not once Node has torn its heap down (milliseconds, for nothing):
  // on Linux, writes to a pipe or a file are synchronous, so nothing printed is lost.
  (code) => process.exit(code),
  (error: unknown) => {
    createLogger().log('error', 'internal error', { error: describeError(error) });
    process.exit(EXIT.internal);
  },
);
