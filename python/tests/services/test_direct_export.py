"""``tracklite export --postgres URL --artifacts s3://...`` (the direct mode)
against real services: a store logged through the tracklite package is
written straight into a fresh MLflow 3.17 database and the S3 emulator, then
an ``mlflow server`` started on that database afterwards serves it, and
MLflow's own ``MlflowClient`` reads back every field.

The CLI is the release binary of this checkout (``cargo build --release -p
tracklite-cli``; ``scripts/test.sh`` builds it in its Rust stage)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import _services
import pytest
from _services import S3

mlflow = pytest.importorskip("mlflow", reason="the service tests need mlflow")
psycopg2 = pytest.importorskip("psycopg2", reason="the service tests need psycopg2")

import tracklite  # noqa: E402

PASSWORD = "s3cret-Pw"
INF_STORED = 1.7976931348623157e308
# Tables the export writes; a second export must leave their row counts as
# they are.
TABLES = (
    "experiments",
    "experiment_tags",
    "runs",
    "tags",
    "params",
    "metrics",
    "latest_metrics",
    "datasets",
    "inputs",
    "input_tags",
    "logged_models",
    "logged_model_params",
    "logged_model_tags",
    "registered_models",
    "model_versions",
    "model_version_tags",
    "registered_model_aliases",
)


def _cli() -> Path:
    return _services.tracklite_cli()


@pytest.fixture
def database(postgres_dir: Path) -> str:
    """A fresh database migrated by ``mlflow db upgrade``: its libpq URL."""
    name = f"direct_{uuid.uuid4().hex[:10]}"
    url = _services.create_database(postgres_dir, name)
    mlflow_bin = Path(sys.executable).parent / "mlflow"
    subprocess.run(
        [str(mlflow_bin), "db", "upgrade", url],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return _services.libpq_dsn(url)


def _with_password(url: str) -> str:
    """The URL with user ``postgres`` and a password (the cluster trusts
    loopback, so any password connects)."""
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")


def _export(store: Path, url: str, artifacts: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(_cli()),
            "--store",
            str(store),
            "export",
            "--postgres",
            url,
            "--artifacts",
            artifacts,
            "--json",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _counts(url: str) -> dict[str, int]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        counts = {}
        for table in TABLES:
            cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (fixed names)
            counts[table] = cur.fetchone()[0]
        return counts


def _build_store(path: Path, tmp: Path) -> dict[str, Any]:
    """A store with two experiments, a parent and a nested run, a failed
    run, NaN and ±inf values, a long history, params, tags, a dataset input,
    artifacts, a logged model and a registered model with two versions and
    an alias. Returns what the test compares."""
    import numpy as np

    store = tracklite.Store(path)
    native = store._native
    store.create_experiment("direct-vision", tags={"team": "cv"})
    t0 = 1_700_000_000_000
    with store.start_run("direct-vision", run_name="parent", start_time=t0) as parent:
        parent.log_params({"lr": "0.01", "optimizer": "adam"})
        parent.set_tags({"stage": "train", "note": "first"})
        steps = np.arange(5000)
        parent.log_metric_array("loss", 1.0 / (steps + 1.0), steps=steps, timestamps=t0 + steps)
        for i, value in enumerate([0.5, math.nan, math.inf, -math.inf, 0.75]):
            parent.log_metric("odd", value, step=i, timestamp=t0 + 10 * i)
        parent.log_text("hello from the parent\n", "notes/readme.txt")
        parent.log_text("flavors: {}\n", "model/MLmodel")
        store.log_bytes(parent.info.run_id, bytes(range(256)) * 40, "model/weights.bin")
        dataset = tracklite.data.from_numpy(np.zeros((4, 2)), source="memory://train", name="train")
        parent.log_input(dataset, context="training", tags={"split": "train"})
        parent_id = parent.info.run_id
        with store.start_run(
            "direct-vision", run_name="child", parent_run_id=parent_id, start_time=t0 + 5
        ) as child:
            child.log_param("fold", "1")
            child.log_metric("acc", 0.9, step=3, timestamp=t0 + 7)
            child.log_metric("acc", 0.9, step=3, timestamp=t0 + 7)  # a repeat
            child_id = child.info.run_id
    failed = store.start_run("direct-other", run_name="broken", start_time=t0 + 100)
    failed.log_metric("x", 1.0, step=0, timestamp=t0 + 101)
    failed.end("FAILED")

    model = native.create_logged_model(
        store.get_experiment_by_name("direct-vision").experiment_id,
        "clf",
        parent_id,
        {"framework": "none"},
        {"depth": "3"},
        "classifier",
    )
    store.create_registered_model("direct-model", tags={"owner": "cv"}, description="a model")
    v1 = store.create_model_version("direct-model", f"runs:/{parent_id}/model", run_id=parent_id)
    v2 = store.create_model_version("direct-model", f"runs:/{parent_id}/model", run_id=parent_id)
    store.set_registered_model_alias("direct-model", "champion", v2.version)
    v3 = store.create_model_version(
        "direct-model", f"models:/{model['model_id']}", model_id=model["model_id"]
    )
    store.flush()
    runs = [parent_id, child_id, failed.info.run_id]
    return {
        "runs": runs,
        "parent": parent_id,
        "child": child_id,
        "failed": failed.info.run_id,
        "model_id": model["model_id"],
        "versions": [int(v1.version), int(v2.version), int(v3.version)],
        # What the store holds, read now: the CLI may upgrade the store's
        # format past what an older installed package reads.
        "local": {run_id: _snapshot(store, run_id) for run_id in runs},
    }


def _snapshot(store: Any, run_id: str) -> dict[str, Any]:
    run = store.get_run(run_id)
    artifacts = {}
    folders = [None]
    while folders:
        for f in store.list_artifacts(run_id, folders.pop()):
            if f.is_dir:
                folders.append(f.path)
            else:
                artifacts[f.path] = store.read_artifact(run_id, f.path)
    return {
        "info": {
            field: getattr(run.info, field)
            for field in ("run_name", "status", "start_time", "end_time", "user_id")
        },
        "experiment": store.get_experiment(run.info.experiment_id).name,
        "params": dict(run.data.params),
        "tags": dict(run.data.tags),
        "metrics": dict(run.data.metrics),
        "histories": {
            key: [(m.timestamp, m.step, m.value) for m in store.get_metric_history(run_id, key)]
            for key in run.data.metrics
        },
        "artifacts": artifacts,
    }


def _expected_value(value: float) -> float:
    if math.isinf(value):
        return math.copysign(INF_STORED, value)
    return value


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _check_served(server_url: str, built: dict[str, Any], tmp_path: Path) -> None:
    client = mlflow.MlflowClient(tracking_uri=server_url)
    for run_id in built["runs"]:
        mine = built["local"][run_id]
        theirs = client.get_run(run_id)
        assert theirs.info.run_id == run_id
        for field, value in mine["info"].items():
            assert getattr(theirs.info, field) == value, field
        assert theirs.info.lifecycle_stage == "active"
        assert theirs.info.artifact_uri.startswith("s3://")
        assert theirs.info.artifact_uri.endswith(f"/{run_id}/artifacts")
        assert theirs.data.params == mine["params"]
        assert theirs.data.tags == {**mine["tags"], "mlflow.runName": mine["info"]["run_name"]}
        assert client.get_experiment(theirs.info.experiment_id).name == mine["experiment"]
        assert set(theirs.data.metrics) == set(mine["metrics"])
        for key, history in mine["histories"].items():
            served = client.get_metric_history(run_id, key)
            # The server keeps one of exactly repeated points.
            unique = list(dict.fromkeys(history))
            expected = sorted((t, s, _expected_value(v)) for t, s, v in unique if not math.isnan(v))
            got = sorted((m.timestamp, m.step, m.value) for m in served if not math.isnan(m.value))
            assert got == expected, key
            nans = sum(1 for m in served if math.isnan(m.value))
            assert nans == sum(1 for _, _, v in unique if math.isnan(v)), key
            # latest_metrics: the point with the greatest (step, timestamp).
            assert _same(theirs.data.metrics[key], _expected_value(mine["metrics"][key])), key
        for path, data in mine["artifacts"].items():
            there = client.download_artifacts(run_id, path, str(tmp_path / "dl" / run_id))
            assert Path(there).read_bytes() == data, path
    odd = client.get_run(built["parent"]).data.metrics["odd"]
    assert odd == 0.75
    assert client.get_run(built["child"]).data.tags["mlflow.parentRunId"] == built["parent"]
    assert client.get_run(built["failed"]).info.status == "FAILED"

    parent = client.get_run(built["parent"])
    (dataset_input,) = parent.inputs.dataset_inputs
    assert dataset_input.dataset.name == "train"
    assert {t.key: t.value for t in dataset_input.tags}["split"] == "train"

    listed = sorted(f.path for f in client.list_artifacts(built["parent"], "model")) + [
        f.path for f in client.list_artifacts(built["parent"], "notes")
    ]
    assert listed == ["model/MLmodel", "model/weights.bin", "notes/readme.txt"]
    assert sorted(built["local"][built["parent"]]["artifacts"]) == listed

    model = client.get_logged_model(built["model_id"])
    assert (model.name, model.model_type, model.source_run_id) == (
        "clf",
        "classifier",
        built["parent"],
    )
    assert model.params == {"depth": "3"} and model.tags["framework"] == "none"
    # Registered as version 3: MLflow notes that on the model.
    assert json.loads(model.tags["mlflow.modelVersions"]) == [
        {"name": "direct-model", "version": str(built["versions"][2])}
    ]

    rm = client.get_registered_model("direct-model")
    assert (rm.description, rm.tags) == ("a model", {"owner": "cv"})
    assert rm.aliases == {"champion": str(built["versions"][1])}
    versions = sorted(int(v.version) for v in client.search_model_versions("name = 'direct-model'"))
    assert versions == built["versions"]
    champion = client.get_model_version_by_alias("direct-model", "champion")
    assert int(champion.version) == built["versions"][1]
    assert champion.run_id == built["parent"]


def test_a_store_exported_directly_is_served_by_mlflow(
    database: str, s3_env: S3, services_dir: Path, tmp_path: Path
) -> None:
    store_path = tmp_path / "store"
    built = _build_store(store_path, tmp_path)
    prefix = f"direct-{uuid.uuid4().hex[:8]}"
    artifacts = f"s3://{s3_env.bucket}/{prefix}"
    url = _with_password(database)

    done = _export(store_path, url, artifacts)
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["runs_created"] == 3 and summary["runs_failed"] == 0
    assert summary["points"] == 5000 + 5 + 1 + 1  # the repeated acc point once
    assert summary["infinite_values"] == 2
    assert "inf" in done.stderr and "1.7976931348623157e308" in done.stderr
    assert summary["target"].startswith("postgresql://127.0.0.1:")
    assert summary["objects"]["versions_created"] == 3
    assert s3_env.keys(f"{prefix}/")

    # A second export writes nothing.
    before = _counts(database)
    again = _export(store_path, url, artifacts)
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert (second["runs_created"], second["runs_updated"], second["runs_skipped"]) == (0, 0, 3)
    assert (second["points"], second["params"], second["tags"]) == (0, 0, 0)
    assert second["artifact_files"] == 0 and second["objects"]["versions_created"] == 0
    assert _counts(database) == before
    # A dry run (from the journal) agrees.
    dry = json.loads(_export(store_path, url, artifacts, "--dry-run").stdout)
    assert (dry["runs_created"], dry["runs_updated"], dry["points"], dry["tags"]) == (0, 0, 0, 0)

    sqlalchemy_url = database.replace("postgresql://", "postgresql+psycopg2://", 1)
    directory = services_dir / f"mlflow-{prefix}"
    try:
        server = _services.start_mlflow_server(
            directory,
            backend_store_uri=sqlalchemy_url,
            s3=s3_env,
            default_artifact_root=artifacts,
            workers=1,
        )
        _check_served(server.url, built, tmp_path)
    finally:
        _services.stop_mlflow_server(directory)


def test_a_lost_journal_writes_no_row_twice(database: str, s3_env: S3, tmp_path: Path) -> None:
    """An export cut off after its commits but before its journal writes is
    what a store copied before the export looks like: the database, not the
    journal, decides what is written."""
    store_path = tmp_path / "store"
    built = _build_store(store_path, tmp_path)
    same = tmp_path / "same"
    shutil.copytree(store_path, same)
    grown = tmp_path / "grown"
    shutil.copytree(store_path, grown)
    # The grown copy has one point more (logged before any export: the CLI
    # may upgrade a store's format past what the installed package reads).
    store = tracklite.Store(grown)
    store.log_metric(built["parent"], "loss", -1.0, step=9999, timestamp=1_800_000_000_000)
    store.flush()
    del store

    artifacts = f"s3://{s3_env.bucket}/lost-{uuid.uuid4().hex[:8]}"
    assert _export(store_path, database, artifacts).returncode == 0
    before = _counts(database)

    done = _export(same, database, artifacts)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["points"], summary["params"], summary["tags"]) == (0, 0, 0)
    assert _counts(database) == before

    done = _export(grown, database, artifacts)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["points"] == 1
    after = _counts(database)
    assert after == {**before, "metrics": before["metrics"] + 1}
    with psycopg2.connect(database) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT step, value FROM latest_metrics WHERE run_uuid = %s AND key = 'loss'",
            (built["parent"],),
        )
        assert cur.fetchall() == [(9999, -1.0)]


def test_an_unknown_schema_revision_is_refused(database: str, s3_env: S3, tmp_path: Path) -> None:
    with psycopg2.connect(database) as conn, conn.cursor() as cur:
        cur.execute("UPDATE alembic_version SET version_num = '0123abcd4567'")
    store = tracklite.Store(tmp_path / "store")
    with store.start_run(run_name="r") as run:
        run.log_metric("m", 1.0)
    store.flush()
    done = _export(tmp_path / "store", _with_password(database), f"s3://{s3_env.bucket}/refused")
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert PASSWORD not in output
    # Under --json the error is a JSON document on stdout.
    error = json.loads(done.stdout)["error"]
    assert "0123abcd4567" in error["message"] and "dc11669786a5" in error["message"]
    assert "--to" in error["message"]
    assert _counts(database)["runs"] == 0
