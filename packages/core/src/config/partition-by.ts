/**
 * `partitionBy` entries: `day(ts)`, `bucket(16, user_id)`, `truncate(4, name)`,
 * `identity(region)` or just `region`, `year(…)`, `month(…)`, `hour(…)`, `void(…)`.
 * Parsed here into the Iceberg transform string and the source column.
 */
export interface PartitionByEntry {
  /** Source column (dotted path for nested struct fields). */
  readonly column: string;
  /** Iceberg transform string: identity, bucket[N], truncate[W], year, month, day, hour, void. */
  readonly transform: string;
  /** Partition field name, as Java names them: ts_day, user_id_bucket, name_trunc, region. */
  readonly name: string;
}

const COL = '([A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z_][A-Za-z0-9_]*)*)';
const UNARY = new RegExp(`^(identity|year|month|day|hour|void)\\(\\s*${COL}\\s*\\)$`);
const WITH_ARG = new RegExp(`^(bucket|truncate)\\(\\s*(\\d+)\\s*,\\s*${COL}\\s*\\)$`);
const BARE = new RegExp(`^${COL}$`);

const SUFFIX: Record<string, string> = {
  year: '_year',
  month: '_month',
  day: '_day',
  hour: '_hour',
  void: '_null',
  bucket: '_bucket',
  truncate: '_trunc',
};

/** Returns the parsed entry, or an error message saying what is accepted. */
export function parsePartitionBy(text: string): PartitionByEntry | string {
  const s = text.trim();
  const bare = BARE.exec(s);
  if (bare)
    return {
      column: bare[1] as string,
      transform: 'identity',
      name: (bare[1] as string).replaceAll('.', '_'),
    };
  const u = UNARY.exec(s);
  if (u) {
    const [, fn, col] = u as unknown as [string, string, string];
    const base = col.replaceAll('.', '_');
    return { column: col, transform: fn, name: fn === 'identity' ? base : `${base}${SUFFIX[fn]}` };
  }
  const w = WITH_ARG.exec(s);
  if (w) {
    const [, fn, n, col] = w as unknown as [string, string, string, string];
    const num = Number(n);
    if (num < 1)
      return `"${text}": ${fn} needs a positive ${fn === 'bucket' ? 'bucket count' : 'width'}`;
    return {
      column: col,
      transform: `${fn}[${num}]`,
      name: `${col.replaceAll('.', '_')}${SUFFIX[fn]}`,
    };
  }
  return `"${text}" is not a partition transform: use column, identity(c), year(c), month(c), day(c), hour(c), bucket(N, c), truncate(W, c) or void(c)`;
}
