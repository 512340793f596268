/**
 * Partition specs and sort orders.
 *
 * Spec: https://iceberg.apache.org/spec/#partitioning and
 * https://iceberg.apache.org/spec/#sorting
 *
 * JSON: {"spec-id":0,"fields":[{"source-id":4,"field-id":1000,"name":"ts_day","transform":"day"}]}
 *       {"order-id":1,"fields":[{"transform":"identity","source-id":2,"direction":"asc","null-order":"nulls-first"}]}
 */

export interface PartitionField {
  readonly sourceId: number;
  /** Partition field IDs start at 1000. */
  readonly fieldId: number;
  readonly name: string;
  /** Transform as written in JSON: identity, bucket[N], truncate[W], year, month, day, hour, void. */
  readonly transform: string;
}

export interface PartitionSpec {
  readonly specId: number;
  readonly fields: readonly PartitionField[];
}

export interface SortField {
  readonly transform: string;
  readonly sourceId: number;
  readonly direction: 'asc' | 'desc';
  readonly nullOrder: 'nulls-first' | 'nulls-last';
}

export interface SortOrder {
  readonly orderId: number;
  readonly fields: readonly SortField[];
}

export const UNPARTITIONED_SPEC: PartitionSpec = Object.freeze({ specId: 0, fields: [] });
export const UNSORTED_ORDER: SortOrder = Object.freeze({ orderId: 0, fields: [] });
/** `last-partition-id` of a table that never had a partition field. */
export const INITIAL_LAST_PARTITION_ID = 999;
