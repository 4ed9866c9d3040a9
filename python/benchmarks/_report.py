"""The report: BENCHMARKS.md, a header describing the machine and the run,
the targets with met or not met, and the table of every figure with its
ratio to MLflow's sqlite store."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import _scale
import _ui
import mlflow
import numpy as np
from _common import (
    BARE_COPY,
    BASELINE,
    CLI,
    COMPACTED,
    EXPORT_CLI,
    EXPORT_DIRECT,
    EXPORT_IMPORT,
    EXPORT_REST,
    FILE,
    GET_ALIAS,
    HISTORY_SIZES,
    LOG_ARRAY,
    LOG_BATCH,
    LOG_METRIC,
    NATIVE,
    NOOP,
    PLUGIN,
    POSTER,
    REGISTER,
    SEARCH_SIZES,
    SEARCH_VERSIONS,
    SET_ALIAS,
    SQLITE,
    SWEEP_PROCESSES,
    Row,
    count,
    fmt,
    history,
    search,
    sweep,
)

import tracklite

STORE_NOTES = {
    FILE: "MLflow's file store (`file:` URI), through MLflow's client",
    SQLITE: "MLflow's sqlite store (`sqlite:///` URI, MLflow's default backend), the baseline",
    PLUGIN: "tracklite through MLflow's client (the plugin, `tracklite:` URI)",
    NATIVE: "tracklite's native Python API (`tracklite.Store`, `RunHandle`, numpy columns)",
    NOOP: "a store whose metric logging does nothing: the cost of MLflow's own layers, "
    "the ceiling of any store behind MLflow's fluent API",
    POSTER: "the REST ceiling of the export rows: a plain parallel `runs/log-batch` poster "
    "against the same MLflow server (PostgreSQL 15 + S3 emulator), started by the suite",
    BARE_COPY: "the direct-mode ceiling of the export rows: a bare binary `COPY` of the same "
    "rows into that server's `metrics` table",
    EXPORT_CLI: "the `tracklite` command's `export` (release build), REST (`--to`) or direct "
    "(`--postgres` and `--artifacts`)",
    CLI: "the `tracklite` command (release build), run as a process per call",
    _ui.VIEWER: "the viewer (`tracklite ui`) in headless Chromium (Debian's), driven by "
    "playwright; a fresh browser context per page load",
    _ui.MLFLOW_UI: "MLflow's own UI, `mlflow server --backend-store-uri tracklite://<store>` "
    "(the plugin) on the same store, in the same browser",
    EXPORT_IMPORT: "MLflow's own export tool (mlflow-export-import), `export_run` then "
    "`import_run`, from an MLflow sqlite store to the same server",
}


@dataclass(frozen=True)
class RunInfo:
    """How this report was made."""

    mode: str
    reps: int
    command: str
    date: str
    runtime_s: float
    work_dir: Path


@dataclass(frozen=True)
class Target:
    """A figure tracklite aims for: ``op`` is ">=" or "<=" (of the row's
    value), "x>=" (of its ratio to MLflow's sqlite store, measured in the
    same run), "share>=" (of its share of the ``base`` store's figure of the
    same workload, measured in the same run), or "clean" (no error and no
    lost point)."""

    text: str
    workload: str
    store: str
    op: str
    threshold: float = 0.0
    base: str = ""


TARGETS = (
    Target("native `RunHandle.log_metric` ≥ 1,000,000 calls/s", LOG_METRIC, NATIVE, ">=", 1e6),
    Target("native `log_metric_array` ≥ 20M points/s", LOG_ARRAY, NATIVE, ">=", 20e6),
    Target(
        "history of 1,000,000 points ≤ 10 ms (native)", history(HISTORY_SIZES[-1]), NATIVE, "<=", 10
    ),
    Target(
        "search over 100,000 runs ≤ 200 ms (native)", search(SEARCH_SIZES[-1]), NATIVE, "<=", 200
    ),
    Target("plugin `log_batch` ≥ 500,000 points/s", LOG_BATCH, PLUGIN, ">=", 5e5),
    Target("≤ 8 bytes per point after compaction (native)", COMPACTED, NATIVE, "<=", 8),
    Target(
        f"{SWEEP_PROCESSES[-1]} processes at once: no error, no lost point (native)",
        sweep(SWEEP_PROCESSES[-1]),
        NATIVE,
        "clean",
    ),
    Target(
        f"{SWEEP_PROCESSES[-1]} processes at once: no error, no lost point (plugin)",
        sweep(SWEEP_PROCESSES[-1]),
        PLUGIN,
        "clean",
    ),
    *(
        Target(f"plugin: {what} ≥ 10× MLflow sqlite (MlflowClient)", workload, PLUGIN, "x>=", 10)
        for what, workload in (
            ("register a version", REGISTER),
            ("set an alias", SET_ALIAS),
            ("get a version by alias", GET_ALIAS),
        )
    ),
    Target(
        "search_model_versions over 10,000 versions (tag filter, top 100) ≤ 20 ms (native)",
        SEARCH_VERSIONS,
        NATIVE,
        "<=",
        20,
    ),
    *(
        Target(
            f"search over {n:,} runs ≤ {ms:g} ms (native)", _scale.scale_search(n), NATIVE, "<=", ms
        )
        for n, ms in zip(_scale.SCALE_SIZES, (1, 5, 20, 200))
    ),
    Target("open a 1,000,000-run store ≤ 50 ms", _scale.scale_open(10**6), NATIVE, "<=", 50),
    Target(
        "`tracklite experiments` at 1,000,000 runs ≤ 50 ms",
        _scale.scale_experiments(10**6),
        CLI,
        "<=",
        50,
    ),
    Target("`tracklite runs` at 1,000,000 runs ≤ 50 ms", _scale.scale_runs(10**6), CLI, "<=", 50),
    *(
        Target(
            f"create a run in a store of {n:,} runs ≤ 0.2 ms, i.e. ≥ 5,000 runs/s (native)",
            _scale.scale_create(n),
            NATIVE,
            "<=",
            0.2,
        )
        for n in (_scale.SCALE_SIZES[0], _scale.SCALE_SIZES[-1])
    ),
    Target(
        "open + search a 1,000,000-run store in < 200 MiB RSS",
        _scale.scale_rss(10**6),
        NATIVE,
        "<=",
        200,
    ),
    Target(
        "viewer: first chart of a 1,000,000-point series < 200 ms",
        _ui.FIRST_CHART,
        _ui.VIEWER,
        "<=",
        200,
    ),
    Target(
        "viewer: run table of an experiment of 10,000 runs ≤ 300 ms",
        _ui.RUNS_PAGE,
        _ui.VIEWER,
        "<=",
        300,
    ),
    Target(
        "REST export ≥ 90% of the log-batch poster (same server, same run)",
        EXPORT_REST,
        EXPORT_CLI,
        "share>=",
        0.9,
        POSTER,
    ),
    Target(
        "direct export ≥ 80% of a bare binary COPY (same server, same run)",
        EXPORT_DIRECT,
        EXPORT_CLI,
        "share>=",
        0.8,
        BARE_COPY,
    ),
)


def ratio(row: Row, base: Row | None) -> float | None:
    """How many times better than the baseline (None when not comparable)."""
    if base is None or row.value is None or base.value is None:
        return None
    if row.value <= 0 or base.value <= 0:
        return None
    if row.lower_is_better:
        return base.value / row.value if row.size == base.size else None
    return row.value / base.value


def ratios(rows: Sequence[Row]) -> dict[tuple[str, str], float]:
    """Each row's ratio to the baseline of its workload, where comparable."""
    bases = {r.workload: r for r in rows if r.store == BASELINE}
    found = {}
    for r in rows:
        x = ratio(r, bases.get(r.workload))
        if x is not None:
            found[(r.workload, r.store)] = x
    return found


