/**
 * The flush timer: every `periodMs` it asks which tables are due — a table is due when it
 * has buffered data, no flush running, and either its commit interval has passed since its
 * last commit or consumption is paused for memory (flush whatever is buffered then).
 */
import type { TableRuntime } from './routing.ts';

export function dueTables(
  tables: Iterable<TableRuntime>,
  now: number,
  intervalMs: number,
  pausedForMemory: boolean,
): TableRuntime[] {
  const due: TableRuntime[] = [];
  for (const t of tables) {
    if (t.flushing || t.buffer.isEmpty) continue;
    if (pausedForMemory || now - t.lastCommitAt >= intervalMs) due.push(t);
  }
  return due;
}

export class FlushTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly periodMs: number,
    private readonly onTick: () => void,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(this.onTick, this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
