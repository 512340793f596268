/**
 * What the fetcher does with a partition's error code in a Fetch response
 * (https://kafka.apache.org/protocol#protocol_error_codes, Fetch:
 * https://kafka.apache.org/protocol#The_Messages_Fetch):
 * - `reroute`: the leadership or the replica is in flux (not the leader, leader not
 *   available, unknown partition while metadata catches up, fenced or unknown leader
 *   epoch, a storage error on the leader, too few replicas): refresh metadata, fetch from
 *   the leader it names, after a backoff; never fatal;
 * - `retry`: transient on the broker (request timed out, corrupt message on the wire):
 *   fetch again after a backoff;
 * - `out_of_range`: OFFSET_OUT_OF_RANGE, handled by the fetcher (log start / end);
 * - `fatal`: anything else (authorization, unsupported version, ...): reported as an error.
 */

/** Error codes a Fetch response carries, by name. */
export const FETCH_ERROR_NAMES: Readonly<Record<number, string>> = {
  1: 'OFFSET_OUT_OF_RANGE',
  2: 'CORRUPT_MESSAGE',
  3: 'UNKNOWN_TOPIC_OR_PARTITION',
  5: 'LEADER_NOT_AVAILABLE',
  6: 'NOT_LEADER_OR_FOLLOWER',
  7: 'REQUEST_TIMED_OUT',
  8: 'BROKER_NOT_AVAILABLE',
  9: 'REPLICA_NOT_AVAILABLE',
  13: 'NETWORK_EXCEPTION',
  19: 'NOT_ENOUGH_REPLICAS',
  20: 'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  29: 'TOPIC_AUTHORIZATION_FAILED',
  35: 'UNSUPPORTED_VERSION',
  56: 'KAFKA_STORAGE_ERROR',
  74: 'FENCED_LEADER_EPOCH',
  75: 'UNKNOWN_LEADER_EPOCH',
  78: 'OFFSET_NOT_AVAILABLE',
};

export type FetchErrorAction = 'reroute' | 'retry' | 'out_of_range' | 'fatal';

const REROUTE = new Set([3, 5, 6, 8, 9, 13, 19, 20, 56, 74, 75, 78]);
const RETRY = new Set([2, 7]);

/** The fetcher's action for a non-zero partition error code. */
export function fetchErrorAction(code: number): FetchErrorAction {
  if (code === 1) return 'out_of_range';
  if (REROUTE.has(code)) return 'reroute';
  if (RETRY.has(code)) return 'retry';
  return 'fatal';
}

/** "NAME (code)" for logs and errors. */
export function fetchErrorName(code: number): string {
  return `${FETCH_ERROR_NAMES[code] ?? 'error'} (${code})`;
}
