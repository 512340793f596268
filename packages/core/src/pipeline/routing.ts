/**
 * Routing and the table registry: which table a topic feeds (the first `tables[]` entry
 * whose `topic` equals it or whose `topicPattern` matches it) and the runtime state of each
 * table this process has seen (schema observed so far, the table's state, its hot buffer).
 */
import { type PrimitiveType, parsePrimitive, type Schema } from '@kice/iceberg';
import type { TableState } from '../commit/committer.ts';
import { type PartitionByEntry, parsePartitionBy } from '../config/partition-by.ts';
import type { TableConfig } from '../config/schema.ts';
import type { MetaSpec } from '../decode/record-meta.ts';
import { metaSpecOf } from './prepare-batch.ts';
import { TableBuffer } from './table-buffer.ts';

export interface TableRuntime {
  readonly name: string;
  readonly config: TableConfig;
  readonly partitionBy: readonly PartitionByEntry[];
  readonly hints: Readonly<Record<string, PrimitiveType>>;
  /** The Kafka metadata and key columns the table wants (config `metadata`, `key`). */
  readonly meta: MetaSpec | undefined;
  /** Everything seen so far, by name; field IDs provisional until the committer returns. */
  observed: Schema;
  /** Paths of placeholder columns in `observed` (fields only ever [] / {} so far) that no
   * flush has taken yet: hidden from decoding, so that a real type can replace them. */
  placeholders: Set<string>;
  /** The table as last read or committed; undefined until read (or while it does not exist). */
  state: TableState | undefined;
  readonly buffer: TableBuffer;
  lastCommitAt: number;
  /** True while a flush of this table runs (flushes of one table never overlap). */
  flushing: boolean;
  /** The table's state, read while the consumer joins its group; used once. */
  prefetch?: Promise<TableState | undefined> | undefined;
}

const EMPTY_SCHEMA: Schema = { type: 'struct', schemaId: 0, fields: [] };

/** Turns a topic name into a valid table name part. */
export function tableNameFor(template: string, topic: string): string {
  return template.replaceAll('{topic}', topic.replace(/[^A-Za-z0-9_]/g, '_'));
}

export class TableRegistry {
  private readonly tables = new Map<string, TableRuntime>();
  private readonly patterns: (RegExp | undefined)[];

  constructor(private readonly configs: readonly TableConfig[]) {
    this.patterns = configs.map((t) =>
      t.topicPattern !== undefined ? new RegExp(t.topicPattern) : undefined,
    );
  }

  /** The table config that routes `topic`, if any. */
  route(topic: string): TableConfig | undefined {
    for (let i = 0; i < this.configs.length; i++) {
      const t = this.configs[i] as TableConfig;
      if (t.topic === topic) return t;
      if (this.patterns[i]?.test(topic)) return t;
    }
    return undefined;
  }

  /** The runtime of the table `topic` feeds, created on first sight. */
  tableFor(topic: string): TableRuntime | undefined {
    const cfg = this.route(topic);
    if (!cfg) return undefined;
    const name = cfg.topic !== undefined ? cfg.table : tableNameFor(cfg.table, topic);
    let t = this.tables.get(name);
    if (!t) {
      t = {
        name,
        config: cfg,
        partitionBy: cfg.partitionBy.map((p) => parsePartitionBy(p) as PartitionByEntry),
        hints: Object.fromEntries(
          Object.entries(cfg.columns).map(([k, v]) => [k, parsePrimitive(v)]),
        ),
        meta: metaSpecOf(cfg),
        observed: EMPTY_SCHEMA,
        placeholders: new Set(),
        state: undefined,
        buffer: new TableBuffer(),
        lastCommitAt: Date.now(),
        flushing: false,
      };
      this.tables.set(name, t);
    }
    return t;
  }

  all(): IterableIterator<TableRuntime> {
    return this.tables.values();
  }

  names(): string[] {
    return [...this.tables.keys()];
  }
}

/**
 * Which topics feed a table that `wants` something (keys, headers): false when no table
 * does (the Source then keeps nothing for any topic), else a per-topic test, memoized.
 */
export function topicsWanting(
  configs: readonly TableConfig[],
  wants: (t: TableConfig) => boolean,
): false | ((topic: string) => boolean) {
  if (!configs.some(wants)) return false;
  const registry = new TableRegistry(configs);
  const seen = new Map<string, boolean>();
  return (topic) => {
    let v = seen.get(topic);
    if (v === undefined) {
      const t = registry.route(topic);
      v = t !== undefined && wants(t);
      seen.set(topic, v);
    }
    return v;
  };
}
