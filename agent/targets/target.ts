// What the escalation engine needs from a target, whatever stands behind it (/proc, systemd, docker).

import type { Signal } from '../host/signals.js';
import type { ProcessReport, TargetKind } from '../report/report.js';

export interface DrainTarget {
  readonly name: string;
  readonly kind: TargetKind;
  /** How often a wait re-checks the target: cheap for /proc, a CLI call for systemd and docker. */
  readonly pollIntervalMs: number;
  /** Finds the target's processes; called once before the schedule starts. */
  discover(options?: DiscoverOptions): Promise<void>;
  /** True while any process of the target is alive. Cheap enough to call every pollIntervalMs. */
  isRunning(): Promise<boolean>;
  /** Sends the signal as the target's kind requires (to roots, to all, through the supervisor). */
  signal(signal: Signal): Promise<void>;
  /** Per-process results so far. */
  processes(): ProcessReport[];
  /** Set when the target could not be handled (supervisor CLI missing, permission denied …). */
  readonly error?: string;
}

export interface DiscoverOptions {
  /** Change nothing on the host (`plan`, `--dry-run`): a supervised target then holds no restarts. */
  readOnly?: boolean;
}

/** Milliseconds since the drain started: every offset in the report uses this clock. */
export type DrainClock = () => number;
