"""Verifies a benchmark table with PyIceberg, independently of the system that wrote it.

Usage: python verify.py <table-folder>
Reads the highest metadata/v<N>.metadata.json with StaticTable.from_metadata and prints
one JSON line: rows (scan count), distinct event_id values, data files and their bytes
(from the scan plan), snapshots. Exit 0 even when the table is missing ({"rows": 0}).
"""
import glob
import json
import os
import re
import sys

import pyarrow.compute as pc
from pyiceberg.table import StaticTable


def latest_metadata(folder):
    best = None
    for path in glob.glob(os.path.join(folder, "metadata", "v*.metadata.json")):
        m = re.search(r"/v(\d+)\.metadata\.json$", path)
        if m and (best is None or int(m.group(1)) > best[0]):
            best = (int(m.group(1)), path)
    return best[1] if best else None


def main():
    meta = latest_metadata(sys.argv[1])
    if meta is None:
        print(json.dumps({"rows": 0, "distinct": 0, "dataFiles": 0, "dataBytes": 0, "snapshots": 0}))
        return
    table = StaticTable.from_metadata(meta)
    snapshots = len(table.metadata.snapshots)
    if table.current_snapshot() is None:
        print(json.dumps({"rows": 0, "distinct": 0, "dataFiles": 0, "dataBytes": 0, "snapshots": 0}))
        return
    tasks = list(table.scan().plan_files())
    ids = table.scan(selected_fields=("event_id",)).to_arrow().column("event_id")
    print(json.dumps({
        "metadata": meta,
        "rows": len(ids),
        "distinct": pc.count_distinct(ids).as_py(),
        "dataFiles": len(tasks),
        "dataBytes": sum(t.file.file_size_in_bytes for t in tasks),
        "snapshots": snapshots,
    }))


main()
