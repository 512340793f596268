"""Independent Iceberg readers (PyIceberg, DuckDB) for kice's interop tests.

Run with the project venv (test/infra/python-env.sh prints its python):

  readers.py pyiceberg-rows <metadata.json> [--snapshot-id N] [--filter EXPR]
  readers.py pyiceberg-plan <metadata.json> --filter EXPR
  readers.py pyiceberg-history <metadata.json>
  readers.py pyiceberg-write <warehouse dir> <namespace.table> <spec.json>
  readers.py pyiceberg-append-hadoop <table dir> <rows.json>
  readers.py duckdb-rows <metadata.json>
  readers.py duckdb-query <metadata.json> <sql with {t} for the table>

Rows go to stdout as JSON lines, one object per row keyed by column name. Values are
TYPE-TAGGED from the Arrow type so that the TypeScript side (test/support/tagged.ts) can
compare them exactly:

  null, boolean, int (8/16/32 bit) -> JSON null / true|false / number
  string                            -> JSON string
  long (int64)                      -> {"$l": "123"}
  float, double                     -> number, or {"$f": "NaN"|"Infinity"|"-Infinity"|"-0.0"}
  decimal(p, s)                     -> {"$d": "-12.30"} (exactly s fraction digits)
  date                              -> {"$date": days since 1970-01-01}
  time                              -> {"$time": "micros since midnight"}
  timestamp / timestamptz           -> {"$ts": "micros"} / {"$tstz": "micros"} since epoch
  binary, fixed                     -> {"$b": "hex"}
  uuid                              -> {"$uuid": "canonical lowercase"}
  struct                            -> JSON object keyed by field name
  list                              -> JSON array
  map                               -> {"$map": [[key, value], ...]}

pyiceberg-append-hadoop appends rows to a table kept in the Hadoop (filesystem) layout, as
another writer would: PyIceberg writes the data, manifests and the next metadata, which is
then committed the Hadoop way (see cmd_pyiceberg_append_hadoop). It prints the new
metadata file's path.

Tables on S3 (s3:// metadata locations): set KICE_S3_ENDPOINT (and optionally
KICE_S3_ACCESS_KEY_ID, KICE_S3_SECRET_ACCESS_KEY, KICE_S3_REGION; default test/test/
us-east-1) to the test S3 server's URL; PyIceberg then gets s3.* FileIO properties
(path-style) and DuckDB loads httpfs with an S3 secret for that endpoint.

pyiceberg-write reads rows in the same format (untagged numbers and strings are accepted
too; the table's Arrow type decides, and {"$l": n} for a decimal is the unscaled value).
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

MICROS_PER = {"s": 1_000_000, "ms": 1_000, "us": 1}


# ----------------------------------------------------------------- Arrow -> tagged JSON


def fmt_decimal(unscaled: int, scale: int) -> str:
    """Exact decimal string of unscaled * 10^-scale with exactly `scale` fraction digits."""
    sign = "-" if unscaled < 0 else ""
    digits = str(abs(unscaled))
    if scale <= 0:
        return sign + digits + "0" * (-scale)
    digits = digits.rjust(scale + 1, "0")
    return f"{sign}{digits[:-scale]}.{digits[-scale:]}"


def unscaled_of(d: Decimal, scale: int) -> int:
    sign, digits, exponent = d.as_tuple()
    n = int("".join(map(str, digits)) or "0")
    shift = int(exponent) + scale
    n = n * 10**shift if shift >= 0 else n // 10 ** (-shift)
    return -n if sign else n


def tag_float(v: float | None) -> Any:
    if v is None:
        return None
    if v != v:
        return {"$f": "NaN"}
    if v in (float("inf"), float("-inf")):
        return {"$f": "Infinity" if v > 0 else "-Infinity"}
    if v == 0 and str(v).startswith("-"):
        return {"$f": "-0.0"}
    return v


def ints_of(arr: pa.Array, factor: int = 1, divisor: int = 1) -> list[int | None]:
    out = arr.cast(pa.int64()).to_pylist()
    return [None if v is None else v * factor // divisor for v in out]


def child_values(arr: pa.Array) -> tuple[pa.Array, list[int]]:
    """The child values a list/map array's slots reference, and its offsets rebased to them."""
    offsets = arr.offsets.to_pylist()
    first = offsets[0]
    return arr.values.slice(first, offsets[-1] - first), [o - first for o in offsets]


