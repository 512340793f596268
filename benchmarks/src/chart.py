"""Renders a pnpm bench result JSON as a PNG chart comparing the systems.

Usage: python chart.py <result.json> <out.png>
Three panels: events/s (higher is better), CPU seconds per million events and peak RSS
(lower is better). Failed runs are drawn as empty bars labelled FAILED. When the result
has a commit-contention section (scaleOut.contention), a second chart goes beside it,
<out>-contention.png: commits/s, retries per commit and p99 latency against the number
of writers K, one line per catalog.
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


def contention_chart(result, out):
    c = result["scaleOut"]["contention"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.2))
    panels = [
        ("commitsPerSecond", "commits/s to one table (all writers)", "linear"),
        ("retriesPerCommit", "retries per commit", "linear"),
        ("p99Ms", "p99 commit latency, ms (retries + backoff included)", "log"),
    ]
    for ax, (key, title, scale) in zip(axes, panels):
        for catalog, color in (("filesystem", "#1f77b4"), ("rest", "#d62728")):
            pts = [p for p in c["points"] if p["catalog"] == catalog and p["commits"] > 0]
            if not pts:
                continue
            xs = [p["writers"] for p in pts]
            ys = [p[key] for p in pts]
            ax.plot(xs, ys, marker="o", color=color, label=f"{catalog} catalog")
            for x, y in zip(xs, ys):
                ax.annotate(f"{y:g}", (x, y), fontsize=7, textcoords="offset points", xytext=(0, 4))
        ax.set_xscale("log", base=2)
        ax.set_yscale(scale)
        ax.set_xticks([1, 2, 4, 8, 16, 32])
        ax.set_xticklabels(["1", "2", "4", "8", "16", "32"])
        ax.set_xlabel("writers K (worker threads, one kice group member each)")
        ax.set_title(title, fontsize=11)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    m = result["machine"]
    fig.suptitle(
        f"commit contention: K writers x {c['commitsPerWriter']} "
        + (
            f"appends, one per {c['intervalMs']} ms each, of "
            if c.get("intervalMs")
            else "back-to-back appends of "
        )
        + f"{c['rowsPerCommit']} rows to one table - {m['cpuModel']}, {m['cores']} cores - "
        f"{result['revision']['commit']} - {result['startedAt'][:10]}",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(out, dpi=110)


def main():
    result = json.load(open(sys.argv[1]))
    so = result.get("scaleOut") or {}
    if so.get("contention"):
        contention_chart(result, sys.argv[2].removesuffix(".png") + "-contention.png")
    systems = result["systems"]
    if not systems:
        return
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
