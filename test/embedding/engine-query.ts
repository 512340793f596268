/**
 * Querying the stream from an embedding project (`@kice/core`): the engine runs as a daemon
 * (`start()`) with a commit interval far longer than the example, so every row it reads
 * stays in its hot buffer, decoded but not committed. `engine.query` sees those rows (no
 * snapshot yet: all of them come from memory, `hot.partitions` says which partitions) and
 * `engine.get` finds a row by its record key; `stop()` commits them and `@kice/iceberg`
 * reads the same rows from the table. Built with plain `tsc` in a project that installed
 * the packages with npm (test/integration/packages.integration.test.ts runs it;
 * docs/embedding.md#querying describes the API).
 *
 *   node engine-query.js <broker host:port> <topic> <warehouse folder> <records on the topic>
 *
 * Prints one JSON line (bigints as strings): what the last query answered, the key lookup,
 * and the rows read back from the table after the stop.
 */
import { createCatalog, createEngine, createFileIO, validateConfig } from '@kice/core';
import { gtEq, parseIdentifier, scanRows } from '@kice/iceberg';

const [broker, topic, warehouse, expected] = process.argv.slice(2);
if (!broker || !topic || !warehouse || !expected)
  throw new Error(
    'usage: node engine-query.js <broker host:port> <topic> <warehouse folder> <records on the topic>',
  );
const records = Number(expected);

const config = validateConfig({
  kafka: { brokers: [broker], groupId: `${topic}-query` },
  catalog: { type: 'filesystem', warehouse },
  // An hour between commits: while the example queries, nothing is committed.
  commit: { intervalMs: 3_600_000 },
  tables: [{ topic, table: 'shop.hot', key: { format: 'string' } }],
  deadLetter: { topic: `${topic}.dead-letters` },
  log: { level: 'warn' },
});

const engine = createEngine(config);
await engine.start(); // joined the group; reading in the background until stop()

// Until every record on the topic is visible (the engine reads them meanwhile); before the
// first records are decoded the table has no columns yet, so this first loop selects none.
const deadline = Date.now() + 60_000;
for (;;) {
  const visible = (await (await engine.query('shop.hot')).toTable()).numRows;
  if (visible >= records) break;
  if (Date.now() > deadline) throw new Error(`only ${visible} of ${records} rows visible`);
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const r = await engine.query('shop.hot', { select: ['id', 'name', '_key'], where: gtEq('id', 0) });
const answer = {
  snapshotId: r.snapshotId,
  hot: r.hot,
  rows: (await r.toTable()).toArray().map((row) => row.toJSON() as Record<string, unknown>),
};
answer.rows.sort((a, b) => Number((a.id as bigint) - (b.id as bigint)));
const byKey = await engine.get('shop.hot', 'k3');

await engine.stop(); // the last flush and commit

const catalog = createCatalog(config.catalog, createFileIO(config.storage));
const table = await catalog.loadTable(parseIdentifier('shop.hot'));
const committed = await scanRows(table);
committed.sort((a, b) => Number((a.id as bigint) - (b.id as bigint)));
console.log(
  JSON.stringify(
    {
      query: answer,
      byKey,
      committed: committed.map((r) => ({ id: r.id, name: r.name, _key: r._key })),
    },
    (_k, v) => (typeof v === 'bigint' ? v.toString() : v),
  ),
);