def _find(rows: Sequence[Row], workload: str, store: str) -> Row | None:
    return next((r for r in rows if r.workload == workload and r.store == store), None)


def target_status(target: Target, rows: Sequence[Row], nominal: int | None) -> tuple[str, str]:
    """The figure a target is judged on, and "met", "not met" or why not judged."""
    row = _find(rows, target.workload, target.store)
    if row is None:
        return "—", "not measured (workload not run)"
    if row.value is None:
        return "—", "not measured (skipped in this mode, see its row)"
    if target.op == "clean":
        return f"{row.errors or 0} errors, {row.lost or 0} lost", (
            "met" if not row.errors and not row.lost else "**not met**"
        )
    if target.op == "x>=":
        x = ratio(row, _find(rows, target.workload, BASELINE))
        if x is None:
            return "—", "not measured (no MLflow sqlite figure to compare with)"
        return f"{fmt(x)}× ({fmt(row.value)} {row.unit})", (
            "met" if x >= target.threshold else "**not met**"
        )
    if target.op == "share>=":
        base = _find(rows, target.workload, target.base)
        if base is None or base.value is None or base.value <= 0:
            return "—", f"not measured (no {target.base} figure to compare with)"
        share = row.value / base.value
        return f"{share:.0%} ({fmt(row.value)} of {fmt(base.value)} {row.unit})", (
            "met" if share >= target.threshold else "**not met**"
        )
    figure = f"{fmt(row.value)} {row.unit}"
    if nominal is not None and row.size != nominal:
        return figure, f"not measured at full size ({row.size:,})"
    ok = row.value >= target.threshold if target.op == ">=" else row.value <= target.threshold
    return figure, "met" if ok else "**not met**"


def _nominal(target: Target) -> int | None:
    for n in HISTORY_SIZES:
        if target.workload == history(n):
            return n
    for n in SEARCH_SIZES:
        if target.workload == search(n):
            return n
    ui_sizes = {_ui.FIRST_CHART: _ui.CHART_POINTS, _ui.RUNS_PAGE: _ui.PAGE_RUNS}
    return ui_sizes.get(target.workload)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory() -> str:
    try:
        with open("/proc/meminfo") as fh:
            kib = int(fh.readline().split()[1])
        return f"{kib / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


