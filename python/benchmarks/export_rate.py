"""The export's speed against the ceilings it is measured by (DESIGN.md), in
one run, on a real MLflow server on PostgreSQL 15 with artifacts proxied to
S3 (moto's emulator), all on this machine:

- REST: ``tracklite export --to`` of a store of R runs x 10 keys, next to a
  plain parallel ``runs/log-batch`` poster sending the same number of points
  over the same number of connections (``server_ceiling.post_rate``);
  goal: export ≥ 90% of the poster;
- direct: ``tracklite export --postgres URL --artifacts s3://...`` of the
  same shape into the server's own database (migrated by the server) and
  its artifact root in the emulator's bucket, next to a bare binary ``COPY``
  of as many rows into ``metrics``; goal ≥ 80% (skipped when the CLI has no
  direct mode);
- MLflow's own export tool (mlflow-export-import from PyPI, installed by the
  script when missing): ``export_run`` then ``import_run`` of the same runs
  from an MLflow sqlite store to the server.

Each figure is the median of ``--repeat`` repetitions; every repetition
exports a new store (a second export of one store sends nothing). Not run
by CI; the suite's ``export`` group (``_export.py``) uses these functions.

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
from server_ceiling import _services

import tracklite

ROOT = Path(__file__).resolve().parents[2]
KEYS = server_ceiling.KEYS
START_MS = 1_780_000_000_000


class ExportFailed(RuntimeError):
    """An export exited with an error, or sent another number of points."""


def cli() -> Path:
    """The release CLI, built when missing or older than the sources."""
    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "tracklite-cli"], cwd=ROOT, check=True
    )
    return release_cli()


def release_cli() -> Path:
    """Where the release CLI is (``CARGO_TARGET_DIR`` or the checkout's
    ``target``), built or not."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "release" / "tracklite"


def make_store(path: Path, experiment: str, runs: int, steps: int, params: int = 3) -> int:
    """A store of ``runs`` finished runs, each with KEYS series of ``steps``
    points and ``params`` params; returns the number of points."""
    store = tracklite.Store(path)
    exp = store.create_experiment(experiment)
    step_array = np.arange(steps, dtype=np.int64)
    times = START_MS + step_array
    for r in range(runs):
        run = store.create_run(exp, run_name=f"run-{r}", start_time=START_MS)
        run_id = run.info.run_id
        store.log_params(run_id, {f"p{i}": f"{r}.{i}" for i in range(params)})
        w = store.writer(run_id)
        for k in range(KEYS):
            values = 1.0 / (step_array + 1 + k + r)
            w.log_metric_array(f"loss{k}", values, step_array, times)
        w.close()
        store.end_run(run_id, "FINISHED")
    return runs * KEYS * steps


