/**
 * kice configuration: the YAML file's shape, its defaults and its rules, validated once
 * at the boundary (zod) into a frozen, fully defaulted object. Every problem is reported
 * with its path (`tables[1].table: …`), all at once. Documented in docs/config.md.
 */
import { parsePrimitive } from '@kice/iceberg';
import { z } from 'zod';
import { parsePartitionBy } from './partition-by.ts';

const positiveInt = z.number().int().positive();

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

const tableSchema = z
  .object({
    topic: z.string().min(1).optional(),
    topicPattern: z.string().min(1).optional(),
    table: z.string().min(1),
    format: z.enum(['json']).default('json'),
    partitionBy: z.preprocess(rejoinSplitCalls, z.array(z.string())).default([]),
    /** Column types that inference cannot guess (e.g. `ts: timestamptz`, `amount: decimal(12, 2)`);
     * keys are column names, dotted for nested fields. */
    columns: z.record(z.string(), z.string()).default({}),
    /** Iceberg table properties set when kice creates the table. */
    properties: z.record(z.string(), z.string()).default({}),
    /** A value of another JSON kind than its column: kept as JSON text in a string column
     * (before the column's first commit the column becomes one), or dead-lettered. */
    typeConflicts: z.enum(['asString', 'deadLetter']).default('asString'),
  })
  .strict()
  .superRefine((t, ctx) => {
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
        ssl: z.boolean().default(false),
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
    catalog: z
      .object({
        type: z.enum(['filesystem']),
        /** A local folder (relative to the config file) or a file:// URI. */
        warehouse: z.string().min(1),
      })
      .strict(),
    tables: z.array(tableSchema).min(1),
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
        /** Cap on fetched + decoding + buffered + flushing bytes; past it partitions pause. */
        maxInFlightBytes: positiveInt.default(256 * 1024 * 1024),
      })
      .strict()
      .default({ maxInFlightBytes: 256 * 1024 * 1024 }),
    parquet: z
      .object({
        compression: z
          .enum(['snappy', 'zstd', 'lz4_raw', 'gzip', 'uncompressed'])
          .default('snappy'),
        rowGroupSize: positiveInt.default(1_000_000),
        /**
         * Cap on a row group's Arrow bytes; default maxInFlightBytes / 8 (at most 128 MiB).
         * The Parquet encoder holds one row group in memory that is never returned.
         */
        rowGroupBytes: positiveInt.optional(),
      })
      .strict()
      .default({ compression: 'snappy', rowGroupSize: 1_000_000 }),
    shutdown: z
      .object({
        /** SIGTERM/SIGINT: past this, `kice run` logs what is still pending and exits 1. */
        timeoutMs: positiveInt.default(30_000),
      })
      .strict()
      .default({ timeoutMs: 30_000 }),
    log: z
      .object({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info'),
      })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();

export type KiceConfigInput = z.input<typeof configSchema>;
export type KiceConfig = z.output<typeof configSchema>;
export type TableConfig = KiceConfig['tables'][number];
