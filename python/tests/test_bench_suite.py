"""The benchmark suite against MLflow (python/benchmarks/suite.py) runs end
to end in its smoke mode, and writes a report with a row for every
workload on every store, the targets, and a PNG chart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mlflow")

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The smoke run's output folder and its stderr."""
    out = tmp_path_factory.mktemp("bench-out")
    work = tmp_path_factory.mktemp("bench-work")
    done = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "suite.py"),
            "--smoke",
            "--out-dir",
            str(out),
            "--work-dir",
            str(work),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert list(work.iterdir()) == [], "the suite leaves its stores behind"
    return out, done.stderr


@pytest.fixture(scope="module")
def common(smoke_run: tuple[Path, str]):  # -> the module _common of the suite
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import _common

        return _common
    finally:
        sys.path.remove(str(BENCHMARKS))


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
    assert len(targets) == 12
    for _, _, status in targets:
        assert status in ("met", "**not met**") or status.startswith("not measured"), status
    assert "docs/benchmarks.png" in text


def test_chart_is_a_png(smoke_run) -> None:
    out, _ = smoke_run
    chart = out / "docs" / "benchmarks.png"
    assert chart.read_bytes()[:8] == PNG_MAGIC
    assert chart.stat().st_size > 10_000
