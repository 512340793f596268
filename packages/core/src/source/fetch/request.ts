/**
 * The Fetch request, version 11, encoded by kice (https://kafka.apache.org/protocol#The_Messages_Fetch):
 *
 *   replica_id INT32 (-1: a consumer) | max_wait_ms INT32 | min_bytes INT32 | max_bytes INT32
 *   | isolation_level INT8 (0 read_uncommitted, 1 read_committed) | session_id INT32 (0)
 *   | session_epoch INT32 (-1: no fetch session, every request is a full fetch)
 *   | topics ARRAY(topic STRING, partitions ARRAY(partition INT32,
 *       current_leader_epoch INT32, fetch_offset INT64, log_start_offset INT64 (-1),
 *       partition_max_bytes INT32))
 *   | forgotten_topics_data ARRAY (empty) | rack_id STRING ("")
 *
 * Only the body: the request header (api key, version, correlation id, client id) is the
 * transport's (transport.ts). Arrays are INT32-counted and strings INT16-length-prefixed
 * UTF-8, as in every non-flexible version.
 */
import type { IsolationLevel } from '../batches/parse.ts';

/** One partition of a Fetch request. */
export interface FetchPartitionRequest {
  readonly partition: number;
  /** The leader epoch the metadata names, or -1 when unknown (the broker then skips the check). */
  readonly currentLeaderEpoch: number;
  readonly fetchOffset: bigint;
  readonly partitionMaxBytes: number;
}

/** One topic of a Fetch request. */
export interface FetchTopicRequest {
  readonly topic: string;
  readonly partitions: readonly FetchPartitionRequest[];
}

/** What a consumer's Fetch v11 asks for. */
export interface FetchRequest {
  readonly maxWaitTimeMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly isolation: IsolationLevel;
  readonly topics: readonly FetchTopicRequest[];
}

/** The request body of a Fetch v11 as bytes. */
export function encodeFetchRequest(r: FetchRequest): Buffer {
  const names = r.topics.map((t) => Buffer.from(t.topic, 'utf8'));
  let size = 4 + 4 + 4 + 4 + 1 + 4 + 4 + 4 + 4 + 2;
  for (let i = 0; i < r.topics.length; i++) {
    const name = names[i] as Buffer;
    if (name.length > 0x7fff) throw new RangeError(`topic name too long: ${r.topics[i]?.topic}`);
    size += 2 + name.length + 4 + (r.topics[i]?.partitions.length ?? 0) * 28;
  }
  const b = Buffer.alloc(size);
  let at = 0;
  at = b.writeInt32BE(-1, at);
  at = b.writeInt32BE(r.maxWaitTimeMs, at);
  at = b.writeInt32BE(r.minBytes, at);
  at = b.writeInt32BE(r.maxBytes, at);
  at = b.writeInt8(r.isolation === 'read_committed' ? 1 : 0, at);
  at = b.writeInt32BE(0, at);
  at = b.writeInt32BE(-1, at);
  at = b.writeInt32BE(r.topics.length, at);
  r.topics.forEach((t, i) => {
    const name = names[i] as Buffer;
    at = b.writeInt16BE(name.length, at);
    at += name.copy(b, at);
    at = b.writeInt32BE(t.partitions.length, at);
    for (const p of t.partitions) {
      at = b.writeInt32BE(p.partition, at);
      at = b.writeInt32BE(p.currentLeaderEpoch, at);
      at = b.writeBigInt64BE(p.fetchOffset, at);
      at = b.writeBigInt64BE(-1n, at);
      at = b.writeInt32BE(p.partitionMaxBytes, at);
    }
  });
  at = b.writeInt32BE(0, at);
  at = b.writeInt16BE(0, at);
  if (at !== size) throw new Error(`Fetch request size mismatch: ${at} != ${size}`);
  return b;
}
