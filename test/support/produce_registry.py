"""Produces Schema Registry framed records with Confluent's own serializer.

Usage: produce_registry.py <bootstrap> <registry-url> <topic> <jobs.json>

<jobs.json> is a JSON list of jobs, produced in order:
  {"schema": <Avro schema as JSON>, "rows": [<row>...], "partition": 0}
Each row goes through confluent_kafka.schema_registry.avro.AvroSerializer (which registers
the schema under the subject "<topic>-value" and frames the record as magic byte 0,
4-byte big-endian schema id, Avro binary), then through confluent_kafka.Producer.
Rows are JSON with tagged values where Avro's Python form is not JSON: {"$b": "<hex>"}
for bytes/fixed, {"$int": "<digits>"} for longs beyond 2^53, {"$dec": "<string>"} for decimals, {"$date": days}, {"$tsus": micros}
(timestamp-*: an aware UTC datetime), {"$ltsus": micros} (local-timestamp-*: a naive
datetime), {"$timeus": micros} (time-*: a time of day).
A job {"raw": "<hex>", "partition": 0} produces those bytes as the value unchanged (bad
input); {"raw": null} a tombstone (a null value). A raw job may carry {"key": "<hex>"}.
Prints one JSON line per job: {"ids": [schema id per row]} (raw jobs: null).
"""

import datetime
import decimal
import json
import sys

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def to_python(v):
    if isinstance(v, dict):
        if "$b" in v:
            return bytes.fromhex(v["$b"])
        if "$int" in v:
            return int(v["$int"])
        if "$dec" in v:
            return decimal.Decimal(v["$dec"])
        if "$date" in v:
            return datetime.date(1970, 1, 1) + datetime.timedelta(days=v["$date"])
        if "$tsus" in v:
            return EPOCH + datetime.timedelta(microseconds=v["$tsus"])
        if "$ltsus" in v:
            return datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=v["$ltsus"])
        if "$timeus" in v:
            us = v["$timeus"]
            return (datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=us)).time()
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
        if "raw" in job:
            value = None if job["raw"] is None else bytes.fromhex(job["raw"])
            key = bytes.fromhex(job["key"]) if job.get("key") is not None else None
            producer.produce(topic, value=value, key=key, partition=part, on_delivery=delivered)
            print(json.dumps({"ids": None}))
            continue
        ser = AvroSerializer(client, json.dumps(job["schema"]), conf={"auto.register.schemas": True})
        ids = []
        for row in job["rows"]:
            payload = ser(to_python(row), ctx)
            ids.append(int.from_bytes(payload[1:5], "big"))
            producer.produce(topic, value=payload, partition=part, on_delivery=delivered)
        producer.flush()
        print(json.dumps({"ids": ids}))
    producer.flush()
    if errors:
        sys.exit("delivery failed: " + "; ".join(errors))


if __name__ == "__main__":
    main()
