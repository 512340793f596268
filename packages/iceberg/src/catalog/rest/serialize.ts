/**
 * Requirements and updates (./../updates.ts) in the REST spec's JSON: the schemas
 * TableRequirement and TableUpdate of
 * https://github.com/apache/iceberg/blob/main/open-api/rest-catalog-open-api.yaml, with
 * the field names Java's UpdateRequirementParser and MetadataUpdateParser read:
 * `assert-ref-snapshot-id` {ref, snapshot-id (null = the ref must not exist)},
 * `set-snapshot-ref` {ref-name, snapshot-id, type, min-snapshots-to-keep?, ...}
 * (the ref flattened), `remove-snapshots` {snapshot-ids}, `add-schema` {schema},
 * `set-current-schema` {schema-id}, `add-spec` {spec}, `set-default-spec` {spec-id},
 * `set-properties` {updates}, `remove-properties` {removals}.
 */
import type { JsonObject } from '../../spec/json.ts';
import { partitionSpecToJson, sortOrderToJson } from '../../spec/partition-spec.ts';
import { refToJson, snapshotToJson } from '../../spec/snapshot.ts';
import { schemaToJson } from '../../spec/types.ts';
import type { TableRequirement, TableUpdate } from '../updates.ts';

export function requirementToJson(r: TableRequirement): JsonObject {
  switch (r.type) {
    case 'assert-create':
      return { type: r.type };
    case 'assert-table-uuid':
      return { type: r.type, uuid: r.uuid };
    case 'assert-ref-snapshot-id':
      return { type: r.type, ref: r.ref, 'snapshot-id': r.snapshotId };
    case 'assert-current-schema-id':
      return { type: r.type, 'current-schema-id': r.currentSchemaId };
    case 'assert-last-assigned-field-id':
      return { type: r.type, 'last-assigned-field-id': r.lastAssignedFieldId };
    case 'assert-default-spec-id':
      return { type: r.type, 'default-spec-id': r.defaultSpecId };
  }
}

export function updateToJson(u: TableUpdate): JsonObject {
  switch (u.action) {
    case 'add-snapshot':
      return { action: u.action, snapshot: snapshotToJson(u.snapshot) };
    case 'set-snapshot-ref':
      return { action: u.action, 'ref-name': u.refName, ...refToJson(u.ref) };
    case 'remove-snapshots':
      return { action: u.action, 'snapshot-ids': [...u.snapshotIds] };
    case 'add-schema':
      return { action: u.action, schema: schemaToJson(u.schema) };
    case 'set-current-schema':
      return { action: u.action, 'schema-id': u.schemaId };
    case 'add-spec':
      return { action: u.action, spec: partitionSpecToJson(u.spec) };
    case 'set-default-spec':
      return { action: u.action, 'spec-id': u.specId };
    case 'set-properties':
      return { action: u.action, updates: { ...u.updates } };
    case 'remove-properties':
      return { action: u.action, removals: [...u.removals] };
  }
}

export { partitionSpecToJson, schemaToJson, sortOrderToJson };
