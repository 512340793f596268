/**
 * Embedding `@kice/iceberg` on its own (no engine, no Kafka): creates a table in a local
 * warehouse folder, appends rows as one Parquet data file (one snapshot), and reads the
 * table back. Built with plain `tsc` in a project that installed the package with npm
 * (test/integration/packages.integration.test.ts runs it; docs/embedding.md shows it).
 *
 *   node iceberg-table.js <warehouse folder>
 *
 * Prints the rows read back as one JSON line (bigints as strings).
 */
import {
  currentSchema,
  FilesystemCatalog,
  fastAppend,
  icebergRowsToArrow,
  LocalFileIO,
  type Row,
  scanRows,
  schemaFromJson,
  specById,
  writePartitioned,
} from '@kice/iceberg';

const warehouse = process.argv[2];
if (!warehouse) throw new Error('usage: node iceberg-table.js <warehouse folder>');

const catalog = new FilesystemCatalog({ warehouse, io: new LocalFileIO() });
await catalog.createNamespace(['shop']);
const created = await catalog.createTable(
  { namespace: ['shop'], name: 'orders' },
  {
    schema: schemaFromJson({
      type: 'struct',
      'schema-id': 0,
      fields: [
        { id: 1, name: 'id', required: true, type: 'long' },
        { id: 2, name: 'customer', required: false, type: 'string' },
        { id: 3, name: 'amount', required: false, type: 'double' },
        { id: 4, name: 'paid_at', required: false, type: 'timestamptz' },
      ],
    }),
  },
);

// Values in the library's in-memory conventions: long → bigint, timestamptz → bigint µs.
const rows: Row[] = [
  { id: 1n, customer: 'Ada', amount: 12.5, paid_at: 1_700_000_000_000_000n },
  { id: 2n, customer: 'Grace', amount: 99.99, paid_at: null },
  { id: 3n, customer: 'Zoë', amount: null, paid_at: 1_700_000_123_456_789n },
];
const schema = currentSchema(created.metadata);
const files = await writePartitioned(created.io, {
  schema,
  spec: specById(created.metadata, created.metadata.defaultSpecId),
  table: icebergRowsToArrow(schema, rows),
  dataLocation: `${created.metadata.location}/data`,
});
const append = fastAppend(created);
for (const f of files) append.appendFile(f);
await append.commit();

const table = await catalog.loadTable({ namespace: ['shop'], name: 'orders' });
const read = await scanRows(table);
read.sort((a, b) => Number((a.id as bigint) - (b.id as bigint)));
console.log(JSON.stringify(read, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