def split(values: list[Any], offsets: list[int], arr: pa.Array) -> list[Any]:
    """Regroups child values into one list per slot of a list/map array (None when null)."""
    valid = arr.is_valid().to_pylist()
    return [values[offsets[i] : offsets[i + 1]] if valid[i] else None for i in range(len(arr))]


def tag_array(arr: pa.Array) -> list[Any]:
    """Tagged JSON values of every slot of an Arrow array, driven by its type."""
    t = arr.type
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if isinstance(t, pa.BaseExtensionType):
        storage = arr.storage
        if t.extension_name == "arrow.uuid":
            return [None if b is None else {"$uuid": str(uuid.UUID(bytes=b))} for b in storage.to_pylist()]
        return tag_array(storage)
    if pa.types.is_dictionary(t):
        return tag_array(arr.dictionary_decode())
    if pa.types.is_null(t):
        return [None] * len(arr)
    if pa.types.is_boolean(t) or pa.types.is_string(t) or pa.types.is_large_string(t):
        return arr.to_pylist()
    if pa.types.is_integer(t):
        if t.bit_width < 64:
            return arr.to_pylist()
        return [None if v is None else {"$l": str(v)} for v in arr.to_pylist()]
    if pa.types.is_floating(t):
        return [tag_float(v) for v in arr.to_pylist()]
    if pa.types.is_decimal(t):
        return [None if d is None else {"$d": fmt_decimal(unscaled_of(d, t.scale), t.scale)} for d in arr.to_pylist()]
    if pa.types.is_date32(t):
        return [None if v is None else {"$date": v} for v in arr.cast(pa.int32()).to_pylist()]
    if pa.types.is_date64(t):
        return [None if v is None else {"$date": v // 86_400_000} for v in ints_of(arr)]
    if pa.types.is_time(t):
        vals = ints_of(arr, divisor=1000) if t.unit == "ns" else ints_of(arr, factor=MICROS_PER[t.unit])
        return [None if v is None else {"$time": str(v)} for v in vals]
    if pa.types.is_timestamp(t):
        key = "$ts" if t.tz is None else "$tstz"
        if t.unit == "ns":
            key += "ns"
            vals = ints_of(arr)
        else:
            vals = ints_of(arr, factor=MICROS_PER[t.unit])
        return [None if v is None else {key: str(v)} for v in vals]
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return [None if b is None else {"$b": b.hex()} for b in arr.to_pylist()]
    if pa.types.is_struct(t):
        valid = arr.is_valid().to_pylist()
        names = [t.field(i).name for i in range(t.num_fields)]
        cols = [tag_array(c) for c in arr.flatten()]
        return [dict(zip(names, (c[i] for c in cols))) if valid[i] else None for i in range(len(arr))]
    if pa.types.is_map(t):
        entries, offsets = child_values(arr)  # struct<key, value>
        keys, vals = (tag_array(c) for c in entries.flatten())
        pairs = [[k, v] for k, v in zip(keys, vals)]
        return [None if p is None else {"$map": p} for p in split(pairs, offsets, arr)]
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        values, offsets = child_values(arr)
        return split(tag_array(values), offsets, arr)
    raise SystemExit(f"readers.py: no tagging for Arrow type {t}")


def print_rows(table: pa.Table) -> None:
    cols = [tag_array(table.column(i)) for i in range(table.num_columns)]
    names = table.column_names
    out = sys.stdout
    for i in range(table.num_rows):
        row = {names[j]: cols[j][i] for j in range(len(names))}
        out.write(json.dumps(row, separators=(",", ":"), allow_nan=False))
        out.write("\n")
    out.flush()


# ----------------------------------------------------------------- tagged JSON -> Arrow


def untag_int(v: Any) -> int:
    if isinstance(v, dict):
        (tag, s), = v.items()
        if tag in ("$l", "$time", "$ts", "$tstz", "$date"):
            return int(s)
        raise SystemExit(f"readers.py: {tag} is not an integer tag")
    return int(v)


def plain_value(v: Any, t: pa.DataType) -> Any:
    """One tagged (or plain) JSON scalar as the Python value pa.array takes for type t."""
    if v is None:
        return None
    if pa.types.is_floating(t):
        return float(v["$f"]) if isinstance(v, dict) else float(v)
    if pa.types.is_decimal(t):
        if isinstance(v, dict) and "$d" in v:
            return Decimal(v["$d"])
        return Decimal(f"{untag_int(v)}E{-t.scale}")  # exact: no context rounding
    if pa.types.is_integer(t) or pa.types.is_date(t) or pa.types.is_time(t) or pa.types.is_timestamp(t):
        return untag_int(v)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        if isinstance(v, dict):
            return bytes.fromhex(v["$b"]) if "$b" in v else uuid.UUID(v["$uuid"]).bytes
        return v.encode() if isinstance(v, str) else bytes(v)
    return v


def filler(t: pa.DataType) -> Any:
    """A placeholder for a required child under a null struct (Parquet rejects nulls there)."""
    if isinstance(t, pa.BaseExtensionType):
        return {"$b": "00" * 16} if t.extension_name == "arrow.uuid" else filler(t.storage_type)
    if pa.types.is_struct(t):
        return {}
    if pa.types.is_map(t):
        return {"$map": []}
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return []
    if pa.types.is_fixed_size_binary(t):
        return {"$b": "00" * t.byte_width}
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_string(t) or pa.types.is_large_string(t):
        return ""
    return False if pa.types.is_boolean(t) else 0


def build_array(values: list[Any], t: pa.DataType) -> pa.Array:
    """Builds an Arrow array of type t (with nested field metadata kept) from JSON values."""
    mask = pa.array([v is None for v in values], pa.bool_())
    if isinstance(t, pa.BaseExtensionType):
        if t.extension_name == "arrow.uuid":
            values = [None if v is None else {"$uuid": v} if isinstance(v, str) else v for v in values]
        return pa.ExtensionArray.from_storage(t, build_array(values, t.storage_type))
    if pa.types.is_struct(t):
        fields = [t.field(i) for i in range(t.num_fields)]
        children = [
            build_array([(filler(f.type) if not f.nullable else None) if v is None else v.get(f.name) for v in values], f.type)
            for f in fields
        ]
        return pa.StructArray.from_arrays(children, fields=fields, mask=mask)
    if pa.types.is_map(t) or pa.types.is_list(t) or pa.types.is_large_list(t):
        is_map = pa.types.is_map(t)
        offsets, flat = [0], []
        for v in values:
            items = [] if v is None else (v["$map"] if is_map and isinstance(v, dict) else v)
            flat.extend(items)
            offsets.append(len(flat))
        if is_map:
            keys = build_array([kv[0] for kv in flat], t.key_type)
            items = build_array([kv[1] for kv in flat], t.item_type)
            return pa.MapArray.from_arrays(pa.array(offsets, pa.int32()), keys, items, type=t, mask=mask)
        child = build_array(flat, t.value_type)
        if pa.types.is_large_list(t):
            return pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), child, type=t, mask=mask)
        return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), child, type=t, mask=mask)
    return pa.array([plain_value(v, t) for v in values], type=t)


