/**
 * Progress of `kice run --once`: how many offsets of the end offsets seen at start are
 * consumed, the rate, an ETA, rows committed and dead letters.
 *
 * On a terminal (the stream's `isTTY`) a one-line bar is redrawn in place (carriage return,
 * erase line) every REDRAW_MS; log lines written meanwhile go through `around()`, which
 * takes the bar away, writes the line and draws the bar again, so the two never mix. Any
 * other stream gets a plain line every `intervalMs`. Both end with a final line.
 *
 * Our own ~100 lines rather than a progress library: the bar has to share the terminal
 * with the log stream (`around`), fall back to plain lines, and be testable with a fake
 * stream; wrapping a library for those would take as much code as drawing it.
 */

/** What the bar shows, sampled from the engine. */
export interface ProgressSample {
  /** Offsets consumed of `total` (of the partitions this member owns). */
  readonly consumed: number;
  readonly total: number;
  readonly rowsCommitted: number;
  readonly deadLetters: number;
}

/** A stream the progress is written to: stderr, or a fake one in tests. */
export interface ProgressStream {
  write(s: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

const REDRAW_MS = 200;
/** The rate is measured over this much recent time. */
const RATE_WINDOW_MS = 5_000;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * The figures after the bar: "1200/5000 (24%) 850/s ETA 4s rows 1000 dead letters 3".
 * Before the end offsets and partitions are known (total 0) it is 0% with no ETA, unless
 * the run is `done` (nothing to consume).
 */
export function progressFigures(s: ProgressSample, ratePerSec: number, done = false): string {
  const pct = s.total > 0 ? Math.floor((100 * s.consumed) / s.total) : done ? 100 : 0;
  const left = Math.max(0, s.total - s.consumed);
  const eta =
    done || (s.total > 0 && left === 0) ? '0s' : ratePerSec > 0 ? duration(left / ratePerSec) : '?';
  return `${s.consumed}/${s.total} (${pct}%) ${Math.round(ratePerSec)}/s ETA ${eta} rows ${s.rowsCommitted} dead letters ${s.deadLetters}`;
}

/** One bar line fitting `columns`: "[#####-----] " + figures (figures cut last). */
export function progressBar(
  s: ProgressSample,
  ratePerSec: number,
  columns = 80,
  done = false,
): string {
  const figures = progressFigures(s, ratePerSec, done);
  // "[" + bar + "] " + figures, one column short of the width (no wrap at the margin).
  const width = Math.max(10, Math.min(40, columns - figures.length - 4));
  const frac = s.total > 0 ? Math.min(1, s.consumed / s.total) : done ? 1 : 0;
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${figures}`.slice(0, columns - 1);
}

export class ProgressReporter {
  private timer: NodeJS.Timeout | undefined;
  private readonly samples: { at: number; consumed: number }[] = [];
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly sample: () => ProgressSample,
    /** Plain mode: a line this often. */
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get tty(): boolean {
    return this.stream.isTTY === true;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.tty ? REDRAW_MS : this.intervalMs);
    this.timer.unref();
  }

  /** Records per second over the recent window. */
  private rate(s: ProgressSample): number {
    const at = this.now();
    this.samples.push({ at, consumed: s.consumed });
    while (this.samples.length > 2 && at - (this.samples[1]?.at as number) >= RATE_WINDOW_MS)
      this.samples.shift();
    const first = this.samples[0] as { at: number; consumed: number };
    const ms = at - first.at;
    return ms > 0 ? ((s.consumed - first.consumed) * 1000) / ms : 0;
  }

  /** Draws the bar (terminal) or writes a plain line (other streams). */
  tick(): void {
    const s = this.sample();
    const rate = this.rate(s);
    if (this.tty) {
      this.stream.write(`\r\x1b[2K${progressBar(s, rate, this.stream.columns || 80)}`);
      this.drawn = true;
    } else {
      this.stream.write(`kice run --once: ${progressFigures(s, rate)}\n`);
    }
  }

  /** Runs `write` (a log line) with the bar taken away, then draws the bar again. */
  around(write: () => void): void {
    if (!this.drawn) {
      write();
      return;
    }
    this.stream.write('\r\x1b[2K');
    this.drawn = false;
    write();
    if (this.timer) this.tick();
  }

  /** Stops drawing; writes the final line (`done` with the final figures). */
  stop(done: boolean): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const s = this.sample();
    if (!done && s.total === 0 && s.consumed === 0) {
      // Stopped before any partition was read (e.g. start failed): no progress to report,
      // and the error that follows stays the first thing on stderr.
      if (this.tty && this.drawn) this.stream.write('\r\x1b[2K');
      this.drawn = false;
      return;
    }
    const rate = this.rate(s);
    const figures = progressFigures(s, rate, done);
    if (this.tty) {
      this.stream.write(`\r\x1b[2K${progressBar(s, rate, this.stream.columns || 80, done)}\n`);
      this.drawn = false;
    }
    this.stream.write(`kice run --once: ${done ? 'done' : 'stopped'}: ${figures}\n`);
  }
}
