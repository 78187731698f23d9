// A Docker target: running containers with a label or a name. `docker update --restart=no` first, so the
// restart policy cannot bring a drained container back; signals go to the container's PID 1 (`docker kill`).

import type { Signal } from './signals.js';
import { cli, SupervisedTarget, type UnitState } from './supervised-target.js';
import type { DrainClock } from './target.js';

export class DockerTarget extends SupervisedTarget {
  constructor(
    name: string,
    private readonly filter: { label?: string; name?: string },
    clock: DrainClock,
  ) {
    super(name, 'docker', clock);
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
    await cli(['docker', 'update', '--restart=no', '--', ...ids]);
  }

  protected async query(ids: string[]): Promise<Map<string, UnitState>> {
    // A container removed meanwhile (--rm) makes inspect exit 1 for it but still print the others.
    const { stdout } = await cli(
      ['docker', 'inspect', '--format', '{{.Id}} {{.State.Running}} {{.State.Pid}}', '--', ...ids],
      (result) => result.exitCode === 0 || (result.exitCode === 1 && !result.spawnError),
    );
    const states = new Map<string, UnitState>();
    for (const line of stdout.split('\n')) {
      const [id, running, pid] = line.trim().split(' ');
      if (id) states.set(id, { running: running === 'true', pid: Number(pid) || 0 });
    }
    return states;
  }

  protected async send(ids: string[], signal: Signal): Promise<void> {
    // A container that stopped between the query and the kill makes docker exit 1: not an error of ours.
    await cli(
      ['docker', 'kill', `--signal=${signal.name}`, '--', ...ids],
      (result) => result.exitCode === 0 || result.exitCode === 1,
    );
  }
}
