/**
 * kice configuration: the YAML file's shape, its defaults and its rules, validated once
 * at the boundary (zod) into a frozen, fully defaulted object. Every problem is reported
 * with its path (`tables[1].table: …`), all at once. Documented in docs/config.md.
 */
import { availableParallelism } from 'node:os';
import { parsePrimitive } from '@kice/iceberg';
import { z } from 'zod';
import { schemaRegistrySchema } from '../registry/config.ts';
import {
  isRegistryFormat,
  isRegistryKeyFormat,
  REGISTRY_FORMATS,
  REGISTRY_KEY_FORMATS,
} from '../registry/formats.ts';
import { isLoopback, parseListen } from './http-listen.ts';
import { planMemoryLimit } from './memory-plan.ts';
import { parsePartitionBy } from './partition-by.ts';

const positiveInt = z.number().int().positive();

/** memory.maxInFlightBytes without memory.limit. */
export const DEFAULT_MAX_IN_FLIGHT = 256 * 1024 * 1024;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/;
const IDENT_TEMPLATE = /^[A-Za-z_{][A-Za-z0-9_{}]*(\.[A-Za-z_{][A-Za-z0-9_{}]*)+$/;

/** YAML's flow sequence `[day(ts), bucket(16, user_id)]` splits `bucket(16, user_id)` at
 * its comma; put such pieces back together while parentheses are unbalanced. */
function rejoinSplitCalls(v: unknown): unknown {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return v;
  const out: string[] = [];
  let open = 0;
  for (const piece of v as string[]) {
    if (open > 0) out[out.length - 1] += `, ${piece.trim()}`;
    else out.push(piece.trim());
    open += (piece.match(/\(/g)?.length ?? 0) - (piece.match(/\)/g)?.length ?? 0);
  }
  return out;
}

/** An http(s) URL (the REST catalog's `uri`, `oauth2ServerUri`). */
const httpUrl = z.string().refine(
  (v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '';
    } catch {
      return false;
    }
  },
  { message: 'expected http(s) URL' },
);

const filesystemCatalogSchema = z
  .object({
    type: z.literal('filesystem'),
    /** A local folder (relative to the config file) or a file:// URI. */
    warehouse: z.string().min(1),
  })
  .strict();

/** An Iceberg REST catalog (docs/config.md#catalog). */
const restCatalogSchema = z
  .object({
    type: z.literal('rest'),
    /** Base URI; requests go to `<uri>/v1/...`. */
    uri: httpUrl,
    /** Sent as `GET /v1/config?warehouse=`; meaning is the server's. */
    warehouse: z.string().min(1).optional(),
    /** OAuth2 client credentials `client_id:client_secret` (or just a secret). */
    credential: z.string().min(1).optional(),
    /** A static bearer token. */
    token: z.string().min(1).optional(),
    /** Path prefix; default: the server's `prefix` from /v1/config. */
    prefix: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    /** OAuth2 scope (default `catalog`). */
    scope: z.string().min(1).optional(),
    /** Token endpoint (default `<uri>/v1/oauth/tokens`). */
    oauth2ServerUri: httpUrl.optional(),
    /** Sent as X-Iceberg-Access-Delegation. */
    accessDelegation: z.enum(['vended-credentials', 'remote-signing']).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.credential !== undefined && c.token !== undefined)
      ctx.addIssue({
        code: 'custom',
        message: 'set either credential or token, not both',
        path: ['token'],
      });
  });

export type CatalogConfig =
  | z.output<typeof filesystemCatalogSchema>
  | z.output<typeof restCatalogSchema>;

/** A top-level column name for a metadata column: no dots or brackets (those are paths). */
const columnName = z
  .string()
  .min(1)
  .regex(/^[^.[\]]+$/, 'a top-level column name (no ".", "[" or "]")');

/** Opt-in Kafka metadata struct column (decode/record-meta.ts). */
const metadataSchema = z
  .object({
    /** Name of the struct column with topic, partition, offset, timestamp, headers. */
    column: columnName.default('_kafka'),
  })
  .strict();

