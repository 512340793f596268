/**
 * The query part's printed lines: freshness per rate (send → visible through
 * engine.query and POST /query) and key lookups over the hot buffer, each beside the
 * goal it is measured against (BENCHMARKS.md): freshness p99 < 100 ms, lookup p99 < 1 ms.
 */
import type { FreshnessResult } from './freshness.ts';
import type { KeyLookupResult } from './key-lookup.ts';
import type { Percentiles } from './percentiles.ts';

const pct = (p: Percentiles) => `p50 ${p.p50Ms ?? '-'} ms, p99 ${p.p99Ms ?? '-'} ms`;
const verdict = (p: Percentiles, goalMs: number) =>
  p.p99Ms === null ? 'no sample' : p.p99Ms < goalMs ? 'meets the goal' : 'misses the goal';

export function formatQuery(q: {
  freshness: FreshnessResult;
  keyLookup: KeyLookupResult;
}): string[] {
  const lines = q.freshness.points.map(
    (p) =>
      `query, freshness at ${p.targetEventsPerSecond} events/s, ${p.settings} (${p.producedEventsPerSecond} produced/s, ${p.probes} probes, ${p.missed} missed): engine.query ${pct(p.api)} (${verdict(p.api, 100)} p99 < 100 ms); HTTP ${pct(p.http)} (${verdict(p.http, 100)})`,
  );
  const k = q.keyLookup;
  lines.push(
    `query, key lookup with ${k.hotRows} rows hot (${Math.round(k.inFlightBytes / 2 ** 20)} MiB in flight; index built in ${k.indexBuildMs} ms by the first get): engine.get ${pct(k.api)} over ${k.api.count} (${verdict(k.api, 1)} p99 < 1 ms); HTTP ${pct(k.http)} over ${k.http.count}`,
  );
  return lines;
}
