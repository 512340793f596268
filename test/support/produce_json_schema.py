"""Produces Schema Registry framed JSON records with Confluent's own JSONSerializer.

Usage: produce_json_schema.py <bootstrap> <registry-url> <topic> <jobs.json>

<jobs.json> is a JSON list of jobs, run in order:
  {"schema": <JSON Schema>, "rows": [<row>...], "partition": 0, "references": [...]}
    Each row goes through confluent_kafka.schema_registry.json_schema.JSONSerializer
    (which validates it against the schema, registers the schema under "<topic>-value",
    and frames the record as magic byte 0, 4-byte big-endian schema id, JSON text), then
    through confluent_kafka.Producer. "references": [{"name", "subject", "version"}]
    name other subjects' schemas the schema's $refs point to (optional). Key: a row may be
    {"$key": "<text>", "$value": <row>} to give the record a UTF-8 key, and
    {"$int": "<digits>"} stands for an integer beyond 2^53 (JSON in JavaScript rounds it; the
    other tags of registry_jobs.to_python are decoded too).
  {"register": <JSON Schema>, "subject": "<subject>"}
    Registers a schema (e.g. one to reference) without producing anything.
  {"raw": "<hex>", "partition": 0}
    Produces those bytes as the value unchanged (bad input).
Prints one JSON line per job: {"ids": [schema id per row]}; register jobs:
{"id": <id>, "version": <version>}; raw jobs: {"ids": null}.
"""

import json

from confluent_kafka.schema_registry import Schema, SchemaReference
from confluent_kafka.schema_registry.json_schema import JSONSerializer

from registry_jobs import run, schema_id, to_python


def handle(job, env):
    if "register" in job:
        schema = Schema(json.dumps(job["register"]), "JSON")
        sid = env.client.register_schema(job["subject"], schema)
        version = env.client.lookup_schema(job["subject"], schema).version
        return {"id": sid, "version": version}
    if "raw" in job:
        env.send(bytes.fromhex(job["raw"]))
        return {"ids": None}
    refs = [SchemaReference(r["name"], r["subject"], r["version"]) for r in job.get("references", [])]
    schema = Schema(json.dumps(job["schema"]), "JSON", refs)
    ser = JSONSerializer(schema, env.client, conf={"auto.register.schemas": True})
    ids = []
    for row in job["rows"]:
        key = None
        if isinstance(row, dict) and "$value" in row:
            key = row.get("$key")
            row = row["$value"]
        payload = ser(to_python(row), env.value_ctx)
        ids.append(schema_id(payload))
        env.send(payload, None if key is None else key.encode())
    return {"ids": ids}


if __name__ == "__main__":
    run(handle)
