// A Docker target: running containers with a label or a name. `docker update --restart=no` first, so that
// no restart policy brings a drained container back (each policy is recorded first, and put back by
// restart-policies.ts); signals go to the container's PID 1 (`docker kill`).

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

/** Docker's short container id, as its error messages name a container. */
const SHORT_ID_CHARS = 12;

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

  protected async sendTo(ids: string[], signal: Signal): Promise<string[]> {
    const result = await cli(
      ['docker', 'kill', `--signal=${signal.name}`, '--', ...ids],
      (r) => r.exitCode === 0 || onlyGone(r),
    );
    // docker names each container it could not signal on stderr.
    return result.exitCode === 0
      ? ids
      : ids.filter((id) => !result.stderr.includes(id.slice(0, SHORT_ID_CHARS)));
  }
}

const RESTART_FORMAT = '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}';

/** The `--restart` value for what `docker inspect` says (an empty name is the engine's old spelling of `no`). */
function restartPolicy(name = '', retries = '0'): string {
  if (name === 'on-failure' && Number(retries) > 0) return `on-failure:${retries}`;
  return name || 'no';
}

/** Exit 1 whose every complaint is about a container that is gone or stopped; a daemon error is not that. */
export function onlyGone(result: CommandResult): boolean {
  const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
  return (
    result.exitCode === 1 && lines.every((line) => /no such (container|object)|is not running/i.test(line))
  );
}
