// A Docker target: running containers with a label or a name. `docker update --restart=no` first, so the
// restart policy cannot bring a drained container back; signals go to the container's PID 1 (`docker kill`).
// `docker update` is permanent, unlike systemd's runtime drop-in: a warm-pool instance that is stopped and
// started again would keep every container at `no`. So each container's policy is recorded before it is
// changed and put back once the targets are done (restoreRestartPolicies), on containers that have stopped
// only: docker would restart a running one under a restored policy once it exits, on an instance being
// terminated. Putting a policy back starts nothing. Nor does it undo what `docker kill` did: since Docker 17
// it marks the container manually stopped (any signal, not only KILL), so at the next boot a restored
// `unless-stopped` container stays down, an `on-failure` one comes back only if it exited non-zero (KILL is
// 137; a worker that stopped cleanly on TERM exits 0), and only `always` reliably comes back.

import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { CommandResult } from '../host/run-command.js';
import type { Signal } from '../host/signals.js';
import { cli, SupervisedTarget, type UnitState } from './supervised-target.js';
import type { DrainClock } from './target.js';

/** The restart policies a drain turned off, by container id (`always`, `on-failure:3` …). */
export interface RestartPolicies {
  byId: Record<string, string>;
  /** Persists `byId` (the drain state), called before any policy changes: it must outlive this agent. */
  save: () => void;
}

export class DockerTarget extends SupervisedTarget {
  private readonly restarts: RestartPolicies;

  constructor(
    name: string,
    private readonly filter: { label?: string; name?: string },
    clock: DrainClock,
    options: { restarts?: RestartPolicies; spared?: ReadonlySet<string> } = {},
  ) {
    super(name, 'docker', clock, options.spared);
    this.restarts = options.restarts ?? { byId: {}, save: () => {} };
  }

  protected async list(): Promise<string[]> {
    const filter =
      this.filter.label !== undefined ? `label=${this.filter.label}` : `name=^/?${this.filter.name}$`;
    const { stdout } = await cli(['docker', 'ps', '--quiet', '--no-trunc', '--filter', filter]);
    return stdout
      .split('\n')
      .map((line) => line.trim())
      .filter((id) => /^[0-9a-f]{12,64}$/.test(id));
  }

  protected async holdRestarts(ids: string[]): Promise<void> {
    // A container that exited meanwhile (an --rm job) makes docker exit 1 for it alone: not an error.
    const { stdout } = await cli(
      ['docker', 'inspect', '--format', `{{.Id}} ${RESTART_FORMAT}`, '--', ...ids],
      (r) => r.exitCode === 0 || onlyGone(r),
    );
    for (const line of stdout.split('\n')) {
      const [id, name, retries] = line.trim().split(' ');
      // A resumed drain keeps what the first agent recorded: docker says `no` for those by now.
      if (id) this.restarts.byId[id] ??= restartPolicy(name, retries);
    }
    this.restarts.save();
    await cli(['docker', 'update', '--restart=no', '--', ...ids], (r) => r.exitCode === 0 || onlyGone(r));
  }

  protected async query(ids: string[]): Promise<Map<string, UnitState>> {
    // A container removed meanwhile (--rm) makes inspect exit 1 for it but still print the others.
    const { stdout } = await cli(
      ['docker', 'inspect', '--format', '{{.Id}} {{.State.Running}} {{.State.Pid}}', '--', ...ids],
      (result) => result.exitCode === 0 || onlyGone(result),
    );
    const states = new Map<string, UnitState>();
    for (const line of stdout.split('\n')) {
      const [id, running, pid] = line.trim().split(' ');
      if (id) states.set(id, { running: running === 'true', pid: Number(pid) || 0 });
    }
    return states;
  }

  protected async send(ids: string[], signal: Signal): Promise<string[]> {
    const result = await cli(
      ['docker', 'kill', `--signal=${signal.name}`, '--', ...ids],
      (r) => r.exitCode === 0 || onlyGone(r),
    );
    // docker names each container it could not signal on stderr.
    return result.exitCode === 0 ? ids : ids.filter((id) => !result.stderr.includes(id.slice(0, 12)));
  }
}

const RESTART_FORMAT = '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}';

/** The `--restart` value for what `docker inspect` says (an empty name is the engine's old spelling of `no`). */
function restartPolicy(name = '', retries = '0'): string {
  if (name === 'on-failure' && Number(retries) > 0) return `on-failure:${retries}`;
  return name || 'no';
}

