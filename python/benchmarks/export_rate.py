"""The export's speed against the ceilings it is measured by (DESIGN.md), in
one run, on a real MLflow server on PostgreSQL 15 with artifacts proxied to
S3 (moto's emulator), all on this machine:

- REST: ``tracklite export --to`` of a store of R runs x 10 keys, next to a
  plain parallel ``runs/log-batch`` poster sending the same number of points
  over the same number of connections (``server_ceiling.post_rate``);
  goal: export ≥ 90% of the poster;
- direct: ``tracklite export --postgres`` of the same shape, next to a bare
  binary ``COPY`` of as many rows into ``metrics``; goal ≥ 80% (skipped
  when the CLI has no direct mode);
- MLflow's own export tool (mlflow-export-import from PyPI, installed by the
  script when missing): ``export_run`` then ``import_run`` of the same runs
  from an MLflow sqlite store to the server.

Each figure is the median of ``--repeat`` repetitions; every repetition
exports a new store (a second export of one store sends nothing). Not run
by CI.

Usage: python python/benchmarks/export_rate.py [--runs R] [--steps S]
           [--connections C] [--repeat N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import server_ceiling

import tracklite

ROOT = Path(__file__).resolve().parents[2]
KEYS = server_ceiling.KEYS
START_MS = 1_780_000_000_000


def cli() -> Path:
    """The release CLI, built when missing or older than the sources."""
    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "tracklite-cli"], cwd=ROOT, check=True
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "release" / "tracklite"


def make_store(path: Path, experiment: str, runs: int, steps: int) -> int:
    """A store of ``runs`` finished runs, each with KEYS series of ``steps``
    points and a few params; returns the number of points."""
    store = tracklite.Store(path)
    exp = store.create_experiment(experiment)
    step_array = np.arange(steps, dtype=np.int64)
    times = START_MS + step_array
    for r in range(runs):
        run = store.create_run(exp, run_name=f"run-{r}", start_time=START_MS)
        run_id = run.info.run_id
        store.log_params(run_id, {"lr": "0.001", "batch": "64", "run": str(r)})
        w = store.writer(run_id)
        for k in range(KEYS):
            values = 1.0 / (step_array + 1 + k + r)
            w.log_metric_array(f"loss{k}", values, step_array, times)
        w.close()
        store.end_run(run_id, "FINISHED")
    return runs * KEYS * steps


def rest_export(
    tool: Path, store: Path, server: str, connections: int, points: int
) -> tuple[int, float]:
    start = time.perf_counter()
    out = subprocess.run(
        [tool, "--store", store, "export", "--to", server, "--connections", str(connections)]
        + ["--json"],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"export failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    sent = json.loads(out.stdout)["points"]
    if sent != points:
        sys.exit(f"export sent {sent} points, expected {points}")
    return sent, seconds


def direct_supported(tool: Path) -> bool:
    help_text = subprocess.run([tool, "export", "--help"], capture_output=True, text=True).stdout
    return "--postgres" in help_text


def direct_export(
    tool: Path, store: Path, postgres_url: str, artifacts: str, env: dict[str, str]
) -> tuple[int, float]:
    url = postgres_url.replace("postgresql+psycopg2://", "postgresql://")
    start = time.perf_counter()
    out = subprocess.run(
        [tool, "--store", store, "export", "--postgres", url, "--artifacts", artifacts, "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"direct export failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout)["points"], seconds


def export_import_tool() -> bool:
    """Installs mlflow-export-import (1.2.0, PyPI's newest) when missing.
    Without its dependencies: they would pin pytest; it needs only these."""
    try:
        import mlflow_export_import  # noqa: F401
    except ImportError:
        pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps"]
        packages = ["mlflow-export-import==1.2.0", "tabulate", "shortuuid"]
        if subprocess.run(pip + packages).returncode != 0:
            print("mlflow-export-import does not install: its row is left out")
            return False
    return True


def export_import_copy(server: str, runs: int, steps: int, tmp: Path) -> tuple[int, float]:
    """mlflow-export-import's export_run + import_run of the same runs, from
    a local MLflow sqlite store to the server (the clock runs over both)."""
    # Its HTTP helper, and the clients it makes itself, take the server
    # from here (read when its modules are first imported).
    os.environ["MLFLOW_TRACKING_URI"] = server
    import mlflow
    from mlflow.entities import Metric
    from mlflow_export_import.run.export_run import RunExporter
    from mlflow_export_import.run.import_run import RunImporter

    src = mlflow.MlflowClient(f"sqlite:///{tmp / 'src.db'}")
    exp = src.create_experiment(f"src-{uuid.uuid4().hex[:8]}")
    ids = []
    for r in range(runs):
        run = src.create_run(exp, start_time=START_MS)
        for first in range(0, steps, 100):
            metrics = [
                Metric(f"loss{k}", 1.0 / (s + 1 + k + r), START_MS + s, s)
                for s in range(first, min(steps, first + 100))
                for k in range(KEYS)
            ]
            src.log_batch(run.info.run_id, metrics=metrics)
        src.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)
    dst_exp = f"copied-{uuid.uuid4().hex[:8]}"
    exporter = RunExporter(src)
    # No MLmodel files to rewrite in these runs.
    importer = RunImporter(mlflow.MlflowClient(server), mlmodel_fix=False)
    start = time.perf_counter()
    for run_id in ids:
        out = tmp / f"exported-{run_id}"
        exporter.export_run(run_id, str(out))
        importer.import_run(dst_exp, str(out))
    return runs * KEYS * steps, time.perf_counter() - start


def median_rate(samples: list[tuple[int, float]]) -> float:
    return statistics.median(n / s for n, s in samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=5_000, help="points per series")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="server workers")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    tool = cli()
    points = args.runs * KEYS * args.steps
    rows: dict[str, list[tuple[int, float]]] = {}

    def add(name: str, sample: tuple[int, float] | None) -> None:
        if sample is not None:
            rows.setdefault(name, []).append(sample)
            n, s = sample
            print(f"  {name}: {n:,} points in {s:.2f} s = {n / s:,.0f}/s", flush=True)

    with (
        server_ceiling.own_services(args.workers) as (server, postgres_url),
        tempfile.TemporaryDirectory(prefix="export-rate-") as tmp_dir,
    ):
        tmp = Path(tmp_dir)
        direct = direct_supported(tool)
        tool_installed = export_import_tool()
        print(f"server {server}; {points:,} points per export; {args.connections} connections")
        for rep in range(args.repeat):
            print(f"repetition {rep + 1}/{args.repeat}", flush=True)
            add("poster", server_ceiling.post_rate(server, args.connections, points))
            store = tmp / f"rest-{rep}"
            make_store(store, f"rest-{rep}-{uuid.uuid4().hex[:6]}", args.runs, args.steps)
            add("rest", rest_export(tool, store, server, args.connections, points))
            if direct:
                add("copy", server_ceiling.copy_rate(server, postgres_url, points, True))
                store = tmp / f"direct-{rep}"
                make_store(store, f"direct-{rep}-{uuid.uuid4().hex[:6]}", args.runs, args.steps)
                add("direct", direct_export(tool, store, postgres_url, "", {}))
            if tool_installed:
                add("export-import", export_import_copy(server, args.runs, args.steps, tmp))

    figures = {name: median_rate(samples) for name, samples in rows.items()}
    print()
    for name, rate in figures.items():
        print(f"{name:14s} median {rate:12,.0f} points/s")
    print(f"REST export / poster: {figures['rest'] / figures['poster']:.0%} (goal ≥ 90%)")
    if "direct" in figures:
        print(f"direct / bare COPY: {figures['direct'] / figures['copy']:.0%} (goal ≥ 80%)")
    if "export-import" in figures:
        ratio = figures["rest"] / figures["export-import"]
        print(f"REST export / mlflow-export-import: {ratio:.1f}x")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
