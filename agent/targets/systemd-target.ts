// A systemd target: units matching a name or glob. Restarts are held with a runtime drop-in (Restart=no, gone
// at the next boot) because a signal sent with `systemctl kill` is not a stop: Restart=always would bring
// the service back. Non-KILL signals go to the main process (like KillMode=mixed): master/worker services
// stop their own workers. KILL goes to the whole control group.

import { readFileSync, writeFileSync } from 'node:fs';
import { MAX_ANCESTRY_HOPS, type ProcReader, procReader } from '../host/proc.js';
import { makeDirs } from '../host/safe-fs.js';
import type { Signal } from '../host/signals.js';
import { SIGKILL } from '../host/signals.js';
import { cli, SupervisedTarget, type UnitState } from './supervised-target.js';
import type { DrainClock } from './target.js';

/** Where runtime drop-ins live (systemd.unit(5)); a test may point elsewhere. */
export const RUNTIME_UNIT_DIR = process.env.FLEET_DRAIN_SYSTEMD_RUNTIME_DIR ?? '/run/systemd/system';

/**
 * The units that hold the agent or its ancestors (amazon-ssm-agent.service, a session scope): never a
 * target, whatever glob the policy gives, since KILL to their control group would kill the drain itself.
 */
export function ownUnits(proc: ProcReader = procReader(), selfPid = process.pid): Set<string> {
  const units = new Set<string>();
  let pid: number | undefined = selfPid;
  for (let hops = 0; pid !== undefined && pid > 0 && hops < MAX_ANCESTRY_HOPS; hops++) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    } catch {
      // Gone, or no cgroups: nothing to protect from this one.
    }
    for (const line of text.split('\n')) {
      for (const part of line.slice(line.lastIndexOf(':') + 1).split('/'))
        if (UNIT_TYPES.test(part)) units.add(part);
    }
    pid = proc.stat(pid)?.ppid;
  }
  return units;
}

const UNIT_TYPES = /\.(service|socket|device|mount|automount|swap|target|path|timer|slice|scope)$/;
const ACTIVE_STATES = new Set(['active', 'activating', 'deactivating', 'reloading', 'refreshing']);

/** The file name of the drop-in that holds a unit's restarts. */
export const DROP_IN_NAME = 'zz-fleet-drain.conf';
/** Its first line: only a file that starts so is ever removed (restore.ts). */
export const DROP_IN_HEADER = '# Written by fleet-drain-agent: a drained service must not restart.';

/** The drop-ins a drain wrote, by path. */
export interface DropIns {
  paths: string[];
  /** Persists `paths` (the drain state), called before a drop-in is written: it must outlive this agent. */
  save: () => void;
}

export class SystemdTarget extends SupervisedTarget {
  private readonly pattern: string;

  private readonly dropIns: DropIns;

  constructor(
    name: string,
    unit: string,
    clock: DrainClock,
    options: { spared?: ReadonlySet<string> | undefined; dropIns?: DropIns | undefined } = {},
  ) {
    super(name, 'systemd', clock, options.spared);
    this.pattern = UNIT_TYPES.test(unit) ? unit : `${unit}.service`;
    this.dropIns = options.dropIns ?? { paths: [], save: () => {} };
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
    const own = ownUnits();
    return stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[0] ?? '')
      .filter((unit) => unit !== '' && UNIT_TYPES.test(unit) && !own.has(unit));
  }

  protected async holdRestarts(units: string[]): Promise<void> {
    for (const unit of units) {
      const dir = `${RUNTIME_UNIT_DIR}/${unit}.d`;
      // Drop-ins merge in file-name order: `zz-` sorts after `override.conf` (what `systemctl edit` writes).
      const path = `${dir}/${DROP_IN_NAME}`;
      if (!this.dropIns.paths.includes(path)) {
        this.dropIns.paths.push(path);
        this.dropIns.save();
      }
      makeDirs(dir);
      writeFileSync(path, `${DROP_IN_HEADER}\n[Service]\nRestart=no\n`);
    }
    await cli(['systemctl', 'daemon-reload']);
  }

  protected async query(units: string[]): Promise<Map<string, UnitState>> {
    const { stdout } = await cli([
      'systemctl',
      'show',
      '--property=Id,ActiveState,SubState,MainPID',
      '--',
      ...units,
    ]);
    const states = new Map<string, UnitState>();
    for (const block of stdout.split(/\n\s*\n/)) {
      const fields = Object.fromEntries(
        block
          .split('\n')
          .filter((line) => line.includes('='))
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      if (!fields.Id) continue;
      // A oneshot unit with RemainAfterExit stays `active (exited)` with nothing left to stop.
      const running = ACTIVE_STATES.has(fields.ActiveState ?? '') && fields.SubState !== 'exited';
      states.set(fields.Id, { running, pid: Number(fields.MainPID) || 0 });
    }
    return states;
  }

  protected async sendTo(units: string[], signal: Signal): Promise<string[]> {
    // --kill-who is the spelling systemd 219 (Amazon Linux 2) knows; newer versions accept it as an alias.
    const whom = signal.number === SIGKILL.number ? 'all' : 'main';
    const reached: string[] = [];
    // One call per unit: systemd refuses the whole call when one unit has no main process.
    for (const unit of units) {
      const result = await cli(
        ['systemctl', 'kill', `--kill-who=${whom}`, `--signal=${signal.name}`, '--', unit],
        (r) => r.exitCode === 0 || (r.exitCode === 1 && /no main process/i.test(r.stderr)),
      );
      if (result.exitCode === 0) reached.push(unit);
    }
    return reached;
  }
}
