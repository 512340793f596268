/**
 * The Confluent Schema Registry wire format of a record value (or key):
 * byte 0 = magic 0, bytes 1–4 = the schema id (big-endian, unsigned), then the payload
 * (for Avro: the datum in Avro's binary encoding, no container header).
 *
 * Spec: https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format
 */
import { KiceError } from '../errors.ts';

/** The schema id and where the payload starts. */
export interface Frame {
  readonly schemaId: number;
  readonly payloadOffset: number;
}

export const FRAME_HEADER_BYTES = 5;

/** Reads the frame header; DECODE_FAILED (for the dead letter's reason) when it is not one. */
export function readFrame(value: Uint8Array): Frame {
  if (value.length < FRAME_HEADER_BYTES) {
    throw new KiceError(
      'DECODE_FAILED',
      `not a Schema Registry frame: ${value.length} bytes, the header alone is ${FRAME_HEADER_BYTES}`,
      { context: { length: value.length } },
    );
  }
  if (value[0] !== 0) {
    throw new KiceError(
      'DECODE_FAILED',
      `not a Schema Registry frame: magic byte is ${value[0]}, expected 0`,
      { context: { magic: value[0] } },
    );
  }
  const schemaId =
    ((value[1] as number) * 0x1000000 +
      (((value[2] as number) << 16) | ((value[3] as number) << 8) | (value[4] as number))) >>>
    0;
  return { schemaId, payloadOffset: FRAME_HEADER_BYTES };
}
