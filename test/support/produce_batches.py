"""Produces test records with librdkafka (confluent_kafka.Producer), so that the record
batches on the broker are framed by a client kice did not write.

Usage: produce_batches.py <bootstrap> <jobs.json>

<jobs.json> is a JSON list of jobs (run at once, their results printed in order):
  {"topic": t, "compression": "none"|"gzip"|"snappy"|"lz4"|"zstd", "count": n,
   "mode": "plain"|"txn"|"compact"}
- plain: n records, small batches (batch.num.messages=37), keys, headers, tombstones and
  empty values mixed in (see record()).
- txn: two transactional producers A and B and an idempotent non-transactional producer
  C write rounds whose transactions interleave in the log; in each round one of A and B
  commits and the other aborts. n records per producer per round, 4 rounds.
- compact: n records over 20 keys (later values overwrite earlier ones, a few tombstones),
  then, after the segment had time to roll (segment.ms on the topic), one more record so
  that the segment holding the rest can be cleaned.
Prints one JSON line per job: {"committed": [values...], "aborted": [values...]} with the
values (as text) the job wrote whose transaction committed (every value outside txn mode;
null for tombstones) and those whose transaction aborted.
"""

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from confluent_kafka import Producer


def record(src, i):
    """(key, value, headers) of record i: deterministic, with the odd cases in it."""
    key = None if i % 10 == 0 else f"k{i % 13}".encode()
    if i % 17 == 0:
        value = None
    elif i % 19 == 0:
        value = b""
    else:
        value = json.dumps({"src": src, "i": i, "s": "é✓" * (i % 4), "pad": "x" * (i % 50)}).encode()
    headers = [("n", str(i).encode()), ("src", src.encode())]
    if i % 3 == 0:
        headers.append(("none", None))
    return key, value, headers


def text(v):
    return None if v is None else v.decode()


def check(err, msg):
    if err is not None:
        raise RuntimeError(f"delivery failed: {err}")


def base_config(bootstrap, compression):
    return {
        "bootstrap.servers": bootstrap,
        "compression.type": compression,
        "linger.ms": 5,
        "batch.num.messages": 37,
        "enable.idempotence": True,
    }


def plain(bootstrap, job):
    p = Producer(base_config(bootstrap, job["compression"]))
    out = []
    for i in range(job["count"]):
        k, v, h = record(f"rdkafka-{job['compression']}", i)
        p.produce(job["topic"], value=v, key=k, headers=h, partition=0, on_delivery=check)
        out.append(text(v))
        if i % 100 == 99:
            p.flush(30)
    if p.flush(30) != 0:
        raise RuntimeError("flush timed out")
    return {"committed": out, "aborted": []}


def txn(bootstrap, job):
    topic, n = job["topic"], job["count"]
    producers = {}
    for name in ("A", "B"):
        conf = base_config(bootstrap, job["compression"])
        conf["transactional.id"] = f"{topic}-{name}"
        producers[name] = Producer(conf)
        producers[name].init_transactions(30)
    c = Producer(base_config(bootstrap, job["compression"]))
    committed, aborted = [], []
    seq = 0

    def send(p, name, rnd):
        nonlocal seq
        vals = []
        for _ in range(n):
            k, v, h = record(f"rdkafka-txn-{name}-r{rnd}", seq)
            seq += 1
            p.produce(topic, value=v, key=k, headers=h, partition=0, on_delivery=check)
            vals.append(text(v))
        p.flush(30)
        return vals

    for rnd in range(4):
        a, b = producers["A"], producers["B"]
        a.begin_transaction()
        b.begin_transaction()
        got_a = send(a, "A", rnd)
        got_b = send(b, "B", rnd)
        got_c = send(c, "C", rnd)
        got_a += send(a, "A", rnd)
        committed.extend(got_c)
        if rnd % 2 == 0:
            b.abort_transaction(30)
            a.commit_transaction(30)
            committed.extend(got_a)
            aborted.extend(got_b)
        else:
            a.abort_transaction(30)
            b.commit_transaction(30)
            committed.extend(got_b)
            aborted.extend(got_a)
    return {"committed": committed, "aborted": aborted}


def compact(bootstrap, job):
    p = Producer(base_config(bootstrap, job["compression"]))
    out = []
    for i in range(job["count"]):
        value = None if i % 23 == 5 else json.dumps({"i": i}).encode()
        p.produce(job["topic"], value=value, key=f"key-{i % 20}".encode(), partition=0, on_delivery=check)
        out.append(text(value))
    p.flush(30)
    time.sleep(1.5)
    p.produce(job["topic"], value=b'{"last":true}', key=b"roll", partition=0, on_delivery=check)
    out.append('{"last":true}')
    if p.flush(30) != 0:
        raise RuntimeError("flush timed out")
    return {"committed": out, "aborted": []}


def main():
    bootstrap = sys.argv[1]
    with open(sys.argv[2]) as f:
        jobs = json.load(f)
    modes = {"plain": plain, "txn": txn, "compact": compact}
    # Jobs are independent topics: run them at once (librdkafka does the I/O on its own
    # threads), print their results in job order.
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = [pool.submit(modes[job["mode"]], bootstrap, job) for job in jobs]
        for r in results:
            print(json.dumps(r.result()), flush=True)


if __name__ == "__main__":
    main()
