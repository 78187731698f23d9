// A systemd target: units matching a name or glob. Restarts are held with a runtime drop-in (Restart=no, gone
// at the next boot) because a signal sent with `systemctl kill` is not a stop: Restart=always would bring
// the service back. Non-KILL signals go to the main process (like KillMode=mixed): master/worker services
// stop their own workers. KILL goes to the whole control group.

import { mkdirSync, writeFileSync } from 'node:fs';
import type { Signal } from './signals.js';
import { SIGKILL } from './signals.js';
import { cli, SupervisedTarget, type UnitState } from './supervised-target.js';
import type { DrainClock } from './target.js';

/** Where runtime drop-ins live (systemd.unit(5)); a test may point elsewhere. */
export const RUNTIME_UNIT_DIR = process.env.FLEET_DRAIN_SYSTEMD_RUNTIME_DIR ?? '/run/systemd/system';

const UNIT_TYPES = /\.(service|socket|device|mount|automount|swap|target|path|timer|slice|scope)$/;
const ACTIVE_STATES = new Set(['active', 'activating', 'deactivating', 'reloading', 'refreshing']);

export class SystemdTarget extends SupervisedTarget {
  private readonly pattern: string;

  constructor(name: string, unit: string, clock: DrainClock) {
    super(name, 'systemd', clock);
    this.pattern = UNIT_TYPES.test(unit) ? unit : `${unit}.service`;
  }

  protected async list(): Promise<string[]> {
    const { stdout } = await cli([
      'systemctl',
      'list-units',
      '--plain',
      '--no-legend',
      '--no-pager',
      '--full',
      '--state=active,activating,deactivating,reloading',
      '--',
      this.pattern,
    ]);
    return stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[0] ?? '')
      .filter((unit) => unit !== '' && UNIT_TYPES.test(unit));
  }

  protected async holdRestarts(units: string[]): Promise<void> {
    for (const unit of units) {
      const dir = `${RUNTIME_UNIT_DIR}/${unit}.d`;
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        `${dir}/50-fleet-drain.conf`,
        '# Written by fleet-drain-agent: a drained service must not restart.\n[Service]\nRestart=no\n',
      );
    }
    await cli(['systemctl', 'daemon-reload']);
  }

  protected async query(units: string[]): Promise<Map<string, UnitState>> {
    const { stdout } = await cli(['systemctl', 'show', '--property=Id,ActiveState,MainPID', '--', ...units]);
    const states = new Map<string, UnitState>();
    for (const block of stdout.split(/\n\s*\n/)) {
      const fields = Object.fromEntries(
        block
          .split('\n')
          .filter((line) => line.includes('='))
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      if (!fields.Id) continue;
      states.set(fields.Id, {
        running: ACTIVE_STATES.has(fields.ActiveState ?? ''),
        pid: Number(fields.MainPID) || 0,
      });
    }
    return states;
  }

  protected async send(units: string[], signal: Signal): Promise<void> {
    // --kill-who is the spelling systemd 219 (Amazon Linux 2) knows; newer versions accept it as an alias.
    const whom = signal.number === SIGKILL.number ? 'all' : 'main';
    await cli(['systemctl', 'kill', `--kill-who=${whom}`, `--signal=${signal.name}`, '--', ...units]);
  }
}
