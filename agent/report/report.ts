// The drain report: the JSON object `fleet-drain-agent drain` prints on stdout after its summary line
// (summary-line.ts). The Lambda parses both from SSM's StandardOutputContent, so they are a contract:
// change the report only by bumping REPORT_VERSION.

export const REPORT_VERSION = 1;

/**
 * SSM keeps stdout whole only while it is under 24,000 bytes (the SSM Agent's MaxStdoutLength); past that
 * it keeps the first 23,980 bytes, counted as bytes, and appends `--output truncated--`.
 */
export const SSM_STDOUT_MAX_BYTES = 24_000;

/**
 * What the agent may print on stdout (summary line, report, newlines), in bytes: under SSM's limit with
 * 1,000 bytes to spare for anything else the command prints there.
 */
export const AGENT_STDOUT_MAX_BYTES = SSM_STDOUT_MAX_BYTES - 1_000;

/**
 * Overall result of a drain; the exit code follows from it (see EXIT in exit-codes.ts). `prepared`: a
 * `--action prepare` drain ran its prepare steps (each step's own result is in `prepare`).
 */
export type DrainOutcome =
  | 'drained'
  | 'forced'
  | 'incomplete'
  | 'interrupted'
  | 'nothing'
  | 'error'
  | 'prepared';

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
  /** Processes left out of `processes` to keep stdout under AGENT_STDOUT_MAX_BYTES. */
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
  /** Targets left out whole (a last resort of compactReport): how many there were. */
  omittedTargets?: number;
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
