"""The shared driver of the Schema Registry producer scripts (produce_registry*.py,
produce_json_schema.py): each is `<script> <bootstrap> <registry-url> <topic> <jobs.json>`.

run(handle) reads <jobs.json> (a JSON list of jobs), builds one SchemaRegistryClient and one
confluent_kafka.Producer, and for every job in order calls handle(job, env), flushes the
producer and prints handle's return value as one JSON line (the test helpers parse these).
env.send(value, key=None) produces to the topic at the job's "partition" (default 0);
env.client, env.topic, env.key_ctx and env.value_ctx are the client and the serialization
contexts. If any record fails delivery the script exits 1 naming the errors on stderr.

to_python(v) turns a row's tagged JSON values into the Python values the serializers take:
{"$b": "<hex>"} bytes (bytes/fixed), {"$int": "<digits>"} an int beyond 2^53, {"$dec":
"<string>"} a Decimal, {"$date": days} a date, {"$tsus": micros} an aware UTC datetime
(timestamp-*), {"$ltsus": micros} a naive datetime (local-timestamp-*), {"$timeus": micros}
a time of day (time-*).
"""

import datetime
import decimal
import json
import sys
from types import SimpleNamespace

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
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


def schema_id(payload):
    """The schema id of a Confluent frame (magic byte, then a 4-byte big-endian id)."""
    return int.from_bytes(payload[1:5], "big")


def run(handle):
    bootstrap, registry, topic, jobs_path = sys.argv[1:5]
    with open(jobs_path) as f:
        jobs = json.load(f)
    client = SchemaRegistryClient({"url": registry})
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    errors = []

    def delivered(err, _msg):
        if err is not None:
            errors.append(str(err))

    for job in jobs:
        part = job.get("partition", 0)

        def send(value, key=None, part=part):
            producer.produce(topic, key=key, value=value, partition=part, on_delivery=delivered)

        env = SimpleNamespace(
            client=client,
            topic=topic,
            key_ctx=SerializationContext(topic, MessageField.KEY),
            value_ctx=SerializationContext(topic, MessageField.VALUE),
            send=send,
        )
        line = handle(job, env)
        producer.flush()
        print(json.dumps(line))
    if errors:
        sys.exit("delivery failed: " + "; ".join(errors))
