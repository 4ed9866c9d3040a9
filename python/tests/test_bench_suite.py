"""The benchmark suite against MLflow (python/benchmarks/suite.py) runs end
to end in its smoke mode, and writes a report with a row for every
workload on every store, the export's rows (measured against services the
suite starts, or skipped saying why), the targets, and a PNG chart; a run
of one group (``--only``) keeps the other groups' rows of the report."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mlflow")

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _suite(out: Path, work: Path, *args: str) -> str:
    """Runs the suite in smoke mode; its stderr."""
    done = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "suite.py"),
            "--smoke",
            "--out-dir",
            str(out),
            "--work-dir",
            str(work),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=420,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert list(work.iterdir()) == [], "the suite leaves its stores behind"
    return done.stderr


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The smoke run's output folder and its stderr."""
    out = tmp_path_factory.mktemp("bench-out")
    return out, _suite(out, tmp_path_factory.mktemp("bench-work"))


def _module(name: str):  # -> a module of the suite
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.fixture(scope="module")
def common(smoke_run: tuple[Path, str]):  # -> the module _common of the suite
    return _module("_common")


def _section(text: str, title: str) -> list[list[str]]:
    """The cells of the table under a ``## title`` heading (header row excluded)."""
    body = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in body.splitlines() if line.startswith("|")]
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in rows[2:]]


def test_every_workload_has_a_row_for_every_store(smoke_run, common) -> None:
    out, _ = smoke_run
    rows = _section((out / "BENCHMARKS.md").read_text(), "Results")
    cells = {(r[0], r[1]) for r in rows}
    expected = {(w, s) for w in common.workloads() for s in common.STORES}
    expected.add((common.LOG_METRIC, common.NOOP))
    expected |= {(common.LOG_ARRAY, common.NATIVE), (common.COMPACTED, common.NATIVE)}
    assert expected <= cells, sorted(expected - cells)
    # log_metric, log_metrics, log_batch, create runs; history reads at 3 sizes;
    # searches at 3 sizes; disk size and file count; 4 and 8 processes;
    # registering, setting an alias, reading by alias, searching versions
    # (top 100, and all of them)
    assert len(common.workloads()) == 19
    for row in rows:
        assert len(row) == 6, row
        assert row[2] == "skipped" or float(row[2].replace(",", "")) >= 0, row
        assert "WRONG RESULT" not in row[5], row


def test_report_header_and_targets(smoke_run) -> None:
    out, _ = smoke_run
    text = (out / "BENCHMARKS.md").read_text()
    for fact in ("| CPU |", "| Python |", "| MLflow |", "| tracklite |", "| date |"):
        assert fact in text
    assert "--smoke" in text  # the command line
    targets = _section(text, "Targets")
    assert len(targets) == 26  # 14, 10 of the scale group and 2 of the ui group
    for _, _, status in targets:
        assert status in ("met", "**not met**") or status.startswith("not measured"), status
    assert "docs/benchmarks.png" in text


def test_chart_is_a_png(smoke_run) -> None:
    out, _ = smoke_run
    chart = out / "docs" / "benchmarks.png"
    assert chart.read_bytes()[:8] == PNG_MAGIC
    assert chart.stat().st_size > 10_000


def test_scale_rows_and_chart(smoke_run) -> None:
    out, _ = smoke_run
    rows = _section((out / "BENCHMARKS.md").read_text(), "Results")
    scale = _module("_scale")
    cells = {(r[0], r[1]): r for r in rows}
    # --smoke: stores of 10 and 100 runs (1,000 and 10,000 divided by 100)
    for runs in (10, 100):
        for name, store, unit in (
            (scale.scale_search, "tracklite native", "ms"),
            (scale.scale_recent, "tracklite native", "ms"),
            (scale.scale_param_order, "tracklite native", "ms"),
            (scale.scale_open, "tracklite native", "ms"),
            (scale.scale_experiments, "tracklite CLI", "ms"),
            (scale.scale_runs, "tracklite CLI", "ms"),
            (scale.scale_rss, "tracklite native", "MiB"),
        ):
            row = cells[(name(runs), store)]
            assert row[3] == unit, row
            assert row[2] == "skipped" or float(row[2].replace(",", "")) > 0, row
    chart = out / "docs" / "benchmarks-scale.png"
    assert chart.read_bytes()[:8] == PNG_MAGIC


def test_export_rows_are_measured_or_say_why(smoke_run) -> None:
    out, _ = smoke_run
    rows = _section((out / "BENCHMARKS.md").read_text(), "Results")
    export = _module("_export")
    cells = {(r[0], r[1]): r for r in rows}
    for workload, kind, unit in export.ROWS:
        row = cells[(workload, kind)]
        assert row[3] == unit, row
        if row[2] == "skipped":
            # no services here (or no mlflow-export-import): said so, never a failure
            assert row[5].startswith("skipped: "), row
        else:
            assert float(row[2].replace(",", "")) > 0, row


def test_ui_rows_are_measured_or_say_why(smoke_run) -> None:
    out, _ = smoke_run
    rows = _section((out / "BENCHMARKS.md").read_text(), "Results")
    ui = _module("_ui")
    cells = {(r[0], r[1]): r for r in rows}
    for workload, kind, unit in ui.ROWS:
        row = cells[(workload, kind)]
        assert row[3] == unit, row
        if row[2] == "skipped":
            # no browser here, or MLflow's server did not start: said so
            assert row[5].startswith("skipped: "), row
        else:
            assert float(row[2].replace(",", "")) > 0, row


def test_only_keeps_the_other_groups_rows(smoke_run, tmp_path: Path) -> None:
    out, _ = smoke_run
    shutil.copytree(out, tmp_path / "out")
    before = (out / "BENCHMARKS.md").read_text()
    work = tmp_path / "work"
    work.mkdir()
    _suite(tmp_path / "out", work, "--only", "log_metric", "--command", "suite --only log_metric")
    after = (tmp_path / "out" / "BENCHMARKS.md").read_text()
    common = _module("_common")
    old = _section(before, "Results")
    new = _section(after, "Results")
    assert [r[:2] for r in new] == [r[:2] for r in old]
    assert [r for r in new if r[0] != common.LOG_METRIC] == [
        r for r in old if r[0] != common.LOG_METRIC
    ]
    # The header names the run that measured the log_metric rows.
    assert "| rows of log_metric | `suite --only log_metric`, smoke" in after
    results = _module("_results")
    kept = results.decode(after)
    assert list(kept) == list(results.decode(before))
    assert kept["log_metric"][0].command == "suite --only log_metric"
    assert kept["registry"][0] == results.decode(before)["registry"][0]