/** The record key as a column (decode/record-meta.ts). */
const keySchema = z
  .object({
    /** none: no key column; string: UTF-8 text; json: parsed and inferred like values;
     * avro, json-schema: Confluent-framed, the key's schema from `schemaRegistry`
     * (registry/key-codecs.ts). */
    format: z.enum(['none', 'string', 'json', ...REGISTRY_KEY_FORMATS]).default('none'),
    column: columnName.default('_key'),
  })
  .strict();

const tableSchema = z
  .object({
    topic: z.string().min(1).optional(),
    topicPattern: z.string().min(1).optional(),
    table: z.string().min(1),
    /** Registry formats (`avro`, …: registry/formats.ts) read Confluent-framed values
     * through `schemaRegistry`; `raw` keeps each value's bytes (decode/raw-decoder.ts). */
    format: z.enum(['json', 'raw', ...REGISTRY_FORMATS]).default('json'),
    /** format raw: the binary column holding the value. */
    valueColumn: columnName.optional(),
    partitionBy: z.preprocess(rejoinSplitCalls, z.array(z.string())).default([]),
    /** Column types that inference cannot guess (e.g. `ts: timestamptz`, `amount: decimal(12, 2)`);
     * keys are column names, dotted for nested fields. */
    columns: z.record(z.string(), z.string()).default({}),
    /** Iceberg table properties set when kice creates the table. */
    properties: z.record(z.string(), z.string()).default({}),
    /** A value of another JSON kind than its column: kept as JSON text in a string column
     * (before the column's first commit the column becomes one), or dead-lettered. */
    typeConflicts: z.enum(['asString', 'deadLetter']).default('asString'),
    /** Kafka metadata as a struct column (off unless set). */
    metadata: metadataSchema.optional(),
    /** The record key as a column (default format none: no column). */
    key: keySchema.default({ format: 'none', column: '_key' }),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.valueColumn !== undefined && t.format !== 'raw')
      ctx.addIssue({
        code: 'custom',
        message: `valueColumn is only for format raw (this table's format is ${t.format})`,
        path: ['valueColumn'],
      });
    const valueColumn = t.valueColumn ?? 'value';
    if (t.format === 'raw') {
      if (t.metadata !== undefined && t.metadata.column === valueColumn)
        ctx.addIssue({
          code: 'custom',
          message: `the metadata column cannot have the value column's name "${valueColumn}"`,
          path: ['metadata', 'column'],
        });
      if (t.key.format !== 'none' && t.key.column === valueColumn)
        ctx.addIssue({
          code: 'custom',
          message: `the key column cannot have the value column's name "${valueColumn}"`,
          path: ['key', 'column'],
        });
      for (const col of Object.keys(t.columns))
        if (col.split(/[.[]/, 1)[0] !== t.key.column || t.key.format !== 'json')
          ctx.addIssue({
            code: 'custom',
            message:
              'format raw has one binary value column; columns can only type fields of a json key',
            path: ['columns', col],
          });
    }
    if (t.metadata !== undefined && t.key.format !== 'none' && t.metadata.column === t.key.column)
      ctx.addIssue({
        code: 'custom',
        message: `the key column cannot have the metadata column's name "${t.key.column}"`,
        path: ['key', 'column'],
      });
    for (const col of Object.keys(t.columns)) {
      if (t.format === 'json-schema')
        ctx.addIssue({
          code: 'custom',
          message: 'the JSON Schema sets the column types of a format json-schema table',
          path: ['columns', col],
        });
      const top = col.split(/[.[]/, 1)[0];
      if (t.metadata !== undefined && top === t.metadata.column)
        ctx.addIssue({
          code: 'custom',
          message: `the metadata column "${top}" has a fixed type; no column type can be set in it`,
          path: ['columns', col],
        });
      if (t.key.format === 'string' && top === t.key.column)
        ctx.addIssue({
          code: 'custom',
          message: `the key column "${top}" is a string (key.format string); set key.format json to type its fields`,
          path: ['columns', col],
        });
      if (isRegistryKeyFormat(t.key.format) && top === t.key.column)
        ctx.addIssue({
          code: 'custom',
          message: `the key's schema sets the types of the key column "${top}" (key.format ${t.key.format})`,
          path: ['columns', col],
        });
    }
    if ((t.topic === undefined) === (t.topicPattern === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'set exactly one of topic or topicPattern',
        path: ['topic'],
      });
    }
    if (t.topicPattern !== undefined) {
      try {
        new RegExp(t.topicPattern);
      } catch (e) {
        ctx.addIssue({
          code: 'custom',
          message: `invalid regular expression: ${(e as Error).message}`,
          path: ['topicPattern'],
        });
      }
      if (!t.table.includes('{topic}')) {
        ctx.addIssue({
          code: 'custom',
          message: 'a topicPattern table needs a template with {topic}, e.g. "raw.{topic}"',
          path: ['table'],
        });
      }
      if (!IDENT_TEMPLATE.test(t.table)) {
        ctx.addIssue({
          code: 'custom',
          message: `"${t.table}" is not namespace.name`,
          path: ['table'],
        });
      }
    } else if (!IDENT.test(t.table)) {
      ctx.addIssue({
        code: 'custom',
        message: `"${t.table}" is not namespace.name (letters, digits, underscores)`,
        path: ['table'],
      });
    }
    for (const [col, type] of Object.entries(t.columns)) {
      try {
        parsePrimitive(type);
      } catch {
        ctx.addIssue({
          code: 'custom',
          message: `"${type}" is not an Iceberg primitive type`,
          path: ['columns', col],
        });
      }
    }
    t.partitionBy.forEach((p, i) => {
      const parsed = parsePartitionBy(p);
      if (typeof parsed === 'string')
        ctx.addIssue({ code: 'custom', message: parsed, path: ['partitionBy', i] });
    });
  });

