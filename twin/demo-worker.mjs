// The drill's demo workers, one process each, run inside a twin instance:
//   queue — a job-queue worker: on TERM it finishes its job (0.3–0.8 s) and exits;
//   slow  — the same with a long job (2–3 s);
//   stuck — ignores TERM: only the schedule's KILL stops it.
// With DEMO_IGNORE_TERM=1 a queue or slow worker ignores TERM too (a job that hangs).
// argv: KIND INSTANCE_ID. Every event goes to $DEMO_LOG as a JSON line with a wall-clock time, so the drill
// can tell when the last worker of an instance stopped and whether any got a graceful signal twice.
import { appendFileSync } from 'node:fs';

const [kind, instanceId] = process.argv.slice(2);
const record = (event, fields = {}) =>
  appendFileSync(
    process.env.DEMO_LOG,
    `${JSON.stringify({ at: Date.now(), pid: process.pid, kind, instanceId, event, ...fields })}\n`,
  );
setInterval(() => {}, 1 << 30);
const jobMs = kind === 'slow' ? 2000 + Math.random() * 1000 : 300 + Math.random() * 500;
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT']) {
  process.on(signal, () => {
    record('signal', { signal });
    if (kind !== 'stuck' && process.env.DEMO_IGNORE_TERM !== '1' && signal === 'SIGTERM') {
      setTimeout(() => {
        record('exit');
        process.exit(0);
      }, jobMs);
    }
  });
}
process.on('exit', () => {});
record('ready');
