"""Bulk checks of kice-written tables for the engine's end-to-end tests, without shipping
millions of rows to TypeScript. Run with the project venv (test/infra/python-env.sh).

  verify.py ids <metadata.json> <id column> [--reader pyiceberg|duckdb] [--snapshot-id N]
      prints one JSON object: {"count", "distinct", "min", "max", "sum", "sha256"} over the
      column's values (nulls excluded from distinct/min/max/sum/sha256, counted in count);
      sha256 is over the sorted values as little-endian int64s, sum is a decimal string.
      Must equal test/support/produce.ts idStats() of the produced ids.
  verify.py files <metadata.json>
      prints {"files": [{"path", "records", "partition"}...]} for the current snapshot
      (PyIceberg's plan; partition values as strings)
  verify.py duckdb-scanned <metadata.json> <where clause>
      prints {"count", "filenames", "files_read", "files_read_unfiltered"}: the rows DuckDB's
      iceberg_scan returns for the clause, the distinct data files they come from (DuckDB's
      `filename` column), and the "Total Files Read" its ICEBERG_SCAN operator reports in the
      query profile, for the filtered and for an unfiltered count(*).
"""

from __future__ import annotations

import hashlib
import json
import sys
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


def duckdb_connect():
    import duckdb
    import duckdb_ext

    con = duckdb.connect()
    duckdb_ext.init(con)
    con.execute("LOAD avro")
    con.execute("LOAD iceberg")
    return con


def scan_sql(location: str) -> str:
    return "iceberg_scan('" + location.replace("'", "''") + "')"


def cmd_ids(args: list[str]) -> None:
    location, column = args[0], args[1]
    reader = option(args, "--reader") or "pyiceberg"
    snapshot = option(args, "--snapshot-id")
    if reader == "pyiceberg":
        from pyiceberg.table import StaticTable

        table = StaticTable.from_metadata(location)
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


def cmd_files(args: list[str]) -> None:
    from pyiceberg.table import StaticTable

    table = StaticTable.from_metadata(args[0])
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


COMMANDS = {"ids": (cmd_ids, 2), "files": (cmd_files, 1), "duckdb-scanned": (cmd_duckdb_scanned, 2)}


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in COMMANDS:
        raise SystemExit("usage: verify.py " + "|".join(COMMANDS) + " <args>")
    fn, nargs = COMMANDS[argv[0]]
    if len(argv) - 1 < nargs:
        raise SystemExit(f"verify.py: {argv[0]} needs {nargs} argument(s)")
    fn(argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
