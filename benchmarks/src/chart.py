"""Renders a pnpm bench result JSON as a PNG chart comparing the systems.

Usage: python chart.py <result.json> <out.png>
Three panels: events/s (higher is better), CPU seconds per million events and peak RSS
(lower is better). Failed runs are drawn as empty bars labelled FAILED.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {
    "ceiling-kafkajs": "#9e9e9e",
    "ceiling-platformatic": "#bdbdbd",
    "kice": "#1f77b4",
    "kice-best": "#0b4f8a",
    "iceberg-kafka-connect": "#d62728",
}


def main():
    result = json.load(open(sys.argv[1]))
    systems = result["systems"]
    names = [s["system"] for s in systems]
    colors = [COLORS.get(n, "#777777") for n in names]
    panels = [
        ("eventsPerSecond", "events/s (higher is better)", lambda v: f"{v:,.0f}"),
        ("cpuSecondsPerMillionEvents", "CPU s per million events (lower is better)", lambda v: f"{v:,.1f}"),
        ("peakRssMb", "peak RSS, MB (lower is better)", lambda v: f"{v:,.0f}"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.2))
    for ax, (key, title, fmt) in zip(axes, panels):
        values = [s[key] if s["ok"] else 0 for s in systems]
        bars = ax.bar(range(len(names)), values, color=colors)
        ax.set_title(title, fontsize=11)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=25, ha="right", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
        for bar, s, v in zip(bars, systems, values):
            label = fmt(v) if s["ok"] else "FAILED"
            ax.annotate(label, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)
    m = result["machine"]
    d = result["data"]
    fig.suptitle(
        f"kice bench{' --quick' if result['quick'] else ''}: {d['events']:,} JSON events "
        f"(~{d['avgEventBytes']:.0f} B, {d['partitions']} partitions), commit interval "
        f"{result['commitIntervalMs'] / 1000:g} s — {m['cpuModel']}, {m['cores']} cores, "
        f"{m['memoryGb']} GB, Node {m['node']} — {result['revision']['commit']}",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(sys.argv[2], dpi=110)


main()
