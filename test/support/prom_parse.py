"""Parses a Prometheus text-format exposition with the Prometheus project's own Python
client (prometheus_client.parser) and prints its families as JSON, so that kice's
/metrics is checked by an independent, maintained parser rather than by our own.

  prom_parse.py <file>   ->   [{"name", "type", "help", "samples": [{"name", "labels", "value"}]}]

A malformed exposition makes the parser raise: the script exits non-zero.
"""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    out = []
    for fam in text_string_to_metric_families(text):
        out.append(
            {
                "name": fam.name,
                "type": fam.type,
                "help": fam.documentation,
                "samples": [
                    {
                        "name": s.name,
                        "labels": dict(s.labels),
                        "value": None if math.isnan(s.value) else (
                            "+Inf" if s.value == math.inf else s.value
                        ),
                    }
                    for s in fam.samples
                ],
            }
        )
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
