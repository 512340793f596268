/**
 * The value formats that are read through a Schema Registry (Confluent wire format: magic
 * byte 0, a 4-byte big-endian schema id, then the format's payload), and the one place a
 * format's batch decoder is chosen. Every registry format has a batch decoder with the same
 * input and result (RegistryBatchInput → RegistryBatchResult), run in the worker pool; the
 * coordinator resolves the batch's schema ids first (resolve.ts).
 *
 * Wire format: https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format
 */
import type { StructType } from '@kice/iceberg';
import type { MetaSpec, RecordMeta } from '../decode/record-meta.ts';

export const REGISTRY_FORMATS = ['avro', 'json-schema', 'protobuf'] as const;
export type RegistryFormat = (typeof REGISTRY_FORMATS)[number];

export function isRegistryFormat(f: string): f is RegistryFormat {
  return (REGISTRY_FORMATS as readonly string[]).includes(f);
}

/** The key formats read through the registry (`key.format`; registry/key-codecs.ts maps
 * and appends them): the value formats whose key codec exists. */
export const REGISTRY_KEY_FORMATS = ['avro', 'json-schema', 'protobuf'] as const;
export type RegistryKeyFormat = (typeof REGISTRY_KEY_FORMATS)[number];

export function isRegistryKeyFormat(f: string): f is RegistryKeyFormat {
  return (REGISTRY_KEY_FORMATS as readonly string[]).includes(f);
}

/** A schema the registry returned for an id, with the schemas it references (resolved
 * recursively by subject and version), by reference name. */
export interface ResolvedSchema {
  readonly schema: string;
  readonly references: readonly { readonly name: string; readonly schema: string }[];
}

/** What the coordinator sends a worker with a registry-format batch. */
export interface RegistryTaskSchemas {
  readonly format: RegistryFormat;
  /** Every schema id the batch's records name that the registry knows. */
  readonly schemas: Readonly<Record<number, ResolvedSchema>>;
  /** Why an id has no schema (e.g. the registry's 404), by id. */
  readonly unknown: Readonly<Record<number, string>>;
}

export interface RegistryBatchInput {
  readonly bytes: Uint8Array;
  readonly offsets: Int32Array;
  /** The table schema (or the last one this worker evolved to). */
  readonly schema: StructType;
  readonly schemas: Readonly<Record<number, ResolvedSchema>>;
  readonly unknown?: Readonly<Record<number, string>>;
  /** Kafka metadata and key columns, for tables that want them (decode/record-meta.ts). */
  readonly metadata?: { readonly spec: MetaSpec; readonly records: RecordMeta };
}

export interface RegistryBatchResult {
  readonly ipc: Uint8Array;
  readonly rows: number;
  readonly errors: { index: number; reason: string }[];
  readonly schema: StructType;
  readonly changed: boolean;
}