def _filesystem(path: Path) -> str:
    """The type of the filesystem holding ``path`` (from /proc/mounts)."""
    best, kind = "", "unknown"
    try:
        with open("/proc/mounts") as fh:
            for line in fh:
                fields = line.split()
                mount = fields[1]
                inside = mount == "/" or f"{path}/".startswith(mount.rstrip("/") + "/")
                if inside and len(mount) > len(best):
                    best, kind = mount, fields[2]
    except (OSError, IndexError):
        pass
    return kind


#: Groups of rows measured by another run than the report's, and that run.
Others = Sequence[tuple[Sequence[str], RunInfo]]


def _run_summary(info: RunInfo) -> str:
    return (
        f"`{info.command}`, {info.mode} (medians of {count(info.reps, 'repetition')}), "
        f"{info.date}, {info.runtime_s / 60:.1f} min"
    )


def header(info: RunInfo, others: Others = ()) -> list[str]:
    """The machine and the run, as a two-column table; then, one line per
    other run, the groups whose rows it measured."""
    cores = os.cpu_count() or 0
    facts = [
        ("CPU", f"{_cpu_model()}, {cores} cores"),
        ("memory", _memory()),
        ("OS", platform.platform()),
        ("stores' folder", f"{info.work_dir} ({_filesystem(info.work_dir)})"),
        ("Python", platform.python_version()),
        ("MLflow", mlflow.__version__),
        ("tracklite", tracklite.__version__),
        ("numpy", np.__version__),
        ("mode", f"{info.mode}: each figure is the median of {count(info.reps, 'repetition')}"),
        ("command", f"`{info.command}`"),
        ("date", info.date),
        ("runtime", f"{info.runtime_s / 60:.1f} min"),
        *((f"rows of {', '.join(groups)}", _run_summary(run)) for groups, run in others),
    ]
    return ["| | |", "|---|---|", *(f"| {k} | {_cell(v)} |" for k, v in facts)]


def targets_table(rows: Sequence[Row]) -> list[str]:
    lines = ["| target | measured | status |", "|---|---|---|"]
    for t in TARGETS:
        figure, status = target_status(t, rows, _nominal(t))
        lines.append(f"| {t.text} | {_cell(figure)} | {status} |")
    return lines


def results_table(rows: Sequence[Row]) -> list[str]:
    found = ratios(rows)
    lines = [
        "| workload | store | median | unit | vs MLflow sqlite | size / notes |",
        "|---|---|--:|---|--:|---|",
    ]
    for r in rows:
        value = "skipped" if r.value is None else fmt(r.value)
        x = found.get((r.workload, r.store))
        shown = "—" if x is None else f"{fmt(x)}×"
        lines.append(
            f"| {r.workload} | {r.store} | {value} | {r.unit} | {shown} | {_cell(r.note)} |"
        )
    return lines


def render(
    rows: Sequence[Row],
    info: RunInfo,
    chart: str,
    others: Others = (),
    scale_chart: str | None = None,
) -> str:
    """The whole of BENCHMARKS.md. ``others``: the groups whose rows another
    run measured (``suite.py --only``), and that run; ``scale_chart``: the
    scale group's chart, when there is one."""
    where = "in that one run, on this machine"
    if others:
        where += (
            " (except the rows of the groups named in the table below as measured by "
            "another run of the suite, on the same machine: those in that run)"
        )
    parts = [
        "# Benchmarks: tracklite against MLflow's stores",
        "",
        f"Made by `{info.command}`: every figure below was measured {where}. "
        "A figure is the median of several repetitions; "
        '"vs MLflow sqlite" says how many times better than MLflow\'s sqlite store '
        "(MLflow's default backend) a store did: for rates, store ÷ sqlite; for times "
        "and sizes, sqlite ÷ store, and only where both were measured at the same size. "
        "Where a store was measured at another size than the workload's, or not at all, "
        "its note says so; nothing is extrapolated.",
        "",
        *header(info, others),
        "",
        "## Targets",
        "",
        *targets_table(rows),
        "",
        "## Results",
        "",
        *results_table(rows),
        "",
        "## Stores",
        "",
        *(f"- **{name}**: {text}" for name, text in STORE_NOTES.items()),
        "",
        "MLflow's stores are filled for the read workloads by writing their own on-disk "
        "format directly (rows in the tables of a database MLflow created; run folders "
        "laid out as MLflow's file store lays them out), then read through MLflow's "
        "client; tracklite stores are filled through the native API.",
        "",
        "## How cost grows with size",
        "",
        f"![History reads and searches at growing sizes, and speed relative to MLflow's "
        f"sqlite store]({chart})",
        "",
    ]
    if scale_chart:
        parts += [
            "![Reads of and run creation in stores of 1,000 to 1,000,000 runs, and peak RSS]"
            f"({scale_chart})",
            "",
        ]
    return "\n".join(parts)