def build_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    cols = [build_array([r.get(f.name) for r in rows], f.type) for f in schema]
    return pa.Table.from_arrays(cols, schema=schema)


# ----------------------------------------------------------------- commands


def s3_settings() -> dict[str, str] | None:
    """The test S3 server (test/infra/s3.sh) from KICE_S3_ENDPOINT (+ _ACCESS_KEY_ID,
    _SECRET_ACCESS_KEY, _REGION; defaults test/test/us-east-1), or None when unset."""
    endpoint = os.environ.get("KICE_S3_ENDPOINT")
    if not endpoint:
        return None
    return {
        "endpoint": endpoint,
        "key": os.environ.get("KICE_S3_ACCESS_KEY_ID", "test"),
        "secret": os.environ.get("KICE_S3_SECRET_ACCESS_KEY", "test"),
        "region": os.environ.get("KICE_S3_REGION", "us-east-1"),
    }


def static_table(location: str):
    from pyiceberg.table import StaticTable

    s3 = s3_settings()
    if s3 is None or not location.startswith("s3"):
        return StaticTable.from_metadata(location)
    return StaticTable.from_metadata(
        location,
        properties={
            "s3.endpoint": s3["endpoint"],
            "s3.access-key-id": s3["key"],
            "s3.secret-access-key": s3["secret"],
            "s3.region": s3["region"],
            "s3.force-virtual-addressing": "false",
        },
    )


