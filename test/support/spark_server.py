"""Apache Spark with the Iceberg Spark runtime (Java, the reference implementation) as a
reader and writer for kice's tests: one long-lived Spark session behind a loopback HTTP
server, started by test/infra/spark.sh and shared by every test file of a run.

  spark_server.py <state dir> <iceberg-spark-runtime jar>

Binds 127.0.0.1 on $KICE_SPARK_PORT (default 0: any free port), writes the port to
<state dir>/port once the Spark session is up, and serves until SIGTERM or until it has
been idle for $KICE_SPARK_IDLE_S seconds (default 1800; a safety net if the test run that
started it died without stopping it). Requests are served one at a time.

  GET  /ready   runs `SELECT 1` through Spark; 200 "ok"
  POST /batch   {"requests": [request, ...]} -> {"results": [result, ...]} in order;
                a failed request gives {"error": "..."} and the next ones still run

Requests (`warehouse` is an absolute folder: a Hadoop catalog over it is registered under
a catalog name of its own on first use; `{k}` in SQL stands for that catalog's name):

  {"op": "sql", "warehouse": W, "sql": S}
      runs S; result {"rows": [tagged row, ...]} (empty for DDL/DML)
  {"op": "rows", "warehouse": W, "table": "ns.t"}
      SELECT * FROM <catalog>.ns.t (the Hadoop catalog follows version-hint.text)
  {"op": "load", "location": L}
      spark.read.format("iceberg").load(L): L is a table folder (read through its
      version-hint.text) or a metadata JSON file (read as a static table)
  {"op": "java-generic", "location": L, "columns": ["id", "tm", ...]}
      the named top-level primitive columns read by Iceberg Java's own generic reader
      (IcebergGenerics over HadoopTables.load(L)), without Spark's type mapping: the way
      to read a `time` column (Spark has no TIME type); long, int, string, boolean, time
      and date columns only
  {"op": "append", "warehouse": W, "table": "ns.t", "rows": [tagged row, ...]}
      appends the rows (keyed by column name, tagged as test/support/readers.py reads
      them) as one Spark write task: one data file per partition; result {"rows": []}
  {"op": "java-dv", "blob": HEX, "positions": ["0", "7", ...], "referenced": PATH}
      Iceberg Java's own reader of a Puffin deletion-vector-v1 blob
      (PositionDeleteIndex.deserialize, which checks the length, magic, CRC and that the
      cardinality equals len(positions)); result one row: "cardinality" (long),
      "missing" (the given positions Java does not find deleted, as strings) and
      "serialized" (binary: the index serialized again by Java, as a DV writer would)

Rows come back tagged by test/support/readers.py's rules (from the Arrow batches Spark
returns): Spark has no TIME type (Iceberg `time` columns cannot be read), a uuid reads as
a string, fixed as binary, timestamptz as timestamp[us, UTC] (session time zone UTC).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readers import build_table, tag_array  # noqa: E402

import pyarrow as pa  # noqa: E402


def start_session(jar: str):
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master("local[1]")
        .appName("kice-tests")
        .config("spark.jars", jar)
        .config("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", os.environ.get("KICE_SPARK_MEMORY", "1g"))
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.sql.adaptive.enabled", "false")
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class Catalogs:
    """One Hadoop catalog per warehouse folder, registered on first use (Spark instantiates
    a catalog lazily from its spark.sql.catalog.<name>.* settings). Table caching is off so
    that every read sees the newest version-hint.text."""

    def __init__(self, spark) -> None:
        self.spark = spark
        self.names: dict[str, str] = {}

    def name(self, warehouse: str) -> str:
        path = str(Path(warehouse).resolve())
        if path not in self.names:
            name = f"w{len(self.names) + 1}"
            prefix = f"spark.sql.catalog.{name}"
            self.spark.conf.set(prefix, "org.apache.iceberg.spark.SparkCatalog")
            self.spark.conf.set(f"{prefix}.type", "hadoop")
            self.spark.conf.set(f"{prefix}.warehouse", Path(path).as_uri())
            self.spark.conf.set(f"{prefix}.cache-enabled", "false")
            self.names[path] = name
        return self.names[path]


def tagged_rows(df) -> list[dict[str, Any]]:
    table: pa.Table = df.toArrow()
    cols = [tag_array(table.column(i)) for i in range(table.num_columns)]
    names = table.column_names
    return [{names[j]: cols[j][i] for j in range(len(names))} for i in range(table.num_rows)]


def java_generic_rows(spark, location: str, columns: list[str]) -> list[dict[str, Any]]:
    jvm = spark._jvm
    table = jvm.org.apache.iceberg.hadoop.HadoopTables(spark._jsc.hadoopConfiguration()).load(location)
    schema = table.schema()
    kinds = {}
    for name in columns:
        field = schema.findField(name)
        if field is None:
            raise ValueError(f"no column {name!r} in {location}")
        kinds[name] = field.type().typeId().toString()
    names = spark.sparkContext._gateway.new_array(jvm.java.lang.String, len(columns))
    for i, name in enumerate(columns):
        names[i] = name
    records = jvm.org.apache.iceberg.data.IcebergGenerics.read(table).select(names).build()
    out = []
    it = records.iterator()
    try:
        while it.hasNext():
            rec = it.next()
            row = {}
            for name in columns:
                v, kind = rec.getField(name), kinds[name]
                if v is None or kind in ("INTEGER", "STRING", "BOOLEAN"):
                    row[name] = v
                elif kind == "LONG":
                    row[name] = {"$l": str(v)}
                elif kind == "TIME":
                    row[name] = {"$time": str(v.toNanoOfDay() // 1000)}
                elif kind == "DATE":
                    row[name] = {"$date": v.toEpochDay()}
                else:
                    raise ValueError(f"java-generic reads no {kind} column ({name!r})")
            out.append(row)
    finally:
        records.close()
    return out


def java_dv(spark, blob_hex: str, positions: list[str], referenced: str) -> list[dict[str, Any]]:
    jvm = spark._jvm
    ib = jvm.org.apache.iceberg
    blob = bytearray.fromhex(blob_hex)
    # The DeleteFile a delete manifest would hold for the blob, alone in a Puffin file at
    # offset 0: deserialize checks the blob's length against content_size_in_bytes and its
    # cardinality against record_count.
    dv = (
        ib.FileMetadata.deleteFileBuilder(ib.PartitionSpec.unpartitioned())
        .ofPositionDeletes()
        .withFormat(ib.FileFormat.PUFFIN)
        .withPath(referenced + "-dv.puffin")
        .withFileSizeInBytes(len(blob))
        .withReferencedDataFile(referenced)
        .withContentOffset(0)
        .withContentSizeInBytes(len(blob))
        .withRecordCount(len(positions))
        .build()
    )
    index = ib.deletes.PositionDeleteIndex.deserialize(blob, dv)
    missing = [p for p in positions if not index.isDeleted(int(p))]
    serialized = bytes(index.serialize().array())
    return [
        {
            "cardinality": {"$l": str(index.cardinality())},
            "missing": missing,
            "serialized": {"$b": serialized.hex()},
        }
    ]


def qualified(catalogs: Catalogs, req: dict[str, Any]) -> str:
    return f"{catalogs.name(req['warehouse'])}.{req['table']}"


def handle(spark, catalogs: Catalogs, req: dict[str, Any]) -> dict[str, Any]:
    op = req.get("op")
    if op == "sql":
        sql = req["sql"]
        if "warehouse" in req:
            sql = sql.replace("{k}", catalogs.name(req["warehouse"]))
        return {"rows": tagged_rows(spark.sql(sql))}
    if op == "rows":
        return {"rows": tagged_rows(spark.table(qualified(catalogs, req)))}
    if op == "load":
        return {"rows": tagged_rows(spark.read.format("iceberg").load(req["location"]))}
    if op == "java-generic":
        return {"rows": java_generic_rows(spark, req["location"], req["columns"])}
    if op == "java-dv":
        return {"rows": java_dv(spark, req["blob"], req["positions"], req["referenced"])}
    if op == "append":
        from pyspark.sql.pandas.types import to_arrow_schema

        name = qualified(catalogs, req)
        schema = spark.table(name).schema
        arrow = build_table(req["rows"], to_arrow_schema(schema))
        spark.createDataFrame(arrow, schema=schema).coalesce(1).writeTo(name).append()
        return {"rows": []}
    raise ValueError(f"unknown op {op!r}")


def error_text(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}"
    # Py4J errors carry the whole Java stack trace: keep the head, where the cause is.
    return text if len(text) < 4000 else text[:4000] + " …"


class Server(HTTPServer):
    spark: Any
    catalogs: Catalogs
    last_request: float


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        sys.stderr.write("spark_server: " + (format % args) + "\n")

    def reply(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self.server.last_request = time.monotonic()
        if self.path != "/ready":
            return self.reply(404, b"not found\n", "text/plain")
        self.server.spark.sql("SELECT 1").collect()
        self.reply(200, b"ok\n", "text/plain")

    def do_POST(self) -> None:  # noqa: N802
        self.server.last_request = time.monotonic()
        if self.path != "/batch":
            return self.reply(404, b"not found\n", "text/plain")
        length = int(self.headers.get("Content-Length", "0"))
        try:
            body = json.loads(self.rfile.read(length))
            requests = body["requests"]
        except (ValueError, KeyError, TypeError) as e:
            return self.reply(400, f"bad batch: {e}\n".encode(), "text/plain")
        results = []
        for req in requests:
            t0 = time.monotonic()
            try:
                results.append(handle(self.server.spark, self.server.catalogs, req))
            except Exception as e:  # noqa: BLE001 - reported to the test, which fails
                traceback.print_exc(file=sys.stderr)
                results.append({"error": error_text(e)})
            sys.stderr.write(f"spark_server: {req.get('op')} in {time.monotonic() - t0:.2f} s\n")
        out = json.dumps({"results": results}, separators=(",", ":"), allow_nan=False).encode()
        self.server.last_request = time.monotonic()
        self.reply(200, out, "application/json")


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit("usage: spark_server.py <state dir> <iceberg-spark-runtime jar>")
    state, jar = Path(argv[0]), argv[1]
    idle = float(os.environ.get("KICE_SPARK_IDLE_S", "1800"))
    t0 = time.monotonic()
    spark = start_session(jar)
    sys.stderr.write(f"spark_server: Spark {spark.version} up in {time.monotonic() - t0:.1f} s\n")
    server = Server(("127.0.0.1", int(os.environ.get("KICE_SPARK_PORT", "0"))), Handler)
    server.spark = spark
    server.catalogs = Catalogs(spark)
    server.last_request = time.monotonic()

    def stop(*_: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)

    def watchdog() -> None:
        while True:
            time.sleep(10)
            if time.monotonic() - server.last_request > idle:
                sys.stderr.write(f"spark_server: idle for {idle:.0f} s, stopping\n")
                stop()
                return

    threading.Thread(target=watchdog, daemon=True).start()
    tmp = state / "port.tmp"
    tmp.write_text(str(server.server_address[1]))
    os.replace(tmp, state / "port")
    try:
        server.serve_forever()
    finally:
        (state / "port").unlink(missing_ok=True)
        spark.stop()
        sys.stderr.write("spark_server: stopped\n")


if __name__ == "__main__":
    main(sys.argv[1:])
