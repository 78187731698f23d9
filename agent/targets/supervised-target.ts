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

export abstract class SupervisedTarget implements DrainTarget {
  readonly pollIntervalMs = 250;
  error?: string;
  protected units: Supervised[] = [];

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
  protected abstract send(ids: string[], signal: Signal): Promise<string[]>;

  async discover({ readOnly = false }: DiscoverOptions = {}): Promise<void> {
    await this.guard(async () => {
      const ids = await this.list();
      if (ids.length === 0) return;
      if (!readOnly) await this.holdRestarts(ids);
      const states = await this.query(ids);
      this.units = ids.map((id) => ({
        id,
        pid: states.get(id)?.pid ?? 0,
        signals: [],
        exitedAfterMs: null,
        forced: false,
      }));
      this.markExits(states);
    });
  }

  private markExits(states: Map<string, UnitState>): void {
    const now = this.clock();
    for (const unit of this.units) {
      if (unit.exitedAfterMs === null && !states.get(unit.id)?.running) unit.exitedAfterMs = now;
    }
  }

  private live(): Supervised[] {
    return this.units.filter((unit) => unit.exitedAfterMs === null);
  }

  async isRunning(): Promise<boolean> {
    const live = this.live();
    if (live.length === 0 || this.error) return false;
    await this.guard(async () => this.markExits(await this.query(live.map((unit) => unit.id))));
    // Unknown after an error: say "not running" so the wait ends; the outcome reports the error.
    return this.error ? false : this.live().length > 0;
  }

  async signal(signal: Signal): Promise<void> {
    const graceful = signal.number !== SIGKILL.number;
    const live = this.live().filter((unit) => !(graceful && this.spared.has(unit.id)));
    if (live.length === 0 || this.error) return;
    const now = this.clock();
    await this.guard(async () => {
      const reached = new Set(
        await this.send(
          live.map((unit) => unit.id),
          signal,
        ),
      );
      for (const unit of live.filter(({ id }) => reached.has(id))) {
        unit.signals.push([signal.name, now]);
        if (signal.number === SIGKILL.number) unit.forced = true;
      }
    });
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
