/**
 * One in-flight memory budget shared by the engines of a runtime (./runtime.ts). Each
 * engine draws from it through a member (`join`), shaped like an engine's own budget
 * (../pipeline/memory-budget.ts): its bytes count in its own metrics and in the runtime's
 * total, and the member pauses and resumes its engine.
 *
 * The policy (fair share under pressure), with C the cap and N the engines joined:
 * - an engine's fair share is C / N;
 * - an engine holding no more than its share pauses when the total passes C, and resumes
 *   at or below C / 2;
 * - an engine holding more than its share (a borrower: a tenant with a backlog) pauses
 *   as soon as the total passes C / 2, and resumes at or below C / 4 (at or below C / 2
 *   once its flushes brought it back within its share); pausing flushes its tables,
 *   which gives the bytes back.
 * So engines within their share always have the upper half of the budget to themselves:
 * a backlog holds itself back at half the cap and the others keep flowing, and no engine
 * is held paused while the total stays low. An engine alone uses the whole budget exactly
 * as without a runtime (its share is C). The total passes C only by what was already on
 * its way when the pauses took effect (one fetch per engine at most).
 */
import type { BudgetMetrics, InFlightBudget } from '../pipeline/memory-budget.ts';

export interface SharedBudgetStats {
  readonly capBytes: number;
  readonly inFlightBytes: number;
  readonly peakInFlightBytes: number;
  /** Engines drawing from the budget now. */
  readonly engines: number;
  /** Engines paused by the budget now. */
  readonly paused: number;
}

/** One engine's draw on the shared budget. */
export interface BudgetMember extends InFlightBudget {
  /** Leaves the budget: whatever the engine still holds is given back (it stopped). */
  leave(): void;
}

export class SharedMemoryBudget {
  private readonly members = new Set<Member>();
  private total = 0;
  private peak = 0;
  private evaluating = false;
  private again = false;

  constructor(readonly capBytes: number) {}

  join(metrics: BudgetMetrics, onPause: () => void, onResume: () => void): BudgetMember {
    const m = new Member(this, metrics, onPause, onResume);
    this.members.add(m);
    // Shares shrank: a member now over its share may have to pause.
    this.evaluate();
    return m;
  }

  stats(): SharedBudgetStats {
    let paused = 0;
    for (const m of this.members) if (m.paused) paused++;
    return {
      capBytes: this.capBytes,
      inFlightBytes: this.total,
      peakInFlightBytes: this.peak,
      engines: this.members.size,
      paused,
    };
  }

  /** @internal: a member's bytes changed by `bytes`. */
  add(bytes: number): void {
    this.total += bytes;
    if (this.total > this.peak) this.peak = this.total;
    this.evaluate();
  }

  /** @internal */
  remove(m: Member): void {
    this.members.delete(m);
    this.evaluate();
  }

  /** The total at which `m` pauses, as things stand. */
  private limitOf(m: Member): number {
    const share = this.capBytes / Math.max(1, this.members.size);
    return m.used > share ? this.capBytes / 2 : this.capBytes;
  }

  /** Pauses and resumes members as the policy says; callbacks that change the budget
   * (a flush releasing bytes at once) make it run again rather than recurse. */
  private evaluate(): void {
    if (this.evaluating) {
      this.again = true;
      return;
    }
    this.evaluating = true;
    try {
      do {
        this.again = false;
        for (const m of this.members) {
          const limit = this.limitOf(m);
          if (!m.paused && this.total > limit) m.pause();
          else if (m.paused && this.total <= limit / 2) m.resume();
        }
      } while (this.again);
    } finally {
      this.evaluating = false;
    }
  }
}

class Member implements BudgetMember {
  private pausedNow = false;
  private frozen = false;
  private left = false;

  constructor(
    private readonly owner: SharedMemoryBudget,
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

  reserve(bytes: number): void {
    this.adjust(bytes);
  }

  release(bytes: number): void {
    this.adjust(-bytes);
  }

  freeze(): void {
    this.frozen = true;
  }

  leave(): void {
    if (this.left) return;
    this.left = true;
    this.frozen = true;
    this.owner.add(-this.metrics.inFlightBytes);
    this.owner.remove(this);
  }

  /** @internal */
  pause(): void {
    this.pausedNow = true;
    this.metrics.pausedForBackpressure++;
    this.onPause();
  }

  /** @internal */
  resume(): void {
    if (this.frozen) return;
    this.pausedNow = false;
    this.onResume();
  }

  private adjust(bytes: number): void {
    if (bytes === 0) return;
    const m = this.metrics;
    m.inFlightBytes += bytes;
    if (m.inFlightBytes > m.peakInFlightBytes) m.peakInFlightBytes = m.inFlightBytes;
    // After leaving (late releases of a stopped engine) the runtime no longer counts it.
    if (!this.left) this.owner.add(bytes);
  }
}