const S3_RETRY_DEFAULTS = {
  maxAttempts: 8,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
  totalTimeoutMs: 60_000,
};

const s3RetrySchema = z
  .object({
    /** Attempts per request in total, the first included. */
    maxAttempts: positiveInt.max(100).default(S3_RETRY_DEFAULTS.maxAttempts),
    baseDelayMs: positiveInt.default(S3_RETRY_DEFAULTS.baseDelayMs),
    maxDelayMs: positiveInt.default(S3_RETRY_DEFAULTS.maxDelayMs),
    /** No new attempt starts this long after a request's first one. */
    totalTimeoutMs: positiveInt.default(S3_RETRY_DEFAULTS.totalTimeoutMs),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.baseDelayMs > r.maxDelayMs) {
      ctx.addIssue({
        code: 'custom',
        message: `must not exceed storage.s3.retry.maxDelayMs (${r.maxDelayMs})`,
        path: ['baseDelayMs'],
      });
    }
  });

const S3_DEFAULTS = {
  partSizeBytes: 8 * 1024 * 1024,
  partsInFlight: 4,
  requestTimeoutMs: 30_000,
  retry: S3_RETRY_DEFAULTS,
};

const s3Schema = z
  .object({
    /** An S3-compatible store's endpoint URL; AWS S3 when absent. */
    endpoint: z.string().url().optional(),
    region: z.string().min(1).optional(),
    /** Path-style requests (http://host/bucket/key), which most S3-compatible stores need. */
    forcePathStyle: z.boolean().optional(),
    /** Explicit credentials; the AWS SDK's default provider chain when absent. */
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
    sessionToken: z.string().min(1).optional(),
    /** Multipart part size; objects up to this size are one PUT. S3 needs ≥ 5 MiB. */
    partSizeBytes: positiveInt
      .min(5 * 1024 * 1024, 'must be at least 5242880 (5 MiB, the S3 minimum part size)')
      .max(5 * 1024 * 1024 * 1024)
      .default(S3_DEFAULTS.partSizeBytes),
    /** Parts uploading at once per file (memory per file ≤ partSizeBytes × partsInFlight). */
    partsInFlight: positiveInt.max(64).default(S3_DEFAULTS.partsInFlight),
    /** Per-attempt socket timeout. */
    requestTimeoutMs: positiveInt.default(S3_DEFAULTS.requestTimeoutMs),
    retry: s3RetrySchema.default(S3_RETRY_DEFAULTS),
  })
  .strict()
  .superRefine((s, ctx) => {
    if ((s.accessKeyId === undefined) !== (s.secretAccessKey === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'set both accessKeyId and secretAccessKey, or neither (default credential chain)',
        path: [s.accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey'],
      });
    }
    if (s.sessionToken !== undefined && s.accessKeyId === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'sessionToken needs accessKeyId and secretAccessKey',
        path: ['sessionToken'],
      });
    }
  });

