/**
 * What the pipeline tells its observer as it works: the seam between the coordinator's
 * stages and the metrics (./engine-metrics.ts). Calls are synchronous and cheap; an
 * observer never throws and never blocks the pipeline.
 */

/** A contiguous range of one partition's offsets that a commit covered. */
export interface CommittedRange {
  readonly topic: string;
  readonly partition: number;
  readonly from: bigint;
  readonly to: bigint;
}

export interface PipelineObserver {
  /** Records handed to the pipeline (a batch claimed by its partition). */
  consumed(table: string, topic: string, partition: number, records: number): void;
  /** Dead letters of one table, by reason (the decoder's or the size check's text). */
  deadLettered(table: string, reasons: readonly string[]): void;
  /** A table commit landed. */
  committed(e: {
    readonly table: string;
    readonly ranges: readonly CommittedRange[];
    readonly rows: number;
    readonly fileSizes: readonly number[];
    /** Arrow bytes drained from the table's buffer for this flush. */
    readonly flushBytes: number;
    /** Seconds spent in the catalog commit (the append), files already written. */
    readonly commitSeconds: number;
    /** Seconds from drain to commit (write files + commit). */
    readonly flushSeconds: number;
  }): void;
  /** A commit refused by offset continuity (the partitions are re-read). */
  refused(table: string): void;
  /** The table's schema changed (columns added or widened by this process). */
  schemaChanged(table: string): void;
  /** Consumption paused for the in-flight memory budget, or resumed. */
  backpressure(paused: boolean): void;
  /** An error, fatal (the engine stops committing) or not (logged and retried). */
  error(code: string, fatal: boolean): void;
}
