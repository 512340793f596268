/**
 * Nearest-rank percentiles of a sample of latencies (ms), rounded to 0.01 ms: the
 * p-th percentile is the smallest value at or above which p % of the sample lies.
 */
export interface Percentiles {
  readonly count: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
}

export function percentiles(ms: readonly number[]): Percentiles {
  const s = [...ms].sort((a, b) => a - b);
  const rank = (p: number) => {
    if (s.length === 0) return null;
    const v = s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] as number;
    return Math.round(v * 100) / 100;
  };
  return { count: s.length, p50Ms: rank(50), p99Ms: rank(99), maxMs: rank(100) };
}
