import { describe, expect, it } from 'vitest';
import { requirementToJson, updateToJson } from '../../src/catalog/rest/serialize.ts';
import { stringifyJson } from '../../src/spec/json.ts';
import { schema } from '../transaction/tables.ts';

// Field names as in the REST spec's TableRequirement / TableUpdate schemas and Java's
// UpdateRequirementParser / MetadataUpdateParser.
describe('REST commit JSON', () => {
  it('writes every requirement with the spec field names', () => {
    const out = [
      requirementToJson({ type: 'assert-create' }),
      requirementToJson({ type: 'assert-table-uuid', uuid: 'u-1' }),
      requirementToJson({
        type: 'assert-ref-snapshot-id',
        ref: 'main',
        snapshotId: 9007199254740993n,
      }),
      requirementToJson({ type: 'assert-ref-snapshot-id', ref: 'main', snapshotId: null }),
      requirementToJson({ type: 'assert-current-schema-id', currentSchemaId: 3 }),
      requirementToJson({ type: 'assert-last-assigned-field-id', lastAssignedFieldId: 7 }),
      requirementToJson({ type: 'assert-default-spec-id', defaultSpecId: 1 }),
    ];
    expect(stringifyJson(out)).toBe(
      '[{"type":"assert-create"},{"type":"assert-table-uuid","uuid":"u-1"},' +
        '{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":9007199254740993},' +
        '{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":null},' +
        '{"type":"assert-current-schema-id","current-schema-id":3},' +
        '{"type":"assert-last-assigned-field-id","last-assigned-field-id":7},' +
        '{"type":"assert-default-spec-id","default-spec-id":1}]',
    );
  });

  it('writes every update with the spec field names', () => {
    const snapshot = {
      snapshotId: 9007199254740993n,
      parentSnapshotId: 5n,
      sequenceNumber: 2,
      timestampMs: 1700000000000,
      manifestList: 'file:///t/metadata/snap.avro',
      summary: { operation: 'append', 'added-records': '3' },
      schemaId: 0,
    };
    const out = [
      updateToJson({ action: 'add-snapshot', snapshot }),
      updateToJson({
        action: 'set-snapshot-ref',
        refName: 'main',
        ref: { snapshotId: 9007199254740993n, type: 'branch', maxRefAgeMs: 5 },
      }),
      updateToJson({ action: 'remove-snapshots', snapshotIds: [1n, 2n] }),
      updateToJson({ action: 'set-current-schema', schemaId: -1 }),
      updateToJson({ action: 'set-default-spec', specId: 0 }),
      updateToJson({ action: 'set-properties', updates: { a: 'b' } }),
      updateToJson({ action: 'remove-properties', removals: ['c'] }),
    ];
    expect(stringifyJson(out)).toBe(
      '[{"action":"add-snapshot","snapshot":{"sequence-number":2,"snapshot-id":9007199254740993,' +
        '"parent-snapshot-id":5,"timestamp-ms":1700000000000,"summary":{"operation":"append","added-records":"3"},' +
        '"manifest-list":"file:///t/metadata/snap.avro","schema-id":0}},' +
        '{"action":"set-snapshot-ref","ref-name":"main","snapshot-id":9007199254740993,"type":"branch","max-ref-age-ms":5},' +
        '{"action":"remove-snapshots","snapshot-ids":[1,2]},' +
        '{"action":"set-current-schema","schema-id":-1},' +
        '{"action":"set-default-spec","spec-id":0},' +
        '{"action":"set-properties","updates":{"a":"b"}},' +
        '{"action":"remove-properties","removals":["c"]}]',
    );
    const added = updateToJson({ action: 'add-schema', schema });
    expect(Object.keys(added)).toEqual(['action', 'schema']);
    expect((added.schema as { 'schema-id': number })['schema-id']).toBe(0);
    const spec = updateToJson({
      action: 'add-spec',
      spec: {
        specId: 1,
        fields: [{ sourceId: 2, fieldId: 1000, name: 'cat', transform: 'identity' }],
      },
    });
    expect(stringifyJson(spec)).toBe(
      '{"action":"add-spec","spec":{"spec-id":1,"fields":[{"name":"cat","transform":"identity","source-id":2,"field-id":1000}]}}',
    );
  });
});
