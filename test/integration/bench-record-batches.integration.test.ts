/**
 * The record-batch parsing component of `pnpm bench` (benchmarks/src/components/record-batches.ts),
 * run tiny so that it cannot rot: every codec's batches (framed by kafkajs's encoder, zstd
 * by the venv python's zstandard) parse to every row, and the report line names each codec.
 * No timing limits.
 */
import { expect, it } from 'vitest';
import {
  benchRecordBatches,
  formatRecordBatches,
} from '../../benchmarks/src/components/record-batches.ts';
import { venvPython } from '../support/readers.ts';

it('parses every codec of the component benchmark to every row and reports each', async () => {
  const r = await benchRecordBatches(await venvPython(), 0.05, 100, 350);
  expect(r.notes).toEqual([]);
  expect(r.codecs.map((c) => c.codec)).toEqual(['none', 'gzip', 'snappy', 'lz4', 'zstd']);
  for (const c of r.codecs) expect(c.rowsPerSecond).toBeGreaterThan(0);
  expect(r.codecs[0]?.wireToValueRatio).toBeGreaterThan(1);
  for (const c of r.codecs.slice(1)) expect(c.wireToValueRatio).toBeLessThan(1);
  expect(formatRecordBatches(r)).toMatch(
    /^components \(one thread, 100-record batches\): Kafka record-batch parsing none [\d,]+ rows\/s .*zstd [\d,]+ rows\/s/,
  );
});