def option(args: list[str], name: str) -> str | None:
    if name in args:
        i = args.index(name)
        if i + 1 >= len(args):
            raise SystemExit(f"readers.py: {name} needs a value")
        return args[i + 1]
    return None


def cmd_pyiceberg_rows(args: list[str]) -> None:
    table = static_table(args[0])
    kwargs: dict[str, Any] = {}
    if (f := option(args, "--filter")) is not None:
        kwargs["row_filter"] = f
    if (s := option(args, "--snapshot-id")) is not None:
        kwargs["snapshot_id"] = int(s)
    print_rows(table.scan(**kwargs).to_arrow())


def cmd_rest_rows(args: list[str]) -> None:
    """rest-rows <uri> <ns.table>: the table loaded through a REST catalog, scanned."""
    print_rows(rest_catalog(args[0]).load_table(args[1]).scan().to_arrow())


def rest_catalog(uri: str):
    """PyIceberg's REST catalog at `uri`, with s3.* FileIO properties when KICE_S3_ENDPOINT
    is set (the server's load-table config may add or override them)."""
    from pyiceberg.catalog import load_catalog

    props = {"type": "rest", "uri": uri}
    s3 = s3_settings()
    if s3 is not None:
        props.update(
            {
                "s3.endpoint": s3["endpoint"],
                "s3.access-key-id": s3["key"],
                "s3.secret-access-key": s3["secret"],
                "s3.region": s3["region"],
                "s3.force-virtual-addressing": "false",
            }
        )
    return load_catalog("rest", **props)


def cmd_rest_append_loop(args: list[str]) -> None:
    """rest-append-loop <uri> <ns.table> <first id> <count>: waits (up to 180 s) until the
    table exists, then commits <count> appends of one row each through the REST catalog
    (column `id` = first id + i, every other column null). An append refused with
    CommitFailedException (409: it did not land) is retried on a fresh load; any other
    error ends the loop. Prints {"appended", "retries", "snapshot_ids"} (ids as strings)."""
    import time

    from pyiceberg.exceptions import CommitFailedException, NoSuchTableError

    catalog = rest_catalog(args[0])
    first, count = int(args[2]), int(args[3])
    deadline = time.monotonic() + 180
    while True:
        try:
            catalog.load_table(args[1])
            break
        except NoSuchTableError:
            if time.monotonic() > deadline:
                raise SystemExit(f"readers.py: table {args[1]} did not appear")
            time.sleep(0.05)
    retries = 0
    snapshot_ids: list[str] = []
    for i in range(count):
        while True:
            table = catalog.load_table(args[1])
            schema = table.schema().as_arrow()
            rows = pa.Table.from_pylist([{"id": first + i}], schema=schema)
            try:
                table.append(rows)
                break
            except CommitFailedException:
                retries += 1
        snapshot_ids.append(str(table.current_snapshot().snapshot_id))
    print(json.dumps({"appended": count, "retries": retries, "snapshot_ids": snapshot_ids}))


