// Targets behind a supervisor (systemd units, Docker containers): found, signalled and watched through the
// supervisor's CLI, so that its restart policy cannot bring a drained process back.

import { errorMessage } from '../../common/errors.js';
import { type CommandResult, describeResult, runCommand } from '../host/run-command.js';
import { SIGKILL, type Signal } from '../host/signals.js';
import type { ProcessReport, TargetKind } from '../report/report.js';
import type { DiscoverOptions, DrainClock, DrainTarget } from './target.js';

/** How long one supervisor CLI call may take before it counts as failed. */
export const CLI_TIMEOUT_MS = 30_000;

/** A unit or container as the report shows it. */
interface Supervised {
  id: string;
  pid: number;
  signals: [string, number][];
  exitedAfterMs: number | null;
  forced: boolean;
}

export interface UnitState {
  running: boolean;
  pid: number;
}

export class CliError extends Error {}

/** Runs a supervisor CLI; throws CliError saying what failed. */
export async function cli(
  argv: string[],
  accept: (result: CommandResult) => boolean = (r) => r.exitCode === 0,
) {
  const result = await runCommand(argv, CLI_TIMEOUT_MS);
  if (!accept(result))
    throw new CliError(`${argv.slice(0, 3).join(' ')} … ${describeResult(result) ?? 'failed'}`);
  return result;
}

/**
 * How often a wait lists the supervisor's units again: a socket, a timer or a path unit may start one (or a
 * container be started) during the drain, and it must be drained too.
 */
export const RELIST_INTERVAL_MS = 1_000;

export abstract class SupervisedTarget implements DrainTarget {
  readonly pollIntervalMs = 250;
  error?: string;
  protected units: Supervised[] = [];
  private readOnly = false;
  private listedAtMs = 0;
  /** The last signal the schedule sent: a unit found late gets it at once, joining the schedule where it is. */
  private lastSignal?: Signal;

  constructor(
    readonly name: string,
    readonly kind: TargetKind,
    protected readonly clock: DrainClock,
    /** Units or containers that got a graceful signal under an earlier policy of the drain: KILL only, now. */
    private readonly spared: ReadonlySet<string> = new Set(),
  ) {}

  /** Names or ids of the supervisor's units that the target selects and that are running. */
  protected abstract list(): Promise<string[]>;
  /** Makes the units' restart policy inert while the drain lasts (systemd: till boot; docker: till restored). */
  protected abstract holdRestarts(ids: string[]): Promise<void>;
  /** The current state of each unit; a unit missing from the map is gone. */
  protected abstract query(ids: string[]): Promise<Map<string, UnitState>>;
  /** Sends the signal; returns the ids it reached (a unit without a main process may refuse a non-KILL). */
  protected abstract sendTo(ids: string[], signal: Signal): Promise<string[]>;

  async discover({ readOnly = false }: DiscoverOptions = {}): Promise<void> {
    this.readOnly = readOnly;
    await this.guard(async () => {
      await this.adopt(await this.list());
    });
  }

  /** Takes units on (holding their restarts first): new ones, and known ones that run again. */
  private async adopt(ids: string[]): Promise<Supervised[]> {
    this.listedAtMs = this.clock();
    const known = new Map(this.units.map((unit) => [unit.id, unit]));
    const fresh = ids.filter((id) => !known.has(id));
    const ended = ids.filter((id) => known.get(id)?.exitedAfterMs != null);
    if (fresh.length === 0 && ended.length === 0) return [];
    // Restarts of a known unit are held already (a oneshot that stays active is listed every time).
    if (!this.readOnly && fresh.length > 0) await this.holdRestarts(fresh);
    const states = await this.query([...fresh, ...ended]);
    const adopted: Supervised[] = [];
    for (const id of fresh) {
      const unit: Supervised = {
        id,
        pid: states.get(id)?.pid ?? 0,
        signals: [],
        exitedAfterMs: null,
        forced: false,
      };
      this.units.push(unit);
      adopted.push(unit);
    }
    for (const id of ended) {
      const unit = known.get(id) as Supervised;
      if (states.get(id)?.running)
        adopted.push(Object.assign(unit, { pid: states.get(id)?.pid ?? 0, exitedAfterMs: null }));
    }
    this.markExits(states, fresh);
    return adopted.filter((unit) => unit.exitedAfterMs === null);
  }

  /** Units started since the last look get the schedule's last signal at once. */
  private async adoptLate(): Promise<void> {
    const late = await this.adopt(await this.list());
    if (late.length === 0) return;
    if (this.lastSignal) await this.send(late, this.lastSignal);
  }

  /** Marks the units among `queried` that `states` says are not running (missing from it: gone). */
  private markExits(states: Map<string, UnitState>, queried: readonly string[]): void {
    const now = this.clock();
    const asked = new Set(queried);
    for (const unit of this.units) {
      if (asked.has(unit.id) && unit.exitedAfterMs === null && !states.get(unit.id)?.running)
        unit.exitedAfterMs = now;
    }
  }

  private live(): Supervised[] {
    return this.units.filter((unit) => unit.exitedAfterMs === null);
  }

  async isRunning(): Promise<boolean> {
    if (this.error) return false;
    // Before saying "gone", and every RELIST_INTERVAL_MS: units started meanwhile.
    if (this.live().length === 0 || this.clock() - this.listedAtMs >= RELIST_INTERVAL_MS)
      await this.guard(() => this.adoptLate());
    const live = this.live();
    if (live.length === 0 || this.error) return false;
    const ids = live.map((unit) => unit.id);
    await this.guard(async () => this.markExits(await this.query(ids), ids));
    // Unknown after an error: say "not running" so the wait ends; the outcome reports the error.
    return this.error ? false : this.live().length > 0;
  }

  async signal(signal: Signal): Promise<void> {
    this.lastSignal = signal;
    if (this.error) return;
    await this.guard(() => this.send(this.live(), signal));
  }

  /** Sends `signal` to `units` (a graceful one to none that got one under an earlier policy). */
  private async send(units: Supervised[], signal: Signal): Promise<void> {
    const graceful = signal.number !== SIGKILL.number;
    const live = units.filter((unit) => !(graceful && this.spared.has(unit.id)));
    if (live.length === 0) return;
    const now = this.clock();
    const reached = new Set(
      await this.sendTo(
        live.map((unit) => unit.id),
        signal,
      ),
    );
    for (const unit of live.filter(({ id }) => reached.has(id))) {
      unit.signals.push([signal.name, now]);
      if (!graceful) unit.forced = true;
    }
  }

  processes(): ProcessReport[] {
    return this.units.map(({ id, pid, signals, exitedAfterMs, forced }) => ({
      pid,
      command: id,
      signals,
      exitedAfterMs,
      forced,
    }));
  }

  private async guard(action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      // Whatever failed (the CLI, or writing a drop-in to a full /run), the target reports it as its error.
      this.error = errorMessage(error);
    }
  }
}