/**
 * Puts back the restart policies a drain turned off (by target name, then container id), one `docker
 * update` per policy, on containers that have stopped: one `docker inspect` says which. Runs whatever the
 * outcome (forced, incomplete, interrupted): a policy left at `no` outlives the drain. A container still
 * running keeps `no` (docker would restart it under its own policy once it exits, on an instance that is
 * being terminated): logged, and left in `byTarget`; so is one whose policy could not be put back. Restored
 * and removed containers leave `byTarget`. Never throws: the drain's work is done by now. Returns, by target
 * name, what failed, for the target's `error` in the report.
 */
export async function restoreRestartPolicies(
  byTarget: Record<string, Record<string, string>>,
  log: Logger,
  /** Restore running containers too: the drain was undone and the instance may go back into service. */
  includeRunning = false,
): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  // A container two targets select has an entry under each; the second found it at `no` already.
  const policyOf = new Map<string, string>();
  const targetsOf = new Map<string, string[]>();
  for (const [target, byId] of Object.entries(byTarget)) {
    for (const [id, policy] of Object.entries(byId)) {
      targetsOf.set(id, [...(targetsOf.get(id) ?? []), target]);
      if (policy !== 'no') policyOf.set(id, policy);
    }
  }
  const forget = (ids: Iterable<string>) => {
    for (const id of ids) for (const target of targetsOf.get(id) ?? []) delete byTarget[target]?.[id];
  };
  const fail = (ids: string[], message: string) => {
    for (const target of new Set(ids.flatMap((id) => targetsOf.get(id) ?? []))) {
      const before = failed.get(target);
      failed.set(target, before ? `${before}; ${message}` : message);
    }
  };
  // Nothing to put back where the policy was `no` already.
  forget([...targetsOf.keys()].filter((id) => !policyOf.has(id)));
  const ids = [...policyOf.keys()];
  if (ids.length === 0) return failed;

  const running = new Set<string>();
  const present = new Set<string>();
  try {
    // A container removed meanwhile (--rm) has no policy left to put back: not a failure.
    const { stdout } = await cli(
      ['docker', 'inspect', '--format', '{{.Id}} {{.State.Running}}', '--', ...ids],
      (r) => r.exitCode === 0 || onlyGone(r),
    );
    for (const line of stdout.split('\n')) {
      const [id, state] = line.trim().split(' ');
      if (!id) continue;
      present.add(id);
      if (state !== 'false' && !includeRunning) running.add(id);
    }
  } catch (error) {
    // Whatever failed (cli only throws CliError), it must not cost the drain its report.
    const message = errorMessage(error);
    log.log('warn', 'cannot restore the restart policy of drained containers', {
      containers: ids,
      error: message,
    });
    fail(ids, `restart policies not restored: ${message}`);
    return failed;
  }
  forget(ids.filter((id) => !present.has(id)));
  const stillRunning = ids.filter((id) => running.has(id));
  if (stillRunning.length > 0) {
    log.log('warn', 'restart policy left at no: the container is still running', {
      containers: stillRunning.map((id) => ({ id, restart: policyOf.get(id) })),
    });
  }

  const byPolicy = new Map<string, string[]>();
  for (const id of ids) {
    if (!present.has(id) || running.has(id)) continue;
    const policy = policyOf.get(id) as string;
    byPolicy.set(policy, [...(byPolicy.get(policy) ?? []), id]);
  }
  for (const [policy, stopped] of byPolicy) {
    try {
      await cli(
        ['docker', 'update', `--restart=${policy}`, '--', ...stopped],
        (r) => r.exitCode === 0 || onlyGone(r),
      );
      forget(stopped);
      log.log('info', 'restart policy restored', { restart: policy, containers: stopped.length });
    } catch (error) {
      const message = errorMessage(error);
      log.log('warn', 'cannot restore the restart policy of drained containers', {
        restart: policy,
        containers: stopped,
        error: message,
      });
      fail(stopped, `restart policy ${policy} not restored: ${message}`);
    }
  }
  return failed;
}

/** Exit 1 whose every complaint is about a container that is gone or stopped; a daemon error is not that. */
function onlyGone(result: CommandResult): boolean {
  const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
  return (
    result.exitCode === 1 && lines.every((line) => /no such (container|object)|is not running/i.test(line))
  );
}
