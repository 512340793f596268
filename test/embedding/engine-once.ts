/**
 * Embedding the kice engine (`@kice/core`): consumes a Kafka topic of JSON records up to
 * its end offsets into an Iceberg table in a local warehouse folder (`runOnce`), then
 * reads the table back with `@kice/iceberg`. Built with plain `tsc` in a project that
 * installed the packages with npm (test/integration/packages.integration.test.ts runs it;
 * docs/embedding.md shows it).
 *
 *   node engine-once.js <broker host:port> <topic> <warehouse folder>
 *
 * Prints the rows committed and dead-lettered (as the engine's events told) and the rows read back as one JSON line (bigints as strings).
 */
import {
  type CommitEvent,
  createCatalog,
  createEngine,
  createFileIO,
  validateConfig,
} from '@kice/core';
import { parseIdentifier, scanRows } from '@kice/iceberg';

const [broker, topic, warehouse] = process.argv.slice(2);
if (!broker || !topic || !warehouse)
  throw new Error('usage: node engine-once.js <broker host:port> <topic> <warehouse folder>');

// The same settings as a kice.yaml (docs/config.md); bad settings throw a ConfigError
// that names every bad path.
const config = validateConfig({
  kafka: { brokers: [broker], groupId: `${topic}-embedded` },
  catalog: { type: 'filesystem', warehouse },
  tables: [{ topic, table: 'shop.events', columns: { ts: 'timestamptz' } }],
  deadLetter: { topic: `${topic}.dead-letters` }, // records that cannot be written
  log: { level: 'warn' },
});

const engine = createEngine(config);
let committedRows = 0;
let deadLetters = 0;
engine.on('commit', (c: CommitEvent) => {
  committedRows += c.rows;
});
engine.on('deadLetter', (n) => {
  deadLetters += n;
});
await engine.runOnce(); // consume up to the end offsets seen at start, commit, stop

// The catalog and storage the engine wrote to, from the same config.
const catalog = createCatalog(config.catalog, createFileIO(config.storage));
const table = await catalog.loadTable(parseIdentifier('shop.events'));
const rows = await scanRows(table);
rows.sort((a, b) => Number((a.id as bigint) - (b.id as bigint)));
console.log(
  JSON.stringify({ committedRows, deadLetters, rows }, (_k, v) =>
    typeof v === 'bigint' ? v.toString() : v,
  ),
);
