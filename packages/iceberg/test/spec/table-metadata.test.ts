import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IcebergError } from '../../src/errors.ts';
import { parseJson } from '../../src/spec/json.ts';
import {
  ancestors,
  currentSchema,
  currentSnapshot,
  newTableMetadata,
  schemaById,
  snapshotAsOf,
  snapshotById,
  specById,
  type TableMetadata,
  tableMetadataFromJson,
  tableMetadataToJson,
} from '../../src/spec/table-metadata.ts';
import { schemaFromJson } from '../../src/spec/types.ts';

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/java/${name}.json`, import.meta.url), 'utf8');

const VALID = [
  'TableMetadataV2Valid',
  'TableMetadataV2ValidMinimal',
  'TableMetadataStatisticsFiles',
  'TableMetadataPartitionStatisticsFiles',
];

describe('Java fixtures round-trip', () => {
  for (const name of VALID) {
    it(`${name}: parse → write → parse is identical and keeps every Java key`, () => {
      const text = fixture(name);
      const m = tableMetadataFromJson(text);
      const written = tableMetadataToJson(m);
      expect(tableMetadataFromJson(written)).toEqual(m);
      expect(tableMetadataToJson(tableMetadataFromJson(written))).toBe(written);
      const original = parseJson(text) as Record<string, unknown>;
      const ours = parseJson(written) as Record<string, unknown>;
      for (const key of Object.keys(original)) expect(ours[key], key).toEqual(original[key]);
      expect(Object.keys(ours)).toEqual([
        'format-version',
        'table-uuid',
        'location',
        'last-sequence-number',
        'last-updated-ms',
        'last-column-id',
        'current-schema-id',
        'schemas',
        'default-spec-id',
        'partition-specs',
        'last-partition-id',
        'default-sort-order-id',
        'sort-orders',
        'properties',
        'current-snapshot-id',
        'refs',
        'snapshots',
        'statistics',
        'partition-statistics',
        'snapshot-log',
        'metadata-log',
      ]);
    });
  }

  it('keeps big snapshot ids exact and derives refs.main from the current snapshot', () => {
    const m = tableMetadataFromJson(fixture('TableMetadataV2Valid'));
    expect(m.currentSnapshotId).toBe(3055729675574597004n);
    expect(m.snapshots.map((s) => s.snapshotId)).toEqual([
      3051729675574597004n,
      3055729675574597004n,
    ]);
    expect(m.snapshots[1]?.parentSnapshotId).toBe(3051729675574597004n);
    expect(m.snapshots[0]?.parentSnapshotId).toBeUndefined();
    expect(m.refs).toEqual({ main: { snapshotId: 3055729675574597004n, type: 'branch' } });
    const written = tableMetadataToJson(m);
    expect(written).toContain('"current-snapshot-id": 3055729675574597004,');
    expect(written).toContain('"parent-snapshot-id": 3051729675574597004,');
    expect(written).toContain(
      '"refs": {\n    "main": {\n      "snapshot-id": 3055729675574597004,\n      "type": "branch"\n    }\n  }',
    );
    expect(currentSnapshot(m)?.manifestList).toBe('s3://a/b/2.avro');
    expect(currentSchema(m).schemaId).toBe(1);
    expect(currentSchema(m).identifierFieldIds).toEqual([1, 2]);
    expect(schemaById(m, 0).fields).toHaveLength(1);
    expect(specById(m, 0).fields[0]?.fieldId).toBe(1000);
    expect(() => specById(m, 7)).toThrow('partition spec 7 not found');
    expect(snapshotById(m, 1n)).toBeUndefined();
    expect(snapshotAsOf(m, 1515100955769)).toBeUndefined();
    expect(snapshotAsOf(m, 1515100955770)?.snapshotId).toBe(3051729675574597004n);
    expect(snapshotAsOf(m, 1555100955769)?.snapshotId).toBe(3051729675574597004n);
    expect(snapshotAsOf(m, 1555100955770)?.snapshotId).toBe(3055729675574597004n);
  });

  it('keeps statistics verbatim, big ids included', () => {
    const m = tableMetadataFromJson(fixture('TableMetadataStatisticsFiles'));
    expect(m.statistics).toEqual([
      {
        'snapshot-id': 3055729675574597004n,
        'statistics-path': 's3://a/b/stats.puffin',
        'file-size-in-bytes': 413,
        'file-footer-size-in-bytes': 42,
        'blob-metadata': [
          { type: 'ndv', 'snapshot-id': 3055729675574597004n, 'sequence-number': 1, fields: [1] },
        ],
      },
    ]);
    const p = tableMetadataFromJson(fixture('TableMetadataPartitionStatisticsFiles'));
    expect(p.partitionStatistics).toHaveLength(1);
  });

  it('reads the minimal file with empty defaults and writes -1 for no snapshot', () => {
    const m = tableMetadataFromJson(fixture('TableMetadataV2ValidMinimal'));
    expect(m.currentSnapshotId).toBeNull();
    expect(m.properties).toEqual({});
    expect(m.refs).toEqual({});
    expect(m.snapshots).toEqual([]);
    expect(tableMetadataToJson(m)).toContain('"current-snapshot-id": -1,\n  "refs": {},');
  });
});

describe('invalid metadata names the key', () => {
  const cases: [string, string][] = [
    ['TableMetadataV2CurrentSchemaNotFound', 'current-schema-id: schema 2 is not in schemas'],
    ['TableMetadataV2MissingLastPartitionId', 'last-partition-id: missing'],
    ['TableMetadataV2MissingPartitionSpecs', 'partition-specs: missing'],
    ['TableMetadataV2MissingSchemas', 'schemas: missing'],
    ['TableMetadataV2MissingSortOrder', 'sort-orders: missing'],
    ['TableMetadataUnsupportedVersion', 'format-version: unsupported format version 42'],
    ['TableMetadataV1Valid', 'format-version: unsupported format version 1'],
  ];
  for (const [name, msg] of cases) {
    it(name, () => {
      let err: unknown;
      try {
        tableMetadataFromJson(fixture(name));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(IcebergError);
      expect((err as IcebergError).code).toBe('INVALID_METADATA');
      expect((err as IcebergError).message).toContain(msg);
    });
  }

  const at = (list: unknown, i: number): Record<string, unknown> =>
    (list as Record<string, unknown>[])[i] ?? {};
  const base = () => parseJson(fixture('TableMetadataV2Valid')) as Record<string, unknown>;
  const bad = (edit: (o: Record<string, unknown>) => void): string => {
    const o = base();
    edit(o);
    return JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? Number(v) : v));
  };
  it('checks snapshots, refs and nested keys', () => {
    expect(() => tableMetadataFromJson('{')).toThrow('table metadata is not valid JSON');
    expect(() => tableMetadataFromJson(bad((o) => delete o['table-uuid']))).toThrow(
      'table-uuid: missing',
    );
    expect(() =>
      tableMetadataFromJson(bad((o) => (at(o.snapshots, 1)['manifest-list'] = 5))),
    ).toThrow('snapshots[1].manifest-list: expected a string');
    expect(() => tableMetadataFromJson(bad((o) => (o['current-snapshot-id'] = 42)))).toThrow(
      'current-snapshot-id: snapshot 42 is not in snapshots',
    );
    expect(() =>
      tableMetadataFromJson(bad((o) => (o.refs = { main: { 'snapshot-id': 42, type: 'branch' } }))),
    ).toThrow('refs.main.snapshot-id: snapshot 42 is not in snapshots');
    expect(() => tableMetadataFromJson(bad((o) => (o['default-spec-id'] = 3)))).toThrow(
      'default-spec-id: spec 3 is not in partition-specs',
    );
    expect(() =>
      tableMetadataFromJson(
        bad((o) => {
          at(o.schemas, 0).fields = 1;
        }),
      ),
    ).toThrow('schemas[0].fields');
  });

  it('accepts null and -1 as no current snapshot', () => {
    for (const v of [null, -1]) {
      const m = tableMetadataFromJson(
        bad((o) => {
          o['current-snapshot-id'] = v;
        }),
      );
      expect(m.currentSnapshotId).toBeNull();
      expect(m.refs).toEqual({});
    }
  });
});

describe('newTableMetadata', () => {
  const schema = schemaFromJson({
    type: 'struct',
    'schema-id': 7,
    'identifier-field-ids': [20],
    fields: [
      {
        id: 10,
        name: 'a',
        required: true,
        type: {
          type: 'struct',
          fields: [
            { id: 20, name: 'b', required: true, type: 'long' },
            {
              id: 21,
              name: 'c',
              required: false,
              type: {
                type: 'list',
                'element-id': 30,
                'element-required': true,
                element: {
                  type: 'struct',
                  fields: [{ id: 40, name: 'd', required: false, type: 'int' }],
                },
              },
            },
          ],
        },
      },
      {
        id: 11,
        name: 'm',
        required: false,
        type: {
          type: 'map',
          'key-id': 50,
          key: 'string',
          'value-id': 51,
          value: 'long',
          'value-required': false,
        },
      },
      { id: 12, name: 'ts', required: false, type: 'timestamptz' },
    ],
  });

  it('reassigns ids in Java order and remaps spec and sort order', () => {
    const m = newTableMetadata({
      location: 's3://b/t/',
      schema,
      spec: {
        specId: 5,
        fields: [
          { sourceId: 12, fieldId: 2000, name: 'ts_day', transform: 'day' },
          { sourceId: 20, fieldId: 2001, name: 'b_bucket', transform: 'bucket[4]' },
        ],
      },
      sortOrder: {
        orderId: 9,
        fields: [
          { sourceId: 20, transform: 'identity', direction: 'asc', nullOrder: 'nulls-first' },
        ],
      },
      properties: { owner: 'kice' },
      tableUuid: '9c12d441-03fe-4693-9a96-a0705ddf69c1',
      nowMs: 1700000000000,
    });
    const s = currentSchema(m);
    expect(s.schemaId).toBe(0);
    expect(s.identifierFieldIds).toEqual([4]);
    const [a, mm, ts] = s.fields;
    expect([a?.id, mm?.id, ts?.id]).toEqual([1, 2, 3]);
    expect(a?.type).toEqual({
      type: 'struct',
      fields: [
        { id: 4, name: 'b', required: true, type: 'long' },
        {
          id: 5,
          name: 'c',
          required: false,
          type: {
            type: 'list',
            elementId: 6,
            elementRequired: true,
            element: {
              type: 'struct',
              fields: [{ id: 7, name: 'd', required: false, type: 'int' }],
            },
          },
        },
      ],
    });
    expect(mm?.type).toMatchObject({ keyId: 8, valueId: 9 });
    expect(m.lastColumnId).toBe(9);
    expect(m.partitionSpecs).toEqual([
      {
        specId: 0,
        fields: [
          { sourceId: 3, fieldId: 1000, name: 'ts_day', transform: 'day' },
          { sourceId: 4, fieldId: 1001, name: 'b_bucket', transform: 'bucket[4]' },
        ],
      },
    ]);
    expect(m.lastPartitionId).toBe(1001);
    expect(m.sortOrders).toEqual([
      {
        orderId: 1,
        fields: [
          { sourceId: 4, transform: 'identity', direction: 'asc', nullOrder: 'nulls-first' },
        ],
      },
    ]);
    expect(m.defaultSortOrderId).toBe(1);
    expect(m.location).toBe('s3://b/t');
    expect(tableMetadataFromJson(tableMetadataToJson(m))).toEqual(m);
  });

  it('writes an unpartitioned, unsorted new table exactly', () => {
    const m: TableMetadata = newTableMetadata({
      location: '/w/t',
      schema: schemaFromJson({
        type: 'struct',
        fields: [{ id: 5, name: 'x', required: true, type: 'long' }],
      }),
      tableUuid: '9c12d441-03fe-4693-9a96-a0705ddf69c1',
      nowMs: 1700000000000,
    });
    expect(m.lastPartitionId).toBe(999);
    expect(JSON.stringify(JSON.parse(tableMetadataToJson(m)))).toBe(
      '{"format-version":2,"table-uuid":"9c12d441-03fe-4693-9a96-a0705ddf69c1","location":"/w/t","last-sequence-number":0,"last-updated-ms":1700000000000,"last-column-id":1,"current-schema-id":0,"schemas":[{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"x","required":true,"type":"long"}]}],"default-spec-id":0,"partition-specs":[{"spec-id":0,"fields":[]}],"last-partition-id":999,"default-sort-order-id":0,"sort-orders":[{"order-id":0,"fields":[]}],"properties":{},"current-snapshot-id":-1,"refs":{},"snapshots":[],"statistics":[],"partition-statistics":[],"snapshot-log":[],"metadata-log":[]}',
    );
  });

  it('rejects a spec whose source is not in the schema', () => {
    expect(() =>
      newTableMetadata({
        location: '/w/t',
        schema,
        spec: {
          specId: 0,
          fields: [{ sourceId: 99, fieldId: 1000, name: 'x', transform: 'identity' }],
        },
      }),
    ).toThrow('partition field "x": source field 99 is not in the schema');
  });
});

describe('ancestors', () => {
  const snap = (id: bigint, parent?: bigint) => ({
    snapshotId: id,
    ...(parent === undefined ? {} : { parentSnapshotId: parent }),
    sequenceNumber: Number(id),
    timestampMs: Number(id),
    manifestList: `/w/t/metadata/snap-${id}.avro`,
    summary: { operation: 'append' },
  });
  // main: 1 <- 2 <- 4; a branch off 2: 3; 5 is on no chain from 4.
  const m: TableMetadata = {
    ...newTableMetadata({
      location: '/w/t',
      schema: schemaFromJson({ type: 'struct', fields: [] }),
    }),
    snapshots: [snap(1n), snap(2n, 1n), snap(3n, 2n), snap(4n, 2n), snap(5n)],
    currentSnapshotId: 4n,
  };
  const ids = (r: ReturnType<typeof ancestors>) => r.snapshots.map((s) => s.snapshotId);

  it('follows parent-snapshot-id to the root, newest first', () => {
    expect(ids(ancestors(m, 4n))).toEqual([4n, 2n, 1n]);
    expect(ancestors(m, 4n).truncated).toBe(false);
    expect(ids(ancestors(m, 3n))).toEqual([3n, 2n, 1n]);
  });

  it('says when the chain ends at an expired parent, and is empty for an unknown id', () => {
    const expired = { ...m, snapshots: m.snapshots.filter((s) => s.snapshotId !== 2n) };
    expect(ids(ancestors(expired, 4n))).toEqual([4n]);
    expect(ancestors(expired, 4n).truncated).toBe(true);
    expect(ancestors(m, 99n)).toEqual({ snapshots: [], truncated: false });
  });
});