def cmd_pyiceberg_plan(args: list[str]) -> None:
    table = static_table(args[0])
    row_filter = option(args, "--filter")
    if row_filter is None:
        raise SystemExit("readers.py: pyiceberg-plan needs --filter EXPR")
    files = [task.file.file_path for task in table.scan(row_filter=row_filter).plan_files()]
    total = len(list(table.scan().plan_files()))
    print(json.dumps({"files": sorted(files), "total_files": total}))


def cmd_pyiceberg_history(args: list[str]) -> None:
    meta = static_table(args[0]).metadata
    snaps = []
    for s in meta.snapshots:
        summary = s.summary.model_dump(by_alias=True) if s.summary is not None else {}
        summary = {k: str(v) for k, v in summary.items() if v is not None}
        snaps.append(
            {
                "snapshot_id": str(s.snapshot_id),
                "parent_snapshot_id": None if s.parent_snapshot_id is None else str(s.parent_snapshot_id),
                "sequence_number": s.sequence_number,
                "timestamp_ms": s.timestamp_ms,
                "schema_id": s.schema_id,
                "manifest_list": s.manifest_list,
                "summary": summary,
            }
        )
    current = meta.current_snapshot_id
    print(json.dumps({"current_snapshot_id": None if current is None else str(current), "snapshots": snaps}))


def cmd_pyiceberg_write(args: list[str]) -> None:
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.partitioning import PartitionSpec
    from pyiceberg.schema import Schema

    warehouse = Path(args[0]).resolve()
    identifier = args[1]
    spec = json.loads(Path(args[2]).read_text())
    warehouse.mkdir(parents=True, exist_ok=True)
    catalog = SqlCatalog(
        "kice_interop", uri=f"sqlite:///{warehouse}/catalog.db", warehouse=warehouse.as_uri()
    )
    catalog.create_namespace_if_not_exists(identifier.rsplit(".", 1)[0])
    kwargs: dict[str, Any] = {
        "schema": Schema.model_validate(spec["schema"]),
        "properties": {"format-version": "2", **spec.get("properties", {})},
    }
    if spec.get("partition_spec"):
        kwargs["partition_spec"] = PartitionSpec.model_validate({"spec-id": 0, **spec["partition_spec"]})
    table = catalog.create_table(identifier, **kwargs)
    appends = spec.get("appends", [spec["rows"]] if "rows" in spec else [])
    arrow_schema = table.schema().as_arrow()
    for rows in appends:
        table.append(build_table(rows, arrow_schema))
        table = catalog.load_table(identifier)
    print(table.metadata_location)


def hadoop_current_version(metadata_dir: Path) -> int:
    """The table's current version as Java's HadoopTableOperations finds it: the hint, then
    probing forward while v<N+1>.metadata.json exists."""
    version = int((metadata_dir / "version-hint.text").read_text().strip())
    while (metadata_dir / f"v{version + 1}.metadata.json").exists():
        version += 1
    return version


