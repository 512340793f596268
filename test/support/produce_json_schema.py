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
    {"$int": "<digits>"} stands for an integer beyond 2^53 (JSON in JavaScript rounds it).
  {"register": <JSON Schema>, "subject": "<subject>"}
    Registers a schema (e.g. one to reference) without producing anything.
  {"raw": "<hex>", "partition": 0}
    Produces those bytes as the value unchanged (bad input).
Prints one JSON line per job: {"ids": [schema id per row]}; register jobs:
{"id": <id>, "version": <version>}; raw jobs: {"ids": null}.
"""

import json
import sys

from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext


def to_python(v):
    if isinstance(v, dict):
        if "$int" in v:
            return int(v["$int"])
        return {k: to_python(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_python(x) for x in v]
    return v


def main():
    bootstrap, registry, topic, jobs_path = sys.argv[1:5]
    with open(jobs_path) as f:
        jobs = json.load(f)
    client = SchemaRegistryClient({"url": registry})
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    ctx = SerializationContext(topic, MessageField.VALUE)
    errors = []

    def delivered(err, _msg):
        if err is not None:
            errors.append(str(err))

    for job in jobs:
        part = job.get("partition", 0)
        if "register" in job:
            schema = Schema(json.dumps(job["register"]), "JSON")
            sid = client.register_schema(job["subject"], schema)
            version = client.lookup_schema(job["subject"], schema).version
            print(json.dumps({"id": sid, "version": version}))
            continue
        if "raw" in job:
            producer.produce(topic, value=bytes.fromhex(job["raw"]), partition=part, on_delivery=delivered)
            print(json.dumps({"ids": None}))
            continue
        refs = [SchemaReference(r["name"], r["subject"], r["version"]) for r in job.get("references", [])]
        schema = Schema(json.dumps(job["schema"]), "JSON", refs)
        ser = JSONSerializer(schema, client, conf={"auto.register.schemas": True})
        ids = []
        for row in job["rows"]:
            key = None
            if isinstance(row, dict) and "$value" in row:
                key = row.get("$key")
                row = row["$value"]
            payload = ser(to_python(row), ctx)
            ids.append(int.from_bytes(payload[1:5], "big"))
            producer.produce(
                topic,
                key=None if key is None else key.encode(),
                value=payload,
                partition=part,
                on_delivery=delivered,
            )
        producer.flush()
        print(json.dumps({"ids": ids}))
    producer.flush()
    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
