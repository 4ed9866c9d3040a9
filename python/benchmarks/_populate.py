"""Filling stores before a read is timed.

Populating MLflow's stores through MLflow's client would take hours at
full size (about 60 runs/s and 10,000 points/s), so they are written in
their own on-disk format, directly: rows inserted into the tables of a
database that MLflow created (sqlite), and run folders laid out as MLflow's
file store lays them out (``<experiment>/<run>/meta.yaml``, ``metrics/``,
``params/``, ``tags/``). The reads are then timed through MLflow's client.
tracklite stores are filled through the native API.

Every store of a search gets the same runs: run ``i`` has the params and
metrics of :func:`run_params` and :func:`run_metrics`, so the top 100 of
a search can be checked against :func:`expected_top`.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable
from pathlib import Path

import numpy as np

import tracklite

START_MS = 1_780_000_000_000
ACC_MODULUS = 100_003  # a prime: acc is distinct for every run below it
SEARCH_FILTER = "metrics.acc > 0.2 and params.model = 'a'"
SEARCH_ORDER = ["metrics.acc DESC"]
TOP = 100
_CHUNK = 10_000  # rows per executemany


def run_params(i: int) -> dict[str, str]:
    """The params of run ``i`` of a search store."""
    return {
        "lr": f"{(i % 10 + 1) / 1000:g}",
        "model": "ab"[i % 2],
        "batch_size": str(2 ** (4 + i % 4)),
        "optimizer": ("adam", "sgd", "rmsprop")[i % 3],
        "seed": str(i),
    }


def created_run(i: int) -> tuple[dict[str, str], dict[str, float]]:
    """The 5 params and 5 metrics (one point each) of run ``i`` of the
    run-creation workloads."""
    params = {"lr": "0.001", "model": "ab"[i % 2], "seed": str(i), "epochs": "10", "opt": "adam"}
    metrics = {k: (i % 97) / 97 for k in ("acc", "loss", "f1", "precision", "recall")}
    return params, metrics


def run_metrics(i: int) -> dict[str, float]:
    """The metrics of run ``i`` of a search store (one point each)."""
    acc = (i * 7919 % ACC_MODULUS) / ACC_MODULUS
    return {"acc": acc, "loss": 1.0 / (i + 1), "f1": acc * 0.9}


def expected_top(runs: int) -> list[float]:
    """The acc values of the search's top 100 in a store of ``runs`` runs, best first."""
    accs = [
        run_metrics(i)["acc"]
        for i in range(runs)
        if run_params(i)["model"] == "a" and run_metrics(i)["acc"] > 0.2
    ]
    return sorted(accs, reverse=True)[:TOP]


