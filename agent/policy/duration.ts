// Durations as the policy writes them: `30` (seconds), `30s`, `10m`, `2h`, `500ms`.

export const MS_PER_SECOND = 1_000;
const UNIT_MS = { ms: 1, s: MS_PER_SECOND, m: 60 * MS_PER_SECOND, h: 3_600 * MS_PER_SECOND } as const;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;

/** Milliseconds of a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const unit = (match[2] ?? 's') as keyof typeof UNIT_MS;
  return Math.round(Number(match[1]) * UNIT_MS[unit]);
}

/** A duration in the policy's own notation, in the largest unit that is exact: 90_000 → `90s`, 600_000 → `10m`. */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    if (ms !== 0 && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return ms === 0 ? '0s' : `${ms}ms`;
}