/** The operations endpoint (health, readiness, metrics, tables): docs/operations.md. */
const httpSchema = z
  .object({
    /** `host:port`, or a port alone for 127.0.0.1; port 0 picks a free port (logged). */
    listen: z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string().min(1)),
    /** Required for a host other than loopback: the endpoint is reachable from outside. */
    allowRemote: z.boolean().default(false),
    /** Every route but /health then needs `Authorization: Bearer <token>`. */
    bearerToken: z.string().min(16, 'must be at least 16 characters').optional(),
  })
  .strict()
  .superRefine((h, ctx) => {
    const parsed = parseListen(h.listen);
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: parsed, path: ['listen'] });
    } else if (!isLoopback(parsed.host) && !h.allowRemote) {
      ctx.addIssue({
        code: 'custom',
        message: `"${parsed.host}" is not a loopback address: set http.allowRemote: true to listen on it (and consider http.bearerToken)`,
        path: ['listen'],
      });
    }
  });

export const configSchema = z
  .object({
    kafka: z
      .object({
        brokers: z.array(z.string().regex(/^[^\s:]+:\d+$/, 'expected host:port')).min(1),
        groupId: z.string().min(1),
        clientId: z.string().min(1).default('kice'),
        /** Where to start a partition that neither the table nor the group has offsets for. */
        autoOffsetReset: z.enum(['earliest', 'latest']).default('earliest'),
        sessionTimeoutMs: positiveInt.default(30_000),
        heartbeatIntervalMs: positiveInt.default(3_000),
        maxBytesPerPartition: positiveInt.default(8 * 1024 * 1024),
        maxBytes: positiveInt.default(32 * 1024 * 1024),
        minBytes: positiveInt.default(64 * 1024),
        maxWaitTimeInMs: positiveInt.max(5_000).default(500),
        /** How records are fetched: raw (kice's own Fetch requests, whole record batches
         * parsed in the worker pool) or kafkajs (kafkajs's consumer, records packed on the
         * main thread); docs/config.md. */
        fetch: z.enum(['raw', 'kafkajs']).default('raw'),
        /** Retries of admin, metadata and offset calls on transient errors (source/retry.ts). */
        retry: z
          .object({
            initialDelayMs: positiveInt.default(250),
            maxDelayMs: positiveInt.default(5_000),
            timeoutMs: positiveInt.default(300_000),
          })
          .strict()
          .superRefine((r, ctx) => {
            if (r.initialDelayMs > r.maxDelayMs) {
              ctx.addIssue({
                code: 'custom',
                message: `must not exceed kafka.retry.maxDelayMs (${r.maxDelayMs})`,
                path: ['initialDelayMs'],
              });
            }
            if (r.maxDelayMs > r.timeoutMs) {
              ctx.addIssue({
                code: 'custom',
                message: `must not exceed kafka.retry.timeoutMs (${r.timeoutMs})`,
                path: ['maxDelayMs'],
              });
            }
          })
          .default({ initialDelayMs: 250, maxDelayMs: 5_000, timeoutMs: 300_000 }),
        /**
         * TLS to the brokers: `true` trusts the system's CAs; an object adds a CA, a client
         * certificate and key (each a file path relative to the config file, or inline PEM).
         * Read and checked by config/tls.ts.
         */
        ssl: z
          .union([
            z.boolean(),
            z
              .object({
                ca: z.string().min(1).optional(),
                cert: z.string().min(1).optional(),
                key: z.string().min(1).optional(),
                passphrase: z.string().min(1).optional(),
                rejectUnauthorized: z.boolean().default(true),
                servername: z.string().min(1).optional(),
              })
              .strict()
              .superRefine((t, ctx) => {
                if (t.cert !== undefined && t.key === undefined)
                  ctx.addIssue({
                    code: 'custom',
                    message: 'required with kafka.ssl.cert',
                    path: ['key'],
                  });
                if (t.key !== undefined && t.cert === undefined)
                  ctx.addIssue({
                    code: 'custom',
                    message: 'required with kafka.ssl.key',
                    path: ['cert'],
                  });
              }),
          ])
          .default(false),
        sasl: z
          .object({
            mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
            username: z.string().min(1),
            password: z.string().min(1),
          })
          .strict()
          .optional(),
      })
      .strict(),
    catalog: z.discriminatedUnion('type', [filesystemCatalogSchema, restCatalogSchema]),
    /** A Confluent-compatible Schema Registry (registry/config.ts), for registry formats. */
    schemaRegistry: schemaRegistrySchema.optional(),
    tables: z.array(tableSchema).min(1),
    /** Object-store settings for warehouses and data files at s3:// URIs (docs/config.md). */
    storage: z
      .object({
        s3: s3Schema.default(S3_DEFAULTS),
      })
      .strict()
      .default({ s3: S3_DEFAULTS }),
    commit: z
      .object({
        /** A table flushes and commits when this much time passed since its last commit… */
        intervalMs: positiveInt.default(10_000),
        /** …or when its buffered data reaches this size, whichever comes first. */
        targetFileSizeBytes: positiveInt.default(128 * 1024 * 1024),
      })
      .strict()
      .default({ intervalMs: 10_000, targetFileSizeBytes: 128 * 1024 * 1024 }),
    deadLetter: z
      .object({
        /** Kafka topic the dead letters are produced to (at-least-once). */
        topic: z.string().min(1).optional(),
        /** Iceberg table (`namespace.name`) the dead letters are committed to, exactly once
         * (committed with the good rows' offsets; pipeline/dead-letter-rows.ts). */
        table: z
          .string()
          .regex(IDENT, 'expected namespace.name (letters, digits, underscores)')
          .optional(),
        /** Null-valued records: counted and skipped, or sent to the dead-letter topic. */
        tombstones: z.enum(['skip', 'deadLetter']).default('skip'),
        /** Create the topic at start when it is missing (else start fails). */
        create: z.boolean().default(true),
        /** Partitions of a topic kice creates. */
        partitions: positiveInt.default(1),
        /** Replication factor of a topic kice creates; -1: the broker's default.replication.factor. */
        replicationFactor: z
          .number()
          .int()
          .refine((n) => n === -1 || (n >= 1 && n <= 32_767), {
            message: "expected -1 (the broker's default.replication.factor) or 1 to 32767",
          })
          .default(-1),
      })
      .strict()
      .superRefine((d, ctx) => {
        if (d.topic === undefined && d.table === undefined) {
          ctx.addIssue({
            code: 'custom',
            message: 'set topic, table or both (where dead letters go)',
            path: [],
          });
        }
      }),
    workers: z
      .object({
        /** Piscina pool size; default: the number of cores. */
        threads: positiveInt.optional(),
      })
      .strict()
      .default({}),
    limits: z
      .object({
        /** Larger record values go to the dead-letter topic instead of the table. */
        maxRecordBytes: positiveInt.default(1024 * 1024),
        /** Records whose arrays/objects nest deeper are dead-lettered. */
        maxNestingDepth: positiveInt.max(1000).default(32),
        /** A record that would give its table more fields (nested ones count) is dead-lettered. */
        maxColumns: positiveInt.max(100_000).default(1000),
      })
      .strict()
      .default({ maxRecordBytes: 1024 * 1024, maxNestingDepth: 32, maxColumns: 1000 }),
    memory: z
      .object({
        /** A cap on the whole process (bytes of resident memory): the budget, row-group
         * sizes and thread heap caps are derived from it (./memory-plan.ts). */
        limit: positiveInt.optional(),
        /** Cap on fetched + decoding + buffered + flushing bytes; past it partitions pause.
         * Default: derived from memory.limit when set, else 256 MiB. */
        maxInFlightBytes: positiveInt.optional(),
      })
      .strict()
      .default({}),
    parquet: z
      .object({
        compression: z
          .enum(['snappy', 'zstd', 'lz4_raw', 'gzip', 'uncompressed'])
          .default('snappy'),
        rowGroupSize: positiveInt.default(1_000_000),
        /**
         * Cap on a row group's Arrow bytes; default maxInFlightBytes / 8 (at most 128 MiB),
         * under memory.limit limit / 128 (1–16 MiB).
         * The Parquet encoder holds one row group in memory that is never returned.
         */
        rowGroupBytes: positiveInt.optional(),
        /** Cap on a column chunk's dictionary page; past it the column is plain-encoded. */
        dictionaryPageBytes: positiveInt.default(65_536),
        /**
         * Write page-level statistics and the Parquet page index (column and offset
         * indexes) as Java's writer does, so readers (kice's queries, Spark, Trino, DuckDB)
         * skip the pages a filter rules out. ~1% more encode time; off by default.
         */
        pageIndex: z.boolean().default(false),
      })
      .strict()
      .default({
        compression: 'snappy',
        rowGroupSize: 1_000_000,
        dictionaryPageBytes: 65_536,
        pageIndex: false,
      }),
    shutdown: z
      .object({
        /** SIGTERM/SIGINT: past this, `kice run` logs what is still pending and exits 1. */
        timeoutMs: positiveInt.default(30_000),
      })
      .strict()
      .default({ timeoutMs: 30_000 }),
    http: httpSchema.optional(),
    log: z
      .object({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info'),
        /**
         * `json`: pino JSON lines; `pretty`: one human-readable line per entry; `auto`
         * (default): pretty when stdout is a terminal, JSON otherwise.
         */
        format: z.enum(['auto', 'pretty', 'json']).default('auto'),
        /**
         * How often `kice run` logs a one-line status, and `kice run --once` prints a
         * progress line when stderr is not a terminal.
         */
        statusIntervalMs: positiveInt.default(30_000),
      })
      .strict()
      .default({ level: 'info', format: 'auto', statusIntervalMs: 30_000 }),
  })
  .strict()
  .superRefine((c, ctx) => {
    c.tables.forEach((t, i) => {
      if (isRegistryFormat(t.format) && c.schemaRegistry === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `format ${t.format} needs the top-level schemaRegistry setting`,
          path: ['tables', i, 'format'],
        });
      }
      if (isRegistryKeyFormat(t.key.format) && c.schemaRegistry === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `key.format ${t.key.format} needs the top-level schemaRegistry setting`,
          path: ['tables', i, 'key', 'format'],
        });
      }
    });
    if (c.memory.limit !== undefined) {
      const plan = planMemoryLimit({
        limit: c.memory.limit,
        workers: c.workers.threads ?? availableParallelism(),
        ...(c.memory.maxInFlightBytes === undefined
          ? {}
          : { maxInFlightBytes: c.memory.maxInFlightBytes }),
        ...(c.parquet.rowGroupBytes === undefined
          ? {}
          : { rowGroupBytes: c.parquet.rowGroupBytes }),
      });
      if (!plan.ok) ctx.addIssue({ code: 'custom', message: plan.message, path: plan.path });
    }
  })
  .transform((c) => {
    const { limit, maxInFlightBytes } = c.memory;
    // Valid here (superRefine above): a limit's plan fits.
    const plan =
      limit === undefined
        ? undefined
        : planMemoryLimit({
            limit,
            workers: c.workers.threads ?? availableParallelism(),
            ...(maxInFlightBytes === undefined ? {} : { maxInFlightBytes }),
            ...(c.parquet.rowGroupBytes === undefined
              ? {}
              : { rowGroupBytes: c.parquet.rowGroupBytes }),
          });
    const memory: { limit?: number; maxInFlightBytes: number } = {
      ...(limit === undefined ? {} : { limit }),
      maxInFlightBytes:
        plan?.ok === true ? plan.maxInFlightBytes : (maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT),
    };
    return { ...c, memory };
  });

export type KiceConfigInput = z.input<typeof configSchema>;
export type KiceConfig = z.output<typeof configSchema>;
export type TableConfig = KiceConfig['tables'][number];
export type StorageConfig = KiceConfig['storage'];
export type HttpConfig = NonNullable<KiceConfig['http']>;
