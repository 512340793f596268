"""Produces records whose keys (and values) are serialized by Confluent's own serializers.

Usage: produce_registry_keys.py <bootstrap> <registry-url> <topic> <jobs.json>

<jobs.json> is a JSON list of jobs, produced in order:
  {"key": <serde>, "value": <serde>, "rows": [{"key": <k>, "value": <v>}...], "partition": 0}
A <serde> is {"format": "avro", "schema": <Avro schema>} (AvroSerializer),
{"format": "json-schema", "schema": <JSON Schema>} (JSONSerializer), or {"format": "json"}
(the value as plain JSON text, no frame). Keys go through the serializer with the KEY
serialization context, so the key schema is registered under "<topic>-key" (the default
TopicNameStrategy), values under "<topic>-value". A row's "key" may be null (a null Kafka
key) or {"$rawhex": "<hex>"} (those bytes as the key, bad input). Row values use the tagged
forms of produce_registry.py ({"$int": "<digits>"}, ...).
Prints one JSON line per job: {"keyIds": [...], "valueIds": [...]} (null where none).
"""

import json
import sys

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from produce_registry import to_python


def serializer(client, serde):
    conf = {"auto.register.schemas": True}
    if serde["format"] == "avro":
        return AvroSerializer(client, json.dumps(serde["schema"]), conf=conf)
    if serde["format"] == "json-schema":
        return JSONSerializer(json.dumps(serde["schema"]), client, conf=conf)
    if serde["format"] == "json":
        return lambda v, _ctx: json.dumps(v).encode()
    raise ValueError("unknown format " + serde["format"])


def framed_id(payload):
    return int.from_bytes(payload[1:5], "big") if payload and payload[0] == 0 else None


def main():
    bootstrap, registry, topic, jobs_path = sys.argv[1:5]
    with open(jobs_path) as f:
        jobs = json.load(f)
    client = SchemaRegistryClient({"url": registry})
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    key_ctx = SerializationContext(topic, MessageField.KEY)
    value_ctx = SerializationContext(topic, MessageField.VALUE)
    errors = []

    def delivered(err, _msg):
        if err is not None:
            errors.append(str(err))

    for job in jobs:
        part = job.get("partition", 0)
        ks = serializer(client, job["key"])
        vs = serializer(client, job["value"])
        key_ids, value_ids = [], []
        for row in job["rows"]:
            k = row["key"]
            if k is None:
                key = None
            elif isinstance(k, dict) and "$rawhex" in k:
                key = bytes.fromhex(k["$rawhex"])
            else:
                key = ks(to_python(k), key_ctx)
            value = vs(to_python(row["value"]), value_ctx)
            key_ids.append(framed_id(key))
            value_ids.append(framed_id(value) if job["value"]["format"] != "json" else None)
            producer.produce(topic, key=key, value=value, partition=part, on_delivery=delivered)
        producer.flush()
        print(json.dumps({"keyIds": key_ids, "valueIds": value_ids}))
    producer.flush()
    if errors:
        sys.exit("delivery failed: " + "; ".join(errors))


if __name__ == "__main__":
    main()
