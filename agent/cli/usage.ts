// What the agent says about its own use: its version, its --help text, and the error for a user's mistake.

import { DEFAULT_STATE_DIR } from '../drain/drain-state.js';
import { EXIT } from '../report/exit-codes.js';

declare const __VERSION__: string;
export const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

export const HELP = `fleet-drain-agent ${VERSION}: stop the work on this host gracefully before it is terminated.

Usage:
  fleet-drain-agent drain  (--config FILE|- | --config-b64 B64) [--id DRAIN_ID]
                           [--deadline ISO8601|DURATION] [--action drain|prepare]
                           [--state-dir DIR] [--dry-run]
  fleet-drain-agent plan   (--config FILE|- | --config-b64 B64)
  fleet-drain-agent status [--state-dir DIR]
  fleet-drain-agent restore --id DRAIN_ID [--state-dir DIR]
  fleet-drain-agent --help | --version

drain   runs the policy: prepare steps, each target's schedule, finally steps. Prints a summary line
        (fleet-drain v1 outcome=… exit=… id=… joined=0|1), then one JSON report, on stdout, and JSON
        log lines on stderr. A second drain joins the running one (with an earlier --deadline,
        it moves that drain's deadline to its own), or, with the same --id, replays its report
        once it has finished: no signal is ever sent twice.
plan    prints what each target would match and its schedule. Signals nothing. Exits 2 when a
        target has an error (an unknown user, a failing supervisor CLI).
status  prints the current or last drain as JSON: running only while its agent lives, else
        abandoned, with what to do.
restore undoes what a drain whose agent was killed changed on the host (containers' restart policies,
        systemd drop-ins, files its touch steps created); \`run\` steps cannot be undone. A drain that makes
        such changes starts a guardian (\`guard\`, in a session of its own) that does this by itself when
        the agent is killed.

Options:
  --config FILE|-     the drain policy as JSON (- reads stdin)
  --config-b64 B64    the drain policy as base64-encoded JSON
  --id DRAIN_ID       drain id (letters, digits, -; the lifecycle action token). Default: a new one
  --deadline WHEN     when the drain must be over: an ISO 8601 UTC time or a duration from now (90s, 10m,
                      2h). Every wait is clipped so that the last step of each schedule still fits
  --action ACTION     drain (default): everything; prepare: only the prepare steps, nothing signalled,
                      outcome prepared (exit 0); a later drain with another id then runs in full
  --state-dir DIR     lock and state files (default ${DEFAULT_STATE_DIR})
  --dry-run           find the targets and report them; run no step, send no signal

Exit codes: 0 drained (or nothing to drain, or prepared) · 3 drained, some only after KILL · 2 still running when
the schedule or the deadline ran out, or a target could not be handled (plan: a target has an error) ·
4 the agent was interrupted (TERM/INT) · 64 usage error · 78 invalid config or state dir · 70 internal error.
`;

/** A user's mistake: message and exit code, no stack trace. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
  }
}
