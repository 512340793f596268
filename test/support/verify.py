"""Bulk checks of kice-written tables for the engine's end-to-end tests, without shipping
millions of rows to TypeScript. Run with the project venv (test/infra/python-env.sh).

  verify.py ids <metadata.json> <id column> [--reader pyiceberg|duckdb] [--snapshot-id N]
      prints one JSON object: {"count", "distinct", "min", "max", "sum", "sha256"} over the
      column's values (nulls excluded from distinct/min/max/sum/sha256, counted in count);
      sha256 is over the sorted values as little-endian int64s, sum is a decimal string.
      Must equal test/support/produce.ts idStats() of the produced ids.
  verify.py hashes <metadata.json> <id column> <out file> [--rest URI]
      writes, for every row PyIceberg reads, 24 bytes: the id as a little-endian int64 and
      the first 16 bytes of the SHA-256 of the row's canonical encoding (every column; see
      test/support/row-hash.ts, which computes the same over the produced events); prints
      {"rows": N}. With --rest URI the first argument is a table name (ns.table), loaded
      through that REST catalog (with s3.* FileIO properties when KICE_S3_ENDPOINT is set).

  verify.py files <metadata.json>
      prints {"files": [{"path", "records", "partition"}...]} for the current snapshot
      (PyIceberg's plan; partition values as strings)
  verify.py duckdb-scanned <metadata.json> <where clause>
      prints {"count", "filenames", "files_read", "files_read_unfiltered"}: the rows DuckDB's
      iceberg_scan returns for the clause, the distinct data files they come from (DuckDB's
      `filename` column), and the "Total Files Read" its ICEBERG_SCAN operator reports in the
      query profile, for the filtered and for an unfiltered count(*).

Tables on S3: with KICE_S3_ENDPOINT set (see readers.py) every command reads s3://
metadata from the test S3 server: PyIceberg gets s3.* properties and DuckDB httpfs with an
S3 secret, as in readers.py.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
import struct
import sys
import uuid
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


def option(args: list[str], name: str) -> str | None:
    if name in args:
        i = args.index(name)
        return args[i + 1]
    return None


def stats(col: pa.Array) -> dict[str, Any]:
    """count/distinct/min/max/sum/sha256 of an integer column (one contiguous Array)."""
    count = len(col)
    col = col.cast(pa.int64()).drop_null()
    ordered = pc.take(col, pc.sort_indices(col))
    n = len(ordered)
    data = ordered.buffers()[1]
    raw = b"" if n == 0 else data.to_pybytes()[ordered.offset * 8 : (ordered.offset + n) * 8]
    total = pc.sum(col.cast(pa.decimal128(38, 0))).as_py() if n else 0
    return {
        "count": count,
        "distinct": pc.count_distinct(col).as_py() if n else 0,
        "min": ordered[0].as_py() if n else None,
        "max": ordered[n - 1].as_py() if n else None,
        "sum": str(int(total)),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }


# readers.py sits beside this script; it knows the test S3 server (KICE_S3_ENDPOINT).
def duckdb_connect():
    from readers import duckdb_connect as connect

    return connect()


def static_table(location: str):
    from readers import static_table as load

    return load(location)


def rest_table(uri: str, name: str):
    from readers import rest_catalog

    return rest_catalog(uri).load_table(name)


def scan_sql(location: str) -> str:
    return "iceberg_scan('" + location.replace("'", "''") + "')"


def cmd_ids(args: list[str]) -> None:
    location, column = args[0], args[1]
    reader = option(args, "--reader") or "pyiceberg"
    snapshot = option(args, "--snapshot-id")
    if reader == "pyiceberg":
        table = static_table(location)
        kwargs: dict[str, Any] = {"selected_fields": (column,)}
        if snapshot is not None:
            kwargs["snapshot_id"] = int(snapshot)
        col = table.scan(**kwargs).to_arrow().column(column).combine_chunks()
    elif reader == "duckdb":
        if snapshot is not None:
            raise SystemExit("verify.py: --snapshot-id is for the pyiceberg reader")
        con = duckdb_connect()
        quoted = '"' + column.replace('"', '""') + '"'
        col = con.execute(f"SELECT {quoted} FROM {scan_sql(location)}").fetch_arrow_table().column(0).combine_chunks()
    else:
        raise SystemExit(f"verify.py: unknown reader {reader}")
    print(json.dumps(stats(col)))


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
EPOCH_DATE = datetime.date(1970, 1, 1)
US = datetime.timedelta(microseconds=1)


def canon(v: Any, out: list[str]) -> None:
    """Appends the canonical encoding of `v` (the one test/support/row-hash.ts documents)."""
    if v is None:
        out.append("n")
    elif v is True:
        out.append("t")
    elif v is False:
        out.append("f")
    elif isinstance(v, int):
        out.append(f"i{v};")
    elif isinstance(v, float):
        if v == v and abs(v) < 2**53 and v.is_integer():
            out.append(f"i{int(v)};")
        else:
            out.append("d" + struct.pack(">d", v).hex() + ";")
    elif isinstance(v, str):
        out.append(f"s{len(v.encode('utf-8'))}:{v}")
    elif isinstance(v, bytes):
        out.append(f"b{len(v)}:" + v.decode("latin-1"))
    elif isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        out.append(f"i{(v - EPOCH) // US};")
    elif isinstance(v, datetime.date):
        out.append(f"i{(v - EPOCH_DATE).days};")
    elif isinstance(v, datetime.time):
        out.append(f"i{((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000 + v.microsecond};")
    elif isinstance(v, (decimal.Decimal, uuid.UUID)):
        s = str(v)
        out.append(f"s{len(s.encode('utf-8'))}:{s}")
    elif isinstance(v, dict):
        keys = sorted((k for k, x in v.items() if x is not None), key=lambda k: k.encode("utf-8"))
        out.append(f"o{len(keys)}{{")
        for k in keys:
            canon(k, out)
            canon(v[k], out)
        out.append("}")
    elif isinstance(v, list) and v and all(isinstance(e, tuple) for e in v):
        # pyarrow's to_pylist() gives a map as a list of (key, value) tuples.
        entries = []
        for k, x in v:
            kp: list[str] = []
            xp: list[str] = []
            canon(k, kp)
            canon(x, xp)
            entries.append(("".join(kp), "".join(xp)))
        entries.sort(key=lambda e: e[0].encode("utf-8"))
        out.append(f"m{len(entries)}{{" + "".join(k + x for k, x in entries) + "}")
    elif isinstance(v, list):
        out.append(f"l{len(v)}[")
        for e in v:
            canon(e, out)
        out.append("]")
    else:
        raise SystemExit(f"verify.py: cannot encode a {type(v).__name__}")


def cmd_hashes(args: list[str]) -> None:
    location, column, path = args[0], args[1], args[2]
    rest = option(args, "--rest")
    loaded = rest_table(rest, location) if rest is not None else static_table(location)
    table = loaded.scan().to_arrow()
    rows = 0
    with open(path, "wb") as fh:
        for batch in table.to_batches(max_chunksize=50_000):
            for row in batch.to_pylist():
                parts: list[str] = []
                canon(row, parts)
                digest = hashlib.sha256("".join(parts).encode("utf-8")).digest()[:16]
                fh.write(struct.pack("<q", row[column]) + digest)
                rows += 1
    print(json.dumps({"rows": rows}))


def cmd_files(args: list[str]) -> None:
    table = static_table(args[0])
    out = []
    for task in table.scan().plan_files():
        f = task.file
        out.append(
            {
                "path": f.file_path,
                "records": f.record_count,
                "partition": [None if v is None else str(v) for v in f.partition],
            }
        )
    out.sort(key=lambda f: f["path"])
    print(json.dumps({"files": out}))


def files_read(con, sql: str) -> int:
    """"Total Files Read" of the ICEBERG_SCAN operator in DuckDB's JSON profile of `sql`."""
    import os
    import tempfile

    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        con.execute("PRAGMA enable_profiling = 'json'")
        con.execute(f"PRAGMA profiling_output = '{path}'")
        con.execute("SET profiling_mode = 'detailed'")
        con.execute(sql).fetchall()
        con.execute("PRAGMA disable_profiling")
        with open(path) as fh:
            profile = json.load(fh)
    finally:
        os.unlink(path)
    found: list[int] = []

    def walk(node: dict[str, Any]) -> None:
        info = node.get("extra_info") or {}
        if info.get("Function") == "ICEBERG_SCAN":
            found.append(int(info["Total Files Read"]))
        for child in node.get("children", []):
            walk(child)

    walk(profile)
    if len(found) != 1:
        raise SystemExit(f"verify.py: expected one ICEBERG_SCAN in the profile, found {len(found)}")
    return found[0]


def cmd_duckdb_scanned(args: list[str]) -> None:
    location, where = args[0], args[1]
    con = duckdb_connect()
    scan = scan_sql(location)
    count = con.execute(f"SELECT count(*) FROM {scan} WHERE {where}").fetchone()[0]
    names = [r[0] for r in con.execute(f"SELECT DISTINCT filename FROM {scan} WHERE {where} ORDER BY 1").fetchall()]
    print(
        json.dumps(
            {
                "count": count,
                "filenames": names,
                "files_read": files_read(con, f"SELECT count(*) FROM {scan} WHERE {where}"),
                "files_read_unfiltered": files_read(con, f"SELECT count(*) FROM {scan}"),
            }
        )
    )


COMMANDS = {
    "ids": (cmd_ids, 2),
    "hashes": (cmd_hashes, 3),
    "files": (cmd_files, 1),
    "duckdb-scanned": (cmd_duckdb_scanned, 2),
}


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in COMMANDS:
        raise SystemExit("usage: verify.py " + "|".join(COMMANDS) + " <args>")
    fn, nargs = COMMANDS[argv[0]]
    if len(argv) - 1 < nargs:
        raise SystemExit(f"verify.py: {argv[0]} needs {nargs} argument(s)")
    fn(argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
