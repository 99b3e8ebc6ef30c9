// Durations as Go and Prometheus write them. No floor: `1s` and `500ms` are honoured (Flagger clamps to 10s).

const PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/y;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in `text` (`500ms`, `1s`, `5m`, `1h`, `1m30s`), or `undefined` when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (text.length === 0) return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    pos = PART.lastIndex;
  }
  return Math.round(total);
}

/** A duration for PromQL range selectors: whole milliseconds, largest exact unit (`90000` → `90s`). */
export function formatPromDuration(ms: number): string {
  const whole = Math.max(1, Math.round(ms));
  if (whole % 3_600_000 === 0) return `${whole / 3_600_000}h`;
  if (whole % 60_000 === 0) return `${whole / 60_000}m`;
  if (whole % 1000 === 0) return `${whole / 1000}s`;
  return `${whole}ms`;
}
