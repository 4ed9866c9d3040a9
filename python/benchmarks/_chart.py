"""The report's chart (a PNG, matplotlib's Agg backend): how the time of a
history read and of a search grows with size, log-log, one line per
store; and how many times better than MLflow's sqlite store each store
did on the other workloads. A second chart shows the scale group: the
time of each read, and a process's peak RSS, against the runs in the
store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from _common import (
    BASELINE,
    FILE,
    HISTORY_SIZES,
    NATIVE,
    PLUGIN,
    SEARCH_SIZES,
    SQLITE,
    STORES,
    Row,
    history,
    search,
    workloads,
)
from _report import ratios
from _scale import TIMED, scale_rss

COLORS = {FILE: "tab:orange", SQLITE: "tab:red", PLUGIN: "tab:blue", NATIVE: "tab:green"}


def _scaling(
    ax: Any, rows: Sequence[Row], sizes: Sequence[int], name: Callable[[int], str], xlabel: str
) -> None:
    """One line per store: time against the size actually measured."""
    for store in STORES:
        found = [
            r
            for n in sizes
            for r in rows
            if r.workload == name(n) and r.store == store and r.value is not None
        ]
        if found:
            xs = [r.size for r in found]
            ys = [r.value for r in found]
            ax.plot(xs, ys, marker="o", label=store, color=COLORS[store])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("median time (ms), log scale")
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)


def _speedups(ax: Any, rows: Sequence[Row]) -> None:
    """Horizontal bars: times better than the baseline, per workload and store."""
    found = ratios(rows)
    others = [s for s in STORES if s != BASELINE]
    scaled = {history(n) for n in HISTORY_SIZES} | {search(n) for n in SEARCH_SIZES}
    names = [w for w in workloads() if w not in scaled and any((w, s) in found for s in others)]
    height = 0.8 / len(others)
    for k, store in enumerate(others):
        ys = [i + k * height for i in range(len(names))]
        xs = [found.get((w, store), 0.0) for w in names]
        ax.barh(ys, xs, height=height, label=store, color=COLORS[store])
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(names))])
    ax.set_yticklabels([w if len(w) <= 45 else w[:42] + "…" for w in names], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color=COLORS[BASELINE], linewidth=1)
    ax.set_xlabel(f"times better than {BASELINE} (log scale; 1 = same)")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    if names:
        ax.legend(fontsize=8)


def write_chart(rows: Sequence[Row], path: Path, title: str) -> None:
    """Writes the chart as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(18, 5.5), gridspec_kw={"width_ratios": [1, 1, 1.3]})
    _scaling(axes[0], rows, HISTORY_SIZES, history, "points in the history")
    axes[0].set_title("read one metric's history")
    _scaling(axes[1], rows, SEARCH_SIZES, search, "runs in the store")
    axes[1].set_title("search_runs: filter, order_by, top 100")
    _speedups(axes[2], rows)
    axes[2].set_title("other workloads")
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _by_size(rows: Sequence[Row], name: Callable[[int], str]) -> tuple[list[int], list[float]]:
    """The sizes and values of a scale workload's measured rows."""
    found = sorted(
        (r for r in rows if r.size and r.workload == name(r.size) and r.value is not None),
        key=lambda r: r.size or 0,
    )
    return [r.size or 0 for r in found], [r.value or 0.0 for r in found]


def write_scale_chart(rows: Sequence[Row], path: Path, title: str) -> bool:
    """Writes the scale group's chart as a PNG; False (and nothing written)
    when there is no scale row."""
    if not any(_by_size(rows, name)[0] for name in (*TIMED, scale_rss)):
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (times, memory) = plt.subplots(1, 2, figsize=(14, 5.5))
    for name in TIMED:
        xs, ys = _by_size(rows, name)
        if xs:
            times.plot(xs, ys, marker="o", label=name(0).split(": ", 1)[1])
    times.set_xscale("log")
    times.set_yscale("log")
    times.set_xlabel("runs in the store")
    times.set_ylabel("median time (ms), log scale")
    times.set_title("reads and run creation against store size")
    times.grid(True, which="both", alpha=0.3)
    # Below the axes: the lines fill the plot's top.
    times.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    xs, ys = _by_size(rows, scale_rss)
    memory.plot(xs, ys, marker="o", color=COLORS[NATIVE])
    memory.set_xscale("log")
    memory.set_ylim(bottom=0)
    memory.set_xlabel("runs in the store")
    memory.set_ylabel("peak RSS (MiB)")
    memory.set_title("a process that opened the store and searched it")
    memory.grid(True, which="both", alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
