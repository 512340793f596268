/**
 * The in-flight memory budget: bytes fetched, decoding, buffered and flushing. Past
 * `maxBytes` the owner pauses consumption (`onPause`); at or below half of it, it resumes
 * (`onResume`). Every reservation is released exactly once: callers release in `finally`.
 * An engine of a shared runtime draws from the runtime's budget instead
 * (../runtime/shared-budget.ts), through the same `InFlightBudget` shape.
 */
export interface BudgetMetrics {
  inFlightBytes: number;
  peakInFlightBytes: number;
  pausedForBackpressure: number;
}

/** What the coordinator and the flusher need of a budget. */
export interface InFlightBudget {
  readonly paused: boolean;
  readonly used: number;
  reserve(bytes: number): void;
  release(bytes: number): void;
  /** From now on never resume (shutting down). */
  freeze(): void;
}

/** Makes an engine's budget (its metrics, and what pausing and resuming do). */
export type BudgetFactory = (
  metrics: BudgetMetrics,
  onPause: () => void,
  onResume: () => void,
) => InFlightBudget;

export class MemoryBudget implements InFlightBudget {
  private pausedNow = false;
  private holdResume = false;

  constructor(
    private readonly maxBytes: number,
    private readonly metrics: BudgetMetrics,
    private readonly onPause: () => void,
    private readonly onResume: () => void,
  ) {}

  get paused(): boolean {
    return this.pausedNow;
  }

  get used(): number {
    return this.metrics.inFlightBytes;
  }

  /** Adds `bytes` (negative to release) and pauses or resumes as the budget says. */
  adjust(bytes: number): void {
    if (bytes === 0) return;
    const m = this.metrics;
    m.inFlightBytes += bytes;
    if (m.inFlightBytes > m.peakInFlightBytes) m.peakInFlightBytes = m.inFlightBytes;
    if (!this.pausedNow && m.inFlightBytes > this.maxBytes) {
      this.pausedNow = true;
      m.pausedForBackpressure++;
      this.onPause();
    } else if (this.pausedNow && !this.holdResume && m.inFlightBytes <= this.maxBytes / 2) {
      this.pausedNow = false;
      this.onResume();
    }
  }

  reserve(bytes: number): void {
    this.adjust(bytes);
  }

  release(bytes: number): void {
    this.adjust(-bytes);
  }

  /** From now on never resume (shutting down). */
  freeze(): void {
    this.holdResume = true;
  }
}

/**
 * One reservation whose size changes while it is held (a raw fetch: its bytes until the
 * parse returns, then the parsed records'): `resize` moves it, `release` gives it back,
 * once; both do nothing after the release (a parse that returns after its fetch went stale).
 */
export class Reservation {
  private bytes: number;
  private released = false;

  constructor(
    private readonly budget: Pick<InFlightBudget, 'reserve' | 'release'>,
    bytes: number,
  ) {
    this.bytes = bytes;
    budget.reserve(bytes);
  }

  resize(bytes: number): void {
    if (this.released) return;
    if (bytes > this.bytes) this.budget.reserve(bytes - this.bytes);
    else if (bytes < this.bytes) this.budget.release(this.bytes - bytes);
    this.bytes = bytes;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.release(this.bytes);
  }
}
