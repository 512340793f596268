/**
 * A tiny run of the `pnpm bench` harness (benchmarks/src/harness.ts) so that it cannot
 * rot: 10,000 events, the kafkajs ceiling and kice with its defaults, on the test broker,
 * each table verified by PyIceberg. No timing limits: only outcomes and the result shape.
 */
import { describe, expect, it } from 'vitest';
import { runBenchmark } from '../../benchmarks/src/harness.ts';
import { startKafka } from '../support/kafka.ts';

const RESULT_KEYS = [
  'format',
  'startedAt',
  'quick',
  'revision',
  'machine',
  'data',
  'commitIntervalMs',
  'systems',
  'ratios',
  'components',
  'scaling',
  'scaleOut',
  'notes',
];
const SYSTEM_KEYS = [
  'system',
  'settings',
  'events',
  'ok',
  'error',
  'wallSeconds',
  'eventsPerSecond',
  'mbPerSecond',
  'cpuSeconds',
  'cpuSecondsPerMillionEvents',
  'peakRssMb',
  'dataFiles',
  'avgFileMb',
  'verification',
];

describe('pnpm bench harness (smoke, N = 10,000)', () => {
  it('runs the kafkajs ceiling and kice, verifies every row once, and fills every field', async () => {
    const broker = await startKafka();
    const r = await runBenchmark({
      events: 10_000,
      systems: ['ceiling-kafkajs', 'kice'],
      broker,
    });
    expect(Object.keys(r).sort()).toEqual([...RESULT_KEYS].sort());
    expect(r.format).toBe('kice-bench/1');
    expect(r.data.events).toBe(10_000);
    expect(r.data.partitions).toBe(12);
    expect(r.data.bytes).toBeGreaterThan(250 * 10_000);
    expect(r.data.bytes).toBeLessThan(400 * 10_000);
    expect(r.machine.cores).toBeGreaterThan(0);
    expect(r.machine.cpuModel).not.toBe('');
    expect(r.machine.node).toBe(process.version);
    expect(r.revision.commit).toMatch(/^[0-9a-f]{7,}$/);

    expect(r.systems.map((s) => s.system)).toEqual(['ceiling-kafkajs', 'kice']);
    for (const s of r.systems) {
      expect(Object.keys(s).sort()).toEqual([...SYSTEM_KEYS].sort());
      expect(s.error).toBeNull();
      expect(s.ok).toBe(true);
      expect(s.events).toBe(10_000);
      expect(s.eventsPerSecond).toBeGreaterThan(0);
      expect(s.cpuSeconds).toBeGreaterThan(0);
      expect(s.peakRssMb).toBeGreaterThan(0);
    }
    const [ceiling, kice] = r.systems;
    expect(ceiling?.verification).toBeNull();
    expect(ceiling?.dataFiles).toBeNull();
    // PyIceberg's count of the kice table: every event exactly once.
    expect(kice?.verification?.rows).toBe(10_000);
    expect(kice?.verification?.distinct).toBe(10_000);
    expect(kice?.dataFiles).toBeGreaterThanOrEqual(1);
    expect(kice?.avgFileMb).toBeGreaterThan(0);
    expect(r.ratios.kiceVsCeilingKafkajs).toBe(
      Math.round(((kice?.eventsPerSecond ?? 0) / (ceiling?.eventsPerSecond ?? 1)) * 100) / 100,
    );
    expect(r.ratios.kiceVsConnect).toBeNull();
    // Components, scaling and scale-out are main.ts's to add.
    expect(r.scaleOut).toBeNull();
    // The result survives a JSON round trip unchanged (it is saved as JSON).
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });
});
