// The events fleet-drainer emits, and keeping their entries within EventBridge's 256 KB.
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html

import type { DrainReport } from '../../agent/report/report';
import type { DrainTrigger } from './drain-command';
import type { LifecycleActionResult, Outcome } from './outcome';

export const EVENT_SOURCE = 'fleet-drainer';
export const STARTED_DETAIL_TYPE = 'Fleet Drain Started';
export const FINISHED_DETAIL_TYPE = 'Fleet Drain Finished';

/** An entry is at most 256 KB (Source, DetailType, Detail, Resources, Time all count); keep 4 KB spare. */
export const MAX_ENTRY_BYTES = 256 * 1024;
const SPARE_BYTES = 4096;
/** A field of an entry still too big once shrunk keeps this many characters: enough to read, far below the limit. */
const SHRUNK_FIELD_CHARS = 1000;
/** How much raw output goes into the event when there is no parsable report. */
export const OUTPUT_EXCERPT_CHARS = 4000;

export interface StartedDetail {
  instanceId: string;
  autoScalingGroupName: string;
  lifecycleHookName: string;
  /** Null for an adopted drain: its token was only in the lost event. */
  lifecycleActionToken: string | null;
  drainId: string;
  commandId: string;
  deadline: string;
  adopted: boolean;
  /** What started the drain: `lifecycle`, `spot-interruption` or `rebalance-recommendation`. */
  trigger: DrainTrigger;
}

export interface FinishedDetail {
  instanceId: string;
  autoScalingGroupName: string;
  lifecycleHookName: string;
  lifecycleActionToken: string | null;
  drainId: string;
  /** Null when no command ran (skipped, unreachable, expired before sending). */
  commandId: string | null;
  outcome: Outcome;
  /** Null for a drain with no lifecycle action of its own (an EC2 notice's): nothing was completed. */
  lifecycleActionResult: LifecycleActionResult | null;
  /** From the drain's start (command sent, or lifecycle event for skipped/unreachable) to completion. */
  durationMs: number;
  reason: string;
  adopted: boolean;
  trigger: DrainTrigger;
  commandStatus: string | null;
  exitCode: number | null;
  report: DrainReport | { truncated: true; outcome: string; id: string; durationMs: unknown } | null;
  /** Start of stdout and end of stderr, only when no report was found. */
  output: string | null;
  /**
   * Present (true) only when the completion's first attempt got no response and the SDK's retry found the
   * action over: most likely our own first attempt completed it, but another completer cannot be ruled out.
   */
  completionUncertain?: true;
}

const byteLength = (text: string): number => Buffer.byteLength(text, 'utf8');

/** JSON of `detail`, shrunk (report summarised, then output dropped) until the entry fits 256 KB. */
export function fitDetail(detail: Record<string, unknown>, detailType: string): string {
  const budget = MAX_ENTRY_BYTES - SPARE_BYTES - byteLength(EVENT_SOURCE) - byteLength(detailType);
  let json = JSON.stringify(detail);
  if (byteLength(json) <= budget) return json;
  const report = detail.report as Partial<DrainReport> | null | undefined;
  const shrunk: Record<string, unknown> = {
    ...detail,
    report:
      report && typeof report === 'object'
        ? { truncated: true, outcome: report.outcome, id: report.id, durationMs: report.durationMs }
        : report,
  };
  json = JSON.stringify(shrunk);
  if (byteLength(json) <= budget) return json;
  json = JSON.stringify({
    ...shrunk,
    output: null,
    reason: String(detail.reason ?? '').slice(0, SHRUNK_FIELD_CHARS),
  });
  if (byteLength(json) <= budget) return json;
  // Only oversized identifiers could get here; keep the keys users route on.
  const keep = [
    'instanceId',
    'autoScalingGroupName',
    'lifecycleHookName',
    'commandId',
    'outcome',
    'lifecycleActionResult',
    'trigger',
  ];
  return JSON.stringify(
    Object.fromEntries(keep.map((key) => [key, String(detail[key] ?? '').slice(0, SHRUNK_FIELD_CHARS)])),
  );
}

/** What to put in `output` when there is no report: the start of stdout and the end of stderr. */
export function outputExcerpt(stdout: string | undefined, stderr: string | undefined): string | null {
  const out = (stdout ?? '').slice(0, OUTPUT_EXCERPT_CHARS / 2);
  const err = (stderr ?? '').slice(-OUTPUT_EXCERPT_CHARS / 2);
  if (out === '' && err === '') return null;
  return err === '' ? out : `${out}\n--- stderr ---\n${err}`;
}
