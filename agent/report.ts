// The drain report: the one JSON object `fleet-drain-agent drain` prints on stdout.
// The Lambda parses it from SSM's StandardOutputContent (first 24,000 characters), so it is a contract:
// change it only by bumping REPORT_VERSION.

export const REPORT_VERSION = 1;

/** SSM keeps the first 24,000 characters of stdout; the report must fit, with room for a newline. */
export const REPORT_MAX_CHARS = 24_000;

/** Overall result of a drain; the exit code follows from it (see EXIT in exit-codes.ts). */
export type DrainOutcome = 'drained' | 'forced' | 'incomplete' | 'interrupted' | 'nothing' | 'error';

export type TargetKind = 'process' | 'systemd' | 'docker' | 'command';

/** `skipped`: not started because the drain was interrupted first. `error`: the supervisor CLI failed. */
export type TargetOutcome = 'drained' | 'forced' | 'incomplete' | 'nothing' | 'error' | 'skipped';

/** A signal and the milliseconds after the drain started at which it was sent. */
export type SentSignal = [signal: string, offsetMs: number];

export interface ProcessReport {
  pid: number;
  /**
   * Command line, shortened. For systemd and docker targets: the unit or container. Left out when the report
   * had to be compacted and it equals the target's `command`.
   */
  command?: string;
  signals: SentSignal[];
  /** Milliseconds after the drain started; null while still running. */
  exitedAfterMs: number | null;
  forced: boolean;
}

export interface TargetReport {
  name: string;
  kind: TargetKind;
  outcome: TargetOutcome;
  /** In a compacted report: the command most of the target's processes share (they then leave it out). */
  command?: string;
  processes: ProcessReport[];
  /** Processes left out of `processes` to keep the report under REPORT_MAX_CHARS. */
  omitted?: { count: number; exited: number; forced: number; running: number };
  error?: string;
}

export interface StepReport {
  step: string;
  ok: boolean;
  durationMs: number;
  exitCode?: number | null;
  error?: string;
}

export interface DrainReport {
  version: typeof REPORT_VERSION;
  id: string;
  outcome: DrainOutcome;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** True when this process joined (or replayed) a drain instead of running it. */
  joined: boolean;
  /** The id of the drain that was running on the host when this one joined it, when that id differs. */
  joinedDrainId?: string;
  deadline?: string;
  dryRun?: boolean;
  prepare: StepReport[];
  targets: TargetReport[];
  finally: StepReport[];
  error?: string;
}

/** A report of a drain that did no work of its own (an error before it started, an interrupted join). */
export function emptyReport(
  id: string,
  outcome: DrainOutcome,
  exitCode: number,
  extra: Partial<DrainReport> = {},
): DrainReport {
  const now = new Date().toISOString();
  return {
    version: REPORT_VERSION,
    id,
    outcome,
    exitCode,
    startedAt: now,
    finishedAt: now,
    durationMs: 0,
    joined: false,
    prepare: [],
    targets: [],
    finally: [],
    ...extra,
  };
}