def _run_export(
    tool: Path, store: Path, args: list[str], env: dict[str, str] | None = None
) -> tuple[dict, float]:
    """Runs ``tracklite --store STORE export ARGS --json``: (summary, seconds)."""
    start = time.perf_counter()
    out = subprocess.run(
        [str(tool), "--store", str(store), "export", *args, "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise ExportFailed(f"export failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout), seconds


def _checked(summary: dict, seconds: float, points: int) -> tuple[int, float]:
    sent = summary["points"]
    if sent != points:
        raise ExportFailed(f"export sent {sent} points, expected {points}: {summary}")
    return sent, seconds


def rest_export(
    tool: Path, store: Path, server: str, connections: int, points: int
) -> tuple[int, float]:
    """Points and seconds of ``tracklite export --to SERVER`` of a store
    holding ``points`` points (all of them must be sent)."""
    summary, seconds = _run_export(tool, store, ["--to", server, "--connections", str(connections)])
    return _checked(summary, seconds, points)


def rest_export_runs(tool: Path, store: Path, server: str, connections: int, runs: int) -> float:
    """Seconds of ``tracklite export --to SERVER`` of a store of ``runs`` runs."""
    summary, seconds = _run_export(tool, store, ["--to", server, "--connections", str(connections)])
    if summary["runs_created"] != runs:
        raise ExportFailed(f"export created {summary['runs_created']} runs, not {runs}: {summary}")
    return seconds


def direct_supported(tool: Path) -> bool:
    help_text = subprocess.run(
        [str(tool), "export", "--help"], capture_output=True, text=True
    ).stdout
    return "--postgres" in help_text


def direct_export(
    tool: Path, store: Path, services: server_ceiling.Services, points: int
) -> tuple[int, float]:
    """Points and seconds of ``tracklite export --postgres URL --artifacts
    s3://...`` into the services' database (already migrated by their MLflow
    server) and the server's artifact root, with the emulator's variables."""
    url = services.postgres.replace("postgresql+psycopg2://", "postgresql://")
    args = ["--postgres", url, "--artifacts", services.artifacts]
    summary, seconds = _run_export(tool, store, args, services.s3.env())
    return _checked(summary, seconds, points)


def have_export_import(install: bool) -> bool:
    """Whether mlflow-export-import is importable; with ``install``, installs
    it (1.2.0, PyPI's newest) when missing. Without its dependencies: they
    would pin pytest; it needs only these."""
    try:
        import mlflow_export_import  # noqa: F401
    except ImportError:
        if not install:
            return False
        pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps"]
        packages = ["mlflow-export-import==1.2.0", "tabulate", "shortuuid"]
        if subprocess.run(pip + packages).returncode != 0:
            print("mlflow-export-import does not install: its row is left out")
            return False
    return True


def export_import_source(runs: int, steps: int, tmp: Path) -> tuple[Path, list[str]]:
    """An MLflow sqlite store of the same shape as ``make_store``'s (one per
    process is enough: exporting a run leaves it as it is): its database
    and its run ids."""
    import mlflow
    from mlflow.entities import Metric

    db = tmp / f"src-{uuid.uuid4().hex[:8]}.db"
    src = mlflow.MlflowClient(f"sqlite:///{db}")
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
    return db, ids


def export_import_copy(server: str, db: Path, ids: list[str], tmp: Path) -> float:
    """Seconds of mlflow-export-import's export_run + import_run of the runs
    ``ids`` of the MLflow sqlite store ``db`` into a new experiment of the
    server (the clock runs over both)."""
    # Its HTTP helper, and the clients it makes itself, take the server
    # from here (read when its modules are first imported, so one server
    # per process); put back as it was afterwards.
    before = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = server
    try:
        import mlflow
        from mlflow_export_import.run.export_run import RunExporter
        from mlflow_export_import.run.import_run import RunImporter

        exporter = RunExporter(mlflow.MlflowClient(f"sqlite:///{db}"))
        # No MLmodel files to rewrite in these runs.
        importer = RunImporter(mlflow.MlflowClient(server), mlmodel_fix=False)
        dst_exp = f"copied-{uuid.uuid4().hex[:8]}"
        start = time.perf_counter()
        for run_id in ids:
            out = tmp / f"exported-{uuid.uuid4().hex[:8]}-{run_id}"
            exporter.export_run(run_id, str(out))
            importer.import_run(dst_exp, str(out))
        return time.perf_counter() - start
    finally:
        if before is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = before


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

    try:
        services = server_ceiling.own_services(args.workers)
        with services as svc, tempfile.TemporaryDirectory(prefix="export-rate-") as tmp_dir:
            tmp = Path(tmp_dir)
            direct = direct_supported(tool)
            tool_installed = have_export_import(install=True)
            source = export_import_source(args.runs, args.steps, tmp) if tool_installed else None
            print(f"server {svc.server}; {points:,} points per export; {args.connections} conns")
            for rep in range(args.repeat):
                print(f"repetition {rep + 1}/{args.repeat}", flush=True)
                add("poster", server_ceiling.post_rate(svc.server, args.connections, points))
                store = tmp / f"rest-{rep}"
                make_store(store, f"rest-{rep}-{uuid.uuid4().hex[:6]}", args.runs, args.steps)
                add("rest", rest_export(tool, store, svc.server, args.connections, points))
                if direct:
                    add("copy", server_ceiling.copy_rate(svc.server, svc.postgres, points, True))
                    store = tmp / f"direct-{rep}"
                    exp = f"direct-{rep}-{uuid.uuid4().hex[:6]}"
                    make_store(store, exp, args.runs, args.steps)
                    add("direct", direct_export(tool, store, svc, points))
                if source is not None:
                    add("export-import", (points, export_import_copy(svc.server, *source, tmp)))
    except (_services.ServiceError, ExportFailed) as e:
        sys.exit(str(e))

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
