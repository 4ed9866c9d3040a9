"""MLflow's own stores against tracklite, in one run on one machine.

Stores: MLflow's file store (``file:``), MLflow's sqlite store
(``sqlite:///``), tracklite through MLflow's client (the plugin,
``tracklite:``) and, for fluent ``log_metric``, tracklite's native API.
MLflow's own ceiling for fluent ``log_metric`` is measured with a store
whose logging does nothing (scheme ``tlnoop:``). Each figure is the median
of several repetitions; ratios are to MLflow's sqlite store. Where a slow
store is measured at a smaller size, its row says so.

Usage: python python/benchmarks/compare_mlflow.py [--quick] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from typing import Any, Callable

os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"

import mlflow  # noqa: E402
from mlflow.entities import Metric, Param  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402
from mlflow.tracking._tracking_service.utils import _tracking_store_registry  # noqa: E402

import tracklite  # noqa: E402
from tracklite.mlflow_plugin import TrackliteStore  # noqa: E402


class NoopStore(TrackliteStore):
    """A tracklite store whose metric logging does nothing: MLflow's ceiling."""

    def log_batch(self, run_id: str, metrics: Any = (), params: Any = (), tags: Any = ()) -> None:
        return None

    def log_metric(self, run_id: str, metric: Any) -> None:
        return None


def _noop_builder(store_uri: str, artifact_uri: str | None = None, **_: Any) -> NoopStore:
    return NoopStore("tracklite:///" + store_uri.split(":", 1)[1].lstrip("/"), artifact_uri)


_tracking_store_registry.register("tlnoop", _noop_builder)

Row = tuple[str, str, float, str, str]  # workload, store, median, unit, note


def median_of(f: Callable[[], float], reps: int) -> float:
    return statistics.median(f() for _ in range(reps))


class Bench:
    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.reps = 3 if quick else 5
        self.tmp = tempfile.mkdtemp(prefix="compare-mlflow-")
        self.n = 0

    def uri(self, kind: str) -> str:
        self.n += 1
        path = os.path.join(self.tmp, f"{kind}{self.n}")
        if kind == "file":
            return "file://" + path
        if kind == "sqlite":
            return f"sqlite:///{path}.db"
        if kind == "noop":
            return "tlnoop://" + path
        return "tracklite://" + path

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


STORES = {"file": "MLflow file", "sqlite": "MLflow sqlite", "tracklite": "tracklite plugin"}
SLOW = ("file", "sqlite")


def fluent_log_metric(b: Bench) -> list[Row]:
    rows: list[Row] = []
    big = 20_000 if b.quick else 100_000
    small = 300 if b.quick else 1_000
    for kind, label in [*STORES.items(), ("noop", "no-op store (MLflow ceiling)")]:
        n = small if kind in SLOW else big
        mlflow.set_tracking_uri(b.uri(kind))
        with mlflow.start_run():
            for i in range(min(n, 100)):
                mlflow.log_metric("warm", 0.5, step=i)

            def once(n: int = n) -> float:
                start = time.perf_counter()
                for i in range(n):
                    mlflow.log_metric("loss", 0.5, step=i)
                return n / (time.perf_counter() - start)

            rows.append(
                ("fluent log_metric", label, median_of(once, b.reps), "calls/s", f"{n:,} calls")
            )
    mlflow.set_tracking_uri(b.uri("tracklite"))
    store = tracklite.Store(os.path.join(b.tmp, "native"))
    with store.start_run(experiment="bench") as run:

        def native() -> float:
            start = time.perf_counter()
            for i in range(big):
                run.log_metric("loss", 0.5, step=i)
            return big / (time.perf_counter() - start)

        rows.append(
            (
                "fluent log_metric",
                "tracklite native Run",
                median_of(native, b.reps),
                "calls/s",
                f"{big:,} calls",
            )
        )
    return rows


def _client(b: Bench, kind: str) -> tuple[MlflowClient, str, str]:
    client = MlflowClient(tracking_uri=b.uri(kind))
    exp = client.create_experiment("bench")
    return client, exp, client.create_run(exp).info.run_id


