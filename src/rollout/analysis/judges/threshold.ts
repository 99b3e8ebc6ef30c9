// The threshold judge: one value against {min, max}. Pure. NaN (0/0 when there is no traffic) is no data,
// never a pass; ±Inf is a real value (a ratio over zero stable traffic) and is judged like any other.
import type { MetricResult } from '../result.js';

export interface ThresholdRange {
  min?: number;
  max?: number;
}

export function judgeThreshold(
  metric: string,
  query: string,
  value: number | undefined,
  range: ThresholdRange,
): MetricResult {
  if (value === undefined) return { status: 'noData', metric, query, reason: 'the query returned no series' };
  if (Number.isNaN(value))
    return { status: 'noData', metric, query, reason: 'the query returned NaN (no traffic in the window?)' };
  if (range.min !== undefined && value < range.min)
    return { status: 'fail', metric, query, value, reason: `${value} is below min ${range.min}` };
  if (range.max !== undefined && value > range.max)
    return { status: 'fail', metric, query, value, reason: `${value} is above max ${range.max}` };
  return { status: 'pass', metric, query, value };
}
