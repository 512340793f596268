"""Produces Schema Registry framed records with Confluent's own serializer.

Usage: produce_registry.py <bootstrap> <registry-url> <topic> <jobs.json>

<jobs.json> is a JSON list of jobs, produced in order:
  {"schema": <Avro schema as JSON>, "rows": [<row>...], "partition": 0}
Each row goes through confluent_kafka.schema_registry.avro.AvroSerializer (which registers
the schema under the subject "<topic>-value" and frames the record as magic byte 0,
4-byte big-endian schema id, Avro binary), then through confluent_kafka.Producer.
Rows are JSON with tagged values where Avro's Python form is not JSON ({"$b": "<hex>"},
{"$int": "<digits>"}, {"$dec": "<string>"}, {"$date": days}, {"$tsus": micros}, ...; see
registry_jobs.to_python).
A job {"raw": "<hex>", "partition": 0} produces those bytes as the value unchanged (bad
input); {"raw": null} a tombstone (a null value). A raw job may carry {"key": "<hex>"}.
Prints one JSON line per job: {"ids": [schema id per row]} (raw jobs: null).
"""

import json

from confluent_kafka.schema_registry.avro import AvroSerializer

from registry_jobs import run, schema_id, to_python


def handle(job, env):
    if "raw" in job:
        value = None if job["raw"] is None else bytes.fromhex(job["raw"])
        key = bytes.fromhex(job["key"]) if job.get("key") is not None else None
        env.send(value, key)
        return {"ids": None}
    ser = AvroSerializer(env.client, json.dumps(job["schema"]), conf={"auto.register.schemas": True})
    ids = []
    for row in job["rows"]:
        payload = ser(to_python(row), env.value_ctx)
        ids.append(schema_id(payload))
        env.send(payload)
    return {"ids": ids}


if __name__ == "__main__":
    run(handle)
