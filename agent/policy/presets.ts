// Schedules for common worker systems, so that nobody has to remember that QUIT is graceful for nginx but a
// cold shutdown for Celery. Each `why` is what the worker does with each signal; the README's table is
// generated from this list.

export interface Preset {
  schedule: string;
  why: string;
}

export const PRESETS = {
  celery: {
    schedule: 'TERM/10m/QUIT/30s/KILL/5s',
    why: 'TERM is a warm shutdown (running tasks finish); QUIT is a cold shutdown. A second TERM also aborts tasks, so the schedule never repeats it.',
  },
  sidekiq: {
    schedule: 'TERM/30s/KILL/5s',
    why: "TERM stops fetching, waits up to Sidekiq's -t timeout (25s by default) and pushes unfinished jobs back to Redis. TSTP (quiet) never exits on its own, so it is not used. Raise -t and this wait together.",
  },
  gunicorn: {
    schedule: 'TERM/35s/INT/5s/KILL/5s',
    why: 'TERM is a graceful shutdown bounded by graceful_timeout (30s by default); INT and QUIT are quick shutdowns. Signal the arbiter only: it stops its workers.',
  },
  nginx: {
    schedule: 'QUIT/5m/TERM/10s/KILL/5s',
    why: 'QUIT is the graceful shutdown (open requests finish); TERM and INT are fast shutdowns.',
  },
  puma: {
    schedule: 'TERM/1m/KILL/5s',
    why: 'TERM makes Puma stop accepting connections and finish open requests (bounded by force_shutdown_after).',
  },
  rq: {
    schedule: 'TERM/10m/TERM/20s/KILL/5s',
    why: 'The first TERM is a warm shutdown (the current job finishes); a second TERM is a cold shutdown that kills the work horse and records the job as failed, which is better than KILL.',
  },
  dramatiq: {
    schedule: 'TERM/10m/KILL/5s',
    why: 'TERM (or INT) stops consuming and lets workers finish their messages; HUP would reload instead of stopping.',
  },
  lava: {
    schedule: 'HUP/10m/HUP/20s/KILL/5s',
    why: 'The first HUP finishes the running jobs and exits; a second HUP aborts them. Pair it with a prepare step that touches the __nodispatch__ file.',
  },
  procrastinate: {
    schedule: 'TERM/10m/TERM/20s/KILL/5s',
    why: 'The first TERM (or INT) waits for running jobs; a second one aborts them.',
  },
  faust: {
    schedule: 'TERM/5m/KILL/5s',
    why: 'TERM stops the worker gracefully (commits offsets). KILL would leave its double-forked children behind; the agent also kills what is left in the process group and session.',
  },
  node: {
    schedule: 'TERM/30s/KILL/5s',
    why: 'The Node.js convention: on TERM, close the server, finish in-flight work, exit.',
  },
} as const satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;

/** The schedule used when a target names neither a schedule nor a preset (start-stop-daemon's TERM/30/KILL/5). */
export const DEFAULT_SCHEDULE = 'TERM/30s/KILL/5s';