def log_batch(b: Bench) -> list[Row]:
    rows: list[Row] = []
    for kind, label in STORES.items():
        client, _, run_id = _client(b, kind)
        calls = 3 if kind in SLOW else (20 if b.quick else 100)
        # batches are built before timing; each repetition logs new steps
        batches = iter(
            [
                [Metric(f"m{j % 10}", 0.5, 0, c * 100 + j // 10) for j in range(1000)]
                for c in range(calls * b.reps)
            ]
        )

        def once(
            client: MlflowClient = client,
            run_id: str = run_id,
            calls: int = calls,
            batches: Any = batches,
        ) -> float:
            todo = [next(batches) for _ in range(calls)]
            start = time.perf_counter()
            for ms in todo:
                client.log_batch(run_id, metrics=ms, synchronous=True)
            return calls * 1000 / (time.perf_counter() - start)

        rows.append(
            (
                "log_batch, 1,000 metrics/call",
                label,
                median_of(once, b.reps),
                "points/s",
                f"{calls} calls",
            )
        )
    return rows


def metric_history(b: Bench) -> list[Row]:
    rows: list[Row] = []
    for kind, label in STORES.items():
        n = 100_000
        if kind in SLOW:
            n = 10_000 if b.quick else 100_000
        client, _, run_id = _client(b, kind)
        for s in range(0, n, 1000):
            ms = [Metric("loss", 0.5, 0, s + j) for j in range(1000)]
            client.log_batch(run_id, metrics=ms, synchronous=True)

        def once(client: MlflowClient = client, run_id: str = run_id, n: int = n) -> float:
            start = time.perf_counter()
            got = client.get_metric_history(run_id, "loss")
            ms = (time.perf_counter() - start) * 1000
            assert len(got) == n, (len(got), n)
            return ms

        note = f"{n:,} points" + ("" if n == 100_000 else " (scaled ×10 to 100k below)")
        med = median_of(once, b.reps)
        rows.append(("get_metric_history", label, med * 100_000 / n, "ms (100k points)", note))
    return rows


def search_runs(b: Bench) -> list[Row]:
    rows: list[Row] = []
    for kind, label in STORES.items():
        runs = 10_000 if kind == "tracklite" and not b.quick else 1_000
        if b.quick and kind in SLOW:
            runs = 300
        client, exp, _ = _client(b, kind)
        for i in range(runs):
            rid = client.create_run(exp).info.run_id
            client.log_batch(
                rid,
                metrics=[
                    Metric("acc", (i * 7919 % 1000) / 1000, 0, 0),
                    Metric("loss", 1 / (i + 1), 0, 0),
                ],
                params=[Param("lr", str(i % 10)), Param("model", "a" if i % 2 else "b")],
                synchronous=True,
            )

        def once(client: MlflowClient = client, exp: str = exp) -> float:
            start = time.perf_counter()
            got = client.search_runs(
                [exp],
                "metrics.acc > 0.2 and params.model = 'a'",
                order_by=["metrics.acc DESC"],
                max_results=100,
            )
            ms = (time.perf_counter() - start) * 1000
            assert len(got) == 100, len(got)
            return ms

        rows.append(
            (
                "search_runs, filter + order_by, top 100",
                label,
                median_of(once, b.reps),
                "ms",
                f"{runs:,} runs",
            )
        )
    return rows


def create_runs(b: Bench) -> list[Row]:
    rows: list[Row] = []
    for kind, label in STORES.items():
        n = 50 if kind in SLOW else (500 if b.quick else 2_000)
        client, exp, _ = _client(b, kind)

        def once(client: MlflowClient = client, exp: str = exp, n: int = n) -> float:
            start = time.perf_counter()
            for i in range(n):
                rid = client.create_run(exp).info.run_id
                client.log_batch(
                    rid,
                    metrics=[Metric("a", 0.5, 0, 0), Metric("b", 0.5, 0, 0)],
                    params=[Param("p", str(i)), Param("q", "x")],
                    synchronous=True,
                )
            return n / (time.perf_counter() - start)

        rows.append(
            (
                "create run, 2 params + 2 metrics",
                label,
                median_of(once, b.reps),
                "runs/s",
                f"{n:,} runs",
            )
        )
    return rows


def table(rows: list[Row]) -> str:
    base = {w: m for w, s, m, _, _ in rows if s == "MLflow sqlite"}
    lines = ["| workload | store | median | vs MLflow sqlite | size |", "|---|---|---|---|---|"]
    for w, s, m, unit, note in rows:
        lower_better = unit.startswith("ms")
        r = base[w] / m if lower_better else m / base[w]
        lines.append(f"| {w} | {s} | {m:,.1f} {unit} | {r:,.2f}× | {note} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, about a minute")
    ap.add_argument("--out", help="write the table as markdown to this file")
    args = ap.parse_args()
    b = Bench(args.quick)
    rows: list[Row] = []
    try:
        for f in (fluent_log_metric, log_batch, metric_history, search_runs, create_runs):
            t = time.perf_counter()
            rows += f(b)
            print(f"# {f.__name__}: {time.perf_counter() - t:.0f} s", flush=True)
    finally:
        mlflow.set_tracking_uri(None)
        b.close()
    md = table(rows)
    print(md)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(md + "\n")


if __name__ == "__main__":
    main()