def history_columns(points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps, timestamps (ms) and values of a history of ``points`` points."""
    steps = np.arange(points, dtype=np.int64)
    timestamps = START_MS + steps // 10
    values = np.random.default_rng(points).random(points)
    return steps, timestamps, values


# MLflow's sqlite store ----------------------------------------------------


def _insert(db: sqlite3.Connection, sql: str, rows: Iterable[tuple[object, ...]]) -> None:
    batch: list[tuple[object, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == _CHUNK:
            db.executemany(sql, batch)
            batch.clear()
    db.executemany(sql, batch)


def sqlite_runs(db_path: Path, experiment_id: str, runs: int, artifacts: str) -> None:
    """Inserts ``runs`` finished runs into an MLflow sqlite database, as
    MLflow's sqlite store writes them (runs, tags, params, metrics and
    latest_metrics rows)."""
    made = [(uuid.uuid4().hex, i) for i in range(runs)]
    db = sqlite3.connect(db_path)
    try:
        _insert(
            db,
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name,"
            " user_id, status, start_time, end_time, source_version, lifecycle_stage,"
            " artifact_uri, experiment_id) VALUES (?, ?, 'UNKNOWN', '', '', 'bench',"
            " 'FINISHED', ?, ?, '', 'active', ?, ?)",
            (
                (
                    rid,
                    f"run-{i}",
                    START_MS + i,
                    START_MS + i + 1,
                    f"{artifacts}/{rid}/artifacts",
                    int(experiment_id),
                )
                for rid, i in made
            ),
        )
        _insert(
            db,
            "INSERT INTO tags (key, value, run_uuid) VALUES ('mlflow.runName', ?, ?)",
            ((f"run-{i}", rid) for rid, i in made),
        )
        _insert(
            db,
            "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
            ((k, v, rid) for rid, i in made for k, v in run_params(i).items()),
        )
        for table in ("metrics", "latest_metrics"):
            _insert(
                db,
                f"INSERT INTO {table} (key, value, timestamp, step, is_nan, run_uuid)"
                " VALUES (?, ?, ?, 0, 0, ?)",
                ((k, v, START_MS + i, rid) for rid, i in made for k, v in run_metrics(i).items()),
            )
        db.commit()
    finally:
        db.close()


def sqlite_history(db_path: Path, run_id: str, key: str, points: int) -> None:
    """Inserts a history of ``points`` points into an MLflow sqlite run."""
    steps, timestamps, values = history_columns(points)
    db = sqlite3.connect(db_path)
    try:
        _insert(
            db,
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan)"
            " VALUES (?, ?, ?, ?, ?, 0)",
            zip(
                [key] * points,
                values.tolist(),
                timestamps.tolist(),
                [run_id] * points,
                steps.tolist(),
            ),
        )
        db.execute(
            "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid)"
            " VALUES (?, ?, ?, ?, 0, ?)",
            (key, float(values[-1]), int(timestamps[-1]), int(steps[-1]), run_id),
        )
        db.commit()
    finally:
        db.close()


# MLflow's file store ------------------------------------------------------

_META = """\
artifact_uri: file://{artifacts}
end_time: {end}
entry_point_name: ''
experiment_id: '{experiment_id}'
lifecycle_stage: active
run_id: {run_id}
run_name: {name}
source_name: ''
source_type: 4
source_version: ''
start_time: {start}
status: 3
tags: []
user_id: bench
"""


def _write_files(folder: Path, entries: dict[str, str]) -> None:
    folder.mkdir()
    for key, text in entries.items():
        (folder / key).write_text(text)


def file_run(root: Path, experiment_id: str, i: int) -> None:
    """Writes run ``i`` of a search store as MLflow's file store does."""
    run_id = uuid.uuid4().hex
    folder = root / experiment_id / run_id
    folder.mkdir()
    (folder / "artifacts").mkdir()
    name = f"run-{i}"
    (folder / "meta.yaml").write_text(
        _META.format(
            artifacts=folder / "artifacts",
            end=START_MS + i + 1,
            experiment_id=experiment_id,
            run_id=run_id,
            name=name,
            start=START_MS + i,
        )
    )
    _write_files(folder / "params", run_params(i))
    _write_files(
        folder / "metrics", {k: f"{START_MS + i} {v!r} 0\n" for k, v in run_metrics(i).items()}
    )
    _write_files(folder / "tags", {"mlflow.runName": name})


def file_runs(root: Path, experiment_id: str, runs: int) -> None:
    """Writes ``runs`` finished runs into an experiment of MLflow's file store."""
    for i in range(runs):
        file_run(root, experiment_id, i)


def file_history(run_folder: Path, key: str, points: int) -> None:
    """Writes a history of ``points`` points into a file-store run: one
    ``timestamp value step`` line per point."""
    steps, timestamps, values = history_columns(points)
    lines = (
        f"{t} {v!r} {s}\n" for t, v, s in zip(timestamps.tolist(), values.tolist(), steps.tolist())
    )
    (run_folder / "metrics").mkdir(exist_ok=True)
    with open(run_folder / "metrics" / key, "w") as fh:
        fh.writelines(lines)


# tracklite -----------------------------------------------------------------


def tracklite_runs(path: Path, runs: int) -> str:
    """Creates ``runs`` runs in a tracklite store through the native API;
    returns their experiment's id. The runs are left RUNNING (the search
    does not look at the status): ending each would more than double the
    time to fill the store."""
    store = tracklite.Store(path)
    experiment_id = store.create_experiment("bench")
    for i in range(runs):
        run_id = store.create_run(experiment_id, f"run-{i}", start_time=START_MS + i).info.run_id
        store.log_metrics(run_id, run_metrics(i), step=0, timestamp=START_MS + i)
        store.log_params(run_id, run_params(i))
    return experiment_id


def tracklite_history(path: Path, key: str, points: int) -> str:
    """Logs a history of ``points`` points into a new run of a tracklite
    store; returns the run's id."""
    steps, timestamps, values = history_columns(points)
    with tracklite.Store(path).start_run(experiment="history") as run:
        run.log_metric_array(key, values, steps=steps, timestamps=timestamps)
    return run.run_id
