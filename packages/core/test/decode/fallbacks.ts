/**
 * A test-only count of the decoder's fall-backs: a test file that mocks decode/scan.ts with
 * `countFallbacks` sees every record the byte-level fast path gave up on (the general path
 * then decoded it), without a counter in the production code.
 *
 *   vi.mock('../../src/decode/scan.ts', async (original) =>
 *     (await import('./fallbacks.ts')).countFallbacks(await original()));
 */
import type * as Scan from '../../src/decode/scan.ts';

/** Record starts (byte offsets) the fast path gave up on, in call order. */
export const fallbackStarts: number[] = [];

export function countFallbacks(scan: typeof Scan): typeof Scan {
  return {
    ...scan,
    appendRecordFast(bytes, start, end, root, cx) {
      const ok = scan.appendRecordFast(bytes, start, end, root, cx);
      if (!ok) fallbackStarts.push(start);
      return ok;
    },
  };
}

/** Indices of the records of a batch (its offsets) the fast path gave up on. */
export function fallbackIndices(offsets: Int32Array): number[] {
  const index = new Map<number, number>();
  for (let i = 0; i + 1 < offsets.length; i++) index.set(offsets[i] as number, i);
  return fallbackStarts.map((s) => index.get(s) ?? -1);
}
