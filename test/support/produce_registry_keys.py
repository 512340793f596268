"""Produces records whose keys (and values) are serialized by Confluent's own serializers.

Usage: produce_registry_keys.py <bootstrap> <registry-url> <topic> <jobs.json>

<jobs.json> is a JSON list of jobs, produced in order:
  {"key": <serde>, "value": <serde>, "rows": [{"key": <k>, "value": <v>}...], "partition": 0}
A <serde> is {"format": "avro", "schema": <Avro schema>} (AvroSerializer),
{"format": "json-schema", "schema": <JSON Schema>} (JSONSerializer),
{"format": "protobuf", "files": {"<name>.proto": "<text>"}, "message": "<full name>"}
(ProtobufSerializer, the message class built as produce_registry_protobuf.py does; rows in
Protobuf's JSON mapping), {"format": "json"} (the value as plain JSON text, no frame) or
{"format": "raw"} (a string value as its UTF-8 bytes, no frame). Keys go through the serializer with the KEY
serialization context, so the key schema is registered under "<topic>-key" (the default
TopicNameStrategy), values under "<topic>-value". A row's "key" may be null (a null Kafka
key) or {"$rawhex": "<hex>"} (those bytes as the key, bad input). Row values use the tagged
forms of registry_jobs.to_python ({"$int": "<digits>"}, ...).
Prints one JSON line per job: {"keyIds": [...], "valueIds": [...]} (null where none).
"""

import json

from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from google.protobuf import json_format

from produce_registry_protobuf import message_class
from registry_jobs import run, schema_id, to_python


def serializer(client, serde):
    conf = {"auto.register.schemas": True}
    if serde["format"] == "avro":
        return AvroSerializer(client, json.dumps(serde["schema"]), conf=conf)
    if serde["format"] == "json-schema":
        return JSONSerializer(json.dumps(serde["schema"]), client, conf=conf)
    if serde["format"] == "protobuf":
        cls = message_class(serde["files"], serde["message"])
        ser = ProtobufSerializer(cls, client, conf=conf)
        return lambda v, ctx: ser(json_format.ParseDict(v, cls()), ctx)
    if serde["format"] == "json":
        return lambda v, _ctx: json.dumps(v).encode()
    if serde["format"] == "raw":
        return lambda v, _ctx: v.encode()
    raise ValueError("unknown format " + serde["format"])


def framed_id(payload):
    return schema_id(payload) if payload and payload[0] == 0 else None


def handle(job, env):
    ks = serializer(env.client, job["key"])
    vs = serializer(env.client, job["value"])
    key_ids, value_ids = [], []
    for row in job["rows"]:
        k = row["key"]
        if k is None:
            key = None
        elif isinstance(k, dict) and "$rawhex" in k:
            key = bytes.fromhex(k["$rawhex"])
        else:
            key = ks(to_python(k), env.key_ctx)
        value = vs(to_python(row["value"]), env.value_ctx)
        key_ids.append(framed_id(key))
        value_ids.append(framed_id(value) if job["value"]["format"] not in ("json", "raw") else None)
        env.send(value, key)
    return {"keyIds": key_ids, "valueIds": value_ids}


if __name__ == "__main__":
    run(handle)
