"""Produces Schema Registry framed Protobuf records with Confluent's own serializer.

Usage: produce_registry_protobuf.py <bootstrap> <registry-url> <topic> <jobs.json>

<jobs.json> is a JSON list of jobs, produced in order:
  {"files": {"<name>.proto": "<.proto text>", ...}, "message": "<full message name>",
   "rows": [<row>...], "partition": 0}
The .proto files are compiled with protoc (grpcio-tools) into a descriptor set, message
classes are built from it with google.protobuf's descriptor_pool and message_factory, and
each row (Protobuf's JSON mapping, parsed by json_format.ParseDict) goes through
confluent_kafka.schema_registry.protobuf.ProtobufSerializer, which registers the file under
"<topic>-value" and every imported file (well-known types skipped) under its own subject
(the file name), and frames the record as magic byte 0, 4-byte schema id, message
indexes, message bytes. A job's optional "conf" is merged into the serializer's config
(e.g. {"auto.register.schemas": false, "use.latest.version": true} to frame with the
id of a schema registered beforehand as .proto text). A job {"raw": "<hex>", "partition": 0} produces those bytes as
the value unchanged (bad input). Prints one JSON line per job: {"ids": [schema id per row]}
(raw jobs: null).
"""

import json
import os
import sys
import tempfile

import grpc_tools
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from grpc_tools import protoc

from registry_jobs import run, schema_id

WELL_KNOWN = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")


def message_class(files, message):
    with tempfile.TemporaryDirectory() as d:
        for name, text in files.items():
            path = os.path.join(d, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        out = os.path.join(d, "set.pb")
        rc = protoc.main(
            ["protoc", f"-I{d}", f"-I{WELL_KNOWN}", "--include_imports", f"--descriptor_set_out={out}", *files]
        )
        if rc != 0:
            sys.exit(f"protoc failed ({rc}) for {sorted(files)}")
        fds = descriptor_pb2.FileDescriptorSet()
        with open(out, "rb") as f:
            fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(message))


def handle(job, env):
    if "raw" in job:
        env.send(bytes.fromhex(job["raw"]))
        return {"ids": None}
    cls = message_class(job["files"], job["message"])
    conf = {"auto.register.schemas": True, **job.get("conf", {})}
    ser = ProtobufSerializer(cls, env.client, conf=conf)
    ids = []
    for row in job["rows"]:
        payload = ser(json_format.ParseDict(row, cls()), env.value_ctx)
        ids.append(schema_id(payload))
        env.send(payload)
    return {"ids": ids}


if __name__ == "__main__":
    run(handle)