def cmd_pyiceberg_append_hadoop(args: list[str]) -> None:
    """Appends rows (a JSON array, in the format of pyiceberg-write) to the Hadoop-layout
    table at args[0] as another writer.

    PyIceberg has no Hadoop catalog: the table is registered in a throw-away SqlCatalog on
    its current v<N>.metadata.json, PyIceberg appends (data file, manifest, manifest list,
    and its own next metadata file), and that metadata is then committed as Java's Hadoop
    catalog does: hard-linked to v<N+1>.metadata.json (fails if another writer took that
    version: nothing is committed) and version-hint.text rewritten to "N+1" without a
    trailing newline. PyIceberg's own metadata file is removed: the folder keeps only
    v<N>.metadata.json names."""
    import os
    import tempfile

    from pyiceberg.catalog.sql import SqlCatalog

    table_dir = Path(args[0]).resolve()
    rows = json.loads(Path(args[1]).read_text())
    metadata_dir = table_dir / "metadata"
    version = hadoop_current_version(metadata_dir)
    current = metadata_dir / f"v{version}.metadata.json"
    with tempfile.TemporaryDirectory(prefix="kice-foreign-") as tmp:
        catalog = SqlCatalog("foreign", uri=f"sqlite:///{tmp}/catalog.db", warehouse=Path(tmp).as_uri())
        catalog.create_namespace("foreign")
        table = catalog.register_table("foreign.t", current.as_uri())
        table.append(
            build_table(rows, table.schema().as_arrow()),
            snapshot_properties={"writer": "pyiceberg-append-hadoop"},
        )
        written = Path(catalog.load_table("foreign.t").metadata_location.removeprefix("file://"))
    target = metadata_dir / f"v{version + 1}.metadata.json"
    try:
        os.link(written, target)
    except FileExistsError:
        written.unlink()
        raise SystemExit(f"readers.py: version {version + 1} was committed by another writer")
    written.unlink()
    hint = metadata_dir / f".version-hint-{os.getpid()}.tmp"
    hint.write_text(str(version + 1))
    os.replace(hint, metadata_dir / "version-hint.text")
    print(target)


def duckdb_connect():
    import duckdb
    import duckdb_ext

    con = duckdb.connect()
    duckdb_ext.init(con)
    con.execute("LOAD avro")
    con.execute("LOAD iceberg")
    s3 = s3_settings()
    if s3 is not None:
        con.execute("LOAD httpfs")
        endpoint = s3["endpoint"]
        ssl = endpoint.startswith("https://")
        host = endpoint.split("://", 1)[-1].rstrip("/")
        con.execute(
            "CREATE SECRET kice_s3 (TYPE s3, KEY_ID ?, SECRET ?, REGION ?, ENDPOINT ?,"
            " URL_STYLE 'path', USE_SSL ?)".replace("?", "{}").format(
                *[sql_str(v) for v in (s3["key"], s3["secret"], s3["region"], host)],
                "true" if ssl else "false",
            )
        )
    return con


def sql_str(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


def scan_sql(location: str) -> str:
    return "iceberg_scan('" + location.replace("'", "''") + "')"


def cmd_duckdb_rows(args: list[str]) -> None:
    con = duckdb_connect()
    print_rows(con.execute(f"SELECT * FROM {scan_sql(args[0])}").fetch_arrow_table())


def cmd_duckdb_query(args: list[str]) -> None:
    con = duckdb_connect()
    sql = args[1].replace("{t}", scan_sql(args[0]))
    print_rows(con.execute(sql).fetch_arrow_table())


COMMANDS = {
    "pyiceberg-rows": (cmd_pyiceberg_rows, 1),
    "pyiceberg-plan": (cmd_pyiceberg_plan, 1),
    "pyiceberg-history": (cmd_pyiceberg_history, 1),
    "pyiceberg-write": (cmd_pyiceberg_write, 3),
    "pyiceberg-append-hadoop": (cmd_pyiceberg_append_hadoop, 2),
    "duckdb-rows": (cmd_duckdb_rows, 1),
    "duckdb-query": (cmd_duckdb_query, 2),
    "rest-rows": (cmd_rest_rows, 2),
    "rest-append-loop": (cmd_rest_append_loop, 4),
}


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in COMMANDS:
        raise SystemExit("usage: readers.py " + "|".join(COMMANDS) + " <args>")
    fn, nargs = COMMANDS[argv[0]]
    if len(argv) - 1 < nargs:
        raise SystemExit(f"readers.py: {argv[0]} needs {nargs} argument(s)")
    fn(argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
