// What a resumed drain compares to know whether the step indices in its state still mean what they meant.
// A target's progress is an index into its schedule: under another schedule (or other targets) the same
// index names another step, so a drain resumed under a changed policy must not replay it.

import { createHash } from 'node:crypto';
import type { ResolvedPolicy } from './policy.js';

/** JSON with every object's keys sorted, so that the same policy always gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}

/** 64 bits of the hash: plenty to tell one policy of a drain from the next. */
const FINGERPRINT_HEX_CHARS = 16;

/**
 * A short hash of the targets of the effective (resolved) policy: names, selectors, schedules and `after`.
 * Prepare and finally steps are left out on purpose: a drain records those by content (run-phase.ts), so a
 * change to them alone does not have to restart any schedule.
 */
export function policyFingerprint(policy: ResolvedPolicy): string {
  return createHash('sha256')
    .update(canonicalJson(policy.targets))
    .digest('hex')
    .slice(0, FINGERPRINT_HEX_CHARS);
}
