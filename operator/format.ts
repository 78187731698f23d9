// Plain-text building blocks of the operator commands' output: tables laid out like the drill's (columns
// padded, two spaces apart) and short durations.

/** Rows under a header, each column as wide as its widest cell, two spaces apart; no trailing spaces. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] as number))
      .join('  ')
      .trimEnd(),
  );
}

/** A duration as `1h 56m`, `3m 12s` or `45s` (two units at most, rounded down). */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const [h, m, s] = [Math.floor(seconds / 3600), Math.floor((seconds % 3600) / 60), seconds % 60];
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return s > 0 ? `${m}m ${s}s` : `${m}m`;
  return `${s}s`;
}

/** A moment relative to now: `in 4m`, `2m 10s ago`. */
export function relative(atMs: number, nowMs: number): string {
  return atMs >= nowMs ? `in ${duration(atMs - nowMs)}` : `${duration(nowMs - atMs)} ago`;
}

/** A moment as ISO 8601 UTC without milliseconds. */
export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A cell for a value that may be unknown. */
export function cell<T>(value: T | undefined, show: (value: T) => string): string {
  return value === undefined ? '—' : show(value);
}
