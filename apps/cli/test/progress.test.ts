/**
 * The progress renderer of `kice run --once` (src/progress.ts) against a FAKE stream that
 * records what is written and says whether it is a terminal: the bar drawn in place on a
 * terminal, log lines taking the bar away, plain lines otherwise, the final line.
 */
import { describe, expect, it } from 'vitest';
import {
  ProgressReporter,
  type ProgressSample,
  progressBar,
  progressFigures,
} from '../src/progress.ts';

/** A fake output stream: records writes. */
class FakeStream {
  readonly writes: string[] = [];
  constructor(
    readonly isTTY: boolean,
    readonly columns = 80,
  ) {}
  write(s: string): boolean {
    this.writes.push(s);
    return true;
  }
}

const sample = (consumed: number, total = 1000): ProgressSample => ({
  consumed,
  total,
  rowsCommitted: 900,
  deadLetters: 3,
});

describe('progress figures and bar', () => {
  it('shows consumed of total, percent, rate, ETA, rows and dead letters', () => {
    expect(progressFigures(sample(250), 50)).toBe(
      '250/1000 (25%) 50/s ETA 15s rows 900 dead letters 3',
    );
    expect(progressFigures(sample(0), 0)).toBe('0/1000 (0%) 0/s ETA ? rows 900 dead letters 3');
    expect(progressFigures(sample(0, 0), 0)).toBe('0/0 (0%) 0/s ETA ? rows 900 dead letters 3');
    expect(progressFigures(sample(0, 0), 0, true)).toBe(
      '0/0 (100%) 0/s ETA 0s rows 900 dead letters 3',
    );
    expect(progressFigures(sample(10, 100_000), 2)).toContain('ETA 13h53m');
  });

  it('draws a bar that fits the width', () => {
    const line = progressBar(sample(500), 100, 80);
    expect(line).toBe(
      `[${'#'.repeat(13)}${'-'.repeat(12)}] 500/1000 (50%) 100/s ETA 5s rows 900 dead letters 3`,
    );
    expect(line.length).toBeLessThan(80);
    expect(progressBar(sample(1000), 100, 200)).toMatch(/^\[#{40}\] 1000\/1000 \(100%\)/);
  });
});

describe('ProgressReporter', () => {
  it('on a terminal: redraws in place, takes the bar away around a log line, ends the line', () => {
    const out = new FakeStream(true);
    let consumed = 0;
    let now = 0;
    const r = new ProgressReporter(
      out,
      () => sample(consumed),
      30_000,
      () => now,
    );
    r.start();
    r.tick();
    consumed = 400;
    now = 2000;
    r.tick();
    expect(out.writes).toEqual([
      `\r\x1b[2K${progressBar(sample(0), 0)}`,
      `\r\x1b[2K${progressBar(sample(400), 200)}`,
    ]);
    out.writes.length = 0;
    r.around(() => out.write('a log line\n'));
    expect(out.writes[0]).toBe('\r\x1b[2K');
    expect(out.writes[1]).toBe('a log line\n');
    expect(out.writes[2]?.startsWith('\r\x1b[2K[')).toBe(true);
    out.writes.length = 0;
    consumed = 1000;
    now = 4000;
    r.stop(true);
    expect(out.writes).toEqual([
      `\r\x1b[2K${progressBar(sample(1000), 250, 80, true)}\n`,
      'kice run --once: done: 1000/1000 (100%) 250/s ETA 0s rows 900 dead letters 3\n',
    ]);
  });

  it('not a terminal: plain lines only, no control characters', () => {
    const out = new FakeStream(false);
    let consumed = 100;
    let now = 0;
    const r = new ProgressReporter(
      out,
      () => sample(consumed),
      30_000,
      () => now,
    );
    r.tick();
    consumed = 300;
    now = 1000;
    r.tick();
    r.around(() => out.write('log\n'));
    r.stop(false);
    expect(out.writes).toEqual([
      'kice run --once: 100/1000 (10%) 0/s ETA ? rows 900 dead letters 3\n',
      'kice run --once: 300/1000 (30%) 200/s ETA 4s rows 900 dead letters 3\n',
      'log\n',
      'kice run --once: stopped: 300/1000 (30%) 200/s ETA 4s rows 900 dead letters 3\n',
    ]);
  });
});
