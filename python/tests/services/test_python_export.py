"""``tracklite.export`` and ``tracklite.start_sync`` against a real MLflow
server on PostgreSQL with artifacts proxied to the S3 emulator: what MLflow's
own client reads back from the server is what the fluent API logged, a
second export sends nothing, and a background syncer mirrors a run while it
is being logged."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from _services import MlflowServer

import tracklite
from tracklite.errors import ExportError, InvalidValueError

mlflow = pytest.importorskip("mlflow", reason="the service tests need mlflow")


def _remote_run(server: MlflowServer, experiment: str, run_id: str):
    client = mlflow.MlflowClient(tracking_uri=server.url)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"experiment {experiment!r} is not on the server"
    runs = client.search_runs(
        [exp.experiment_id], filter_string=f"tags.`tracklite.run_id` = '{run_id}'"
    )
    assert len(runs) == 1, runs
    return client, runs[0]


def test_export_sends_what_was_logged_then_nothing(
    mlflow_server_pg_s3: MlflowServer, tmp_path: Path
) -> None:
    experiment = f"py-export-{uuid.uuid4().hex[:8]}"
    tracklite.set_experiment(experiment)
    notes = tmp_path / "notes.txt"
    notes.write_text("trained on the laptop\n")
    with tracklite.start_run(run_name="offline") as run:
        tracklite.log_params({"lr": 0.01, "optimizer": "adam"})
        tracklite.set_tag("team", "vision")
        for step in range(300):
            tracklite.log_metric("loss", 1.0 / (step + 1), step=step)
        tracklite.log_artifact(str(notes), artifact_path="docs")
    local = tracklite.get_run(run.info.run_id)

    summary = tracklite.export(mlflow_server_pg_s3.url)
    assert summary["runs_created"] == 1 and summary["runs_failed"] == 0, summary
    assert summary["points"] == 300

    client, remote = _remote_run(mlflow_server_pg_s3, experiment, run.info.run_id)
    assert remote.info.run_name == "offline"
    assert remote.info.status == "FINISHED"
    assert remote.info.start_time == local.info.start_time
    assert remote.info.end_time == local.info.end_time
    assert remote.data.params == {"lr": "0.01", "optimizer": "adam"}
    assert remote.data.tags["team"] == "vision"
    history = client.get_metric_history(remote.info.run_id, "loss")
    local_history = tracklite.MlflowClient().get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.timestamp, m.value) for m in history] == [
        (m.step, m.timestamp, m.value) for m in local_history
    ]
    downloaded = client.download_artifacts(remote.info.run_id, "docs/notes.txt", str(tmp_path))
    assert Path(downloaded).read_text() == "trained on the laptop\n"

    again = tracklite.export(mlflow_server_pg_s3.url)
    assert (again["runs_created"], again["runs_skipped"], again["points"]) == (0, 1, 0)


def test_start_sync_mirrors_a_run_while_it_is_logged(mlflow_server_pg_s3: MlflowServer) -> None:
    experiment = f"py-sync-{uuid.uuid4().hex[:8]}"
    tracklite.set_experiment(experiment)
    with tracklite.start_sync(mlflow_server_pg_s3.url, interval=0.2) as syncer:
        assert syncer.running
        with tracklite.start_run(run_name="live") as run:
            for step in range(100):
                tracklite.log_metric("loss", 1.0 / (step + 1), step=step)
            # The first hundred points reach the server while the run runs.
            client = mlflow.MlflowClient(tracking_uri=mlflow_server_pg_s3.url)
            deadline = time.monotonic() + 120
            while True:
                remote = None
                exp = client.get_experiment_by_name(experiment)
                if exp is not None:
                    found = client.search_runs([exp.experiment_id])
                    remote = found[0] if found else None
                if (
                    remote is not None
                    and len(client.get_metric_history(remote.info.run_id, "loss")) == 100
                ):
                    break
                assert time.monotonic() < deadline, syncer.progress()
                time.sleep(0.1)
            assert client.get_run(remote.info.run_id).info.status == "RUNNING"
            for step in range(100, 250):
                tracklite.log_metric("loss", 1.0 / (step + 1), step=step)
    # Leaving the block made the last pass: everything is there.
    assert not syncer.running
    summary = syncer.stop()
    assert summary["points"] == 250, summary
    assert summary["last_error"] is None
    progress = syncer.progress()
    assert progress["points"] == 250 and progress["passes"] == summary["passes"]
    _, remote = _remote_run(mlflow_server_pg_s3, experiment, run.info.run_id)
    assert remote.info.status == "FINISHED"
    assert len(client.get_metric_history(remote.info.run_id, "loss")) == 250


def test_bad_targets_and_intervals_are_refused_with_their_rule(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="ftp://example.org"):
        tracklite.export("ftp://example.org")
    with pytest.raises(InvalidValueError, match="interval 0: must be between 0.1 and 86400"):
        tracklite.start_sync("http://127.0.0.1:9", interval=0)
    with pytest.raises(ExportError, match="ftp://example.org"):
        tracklite.start_sync("ftp://example.org")


def _log_training(api, experiment: str, notes: Path) -> str:
    """The same training run, through ``api``: MLflow's fluent module or
    tracklite's (``import tracklite as mlflow``). Returns the run id."""
    api.set_experiment(experiment)
    with api.start_run(run_name="oracle", tags={"team": "vision"}) as parent:
        api.log_params({"lr": 0.01, "optimizer": "adam", "layers": 3})
        api.set_tag("stage", "train")
        for step in range(40):
            api.log_metrics({"loss": 1.0 / (step + 1), "acc": step / 40}, step=step)
        api.log_metric("nan_metric", float("nan"), step=0)
        api.log_artifact(str(notes), artifact_path="docs")
        with api.start_run(run_name="child", nested=True):
            api.log_param("fold", 1)
            api.log_metric("val_loss", 0.25, step=3)
        return parent.info.run_id


def _shape(client, run_id: str) -> dict:
    """What a run is, less ids and times that differ between two logs."""
    run = client.get_run(run_id)
    tags = {
        k: v
        for k, v in run.data.tags.items()
        if not k.startswith("tracklite.")
        and k not in ("mlflow.source.name", "mlflow.source.type", "mlflow.user")
    }
    histories = {
        k: [
            (m.step, None if m.value != m.value else m.value)
            for m in client.get_metric_history(run_id, k)
        ]
        for k in run.data.metrics
    }
    children = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{run_id}'"
    )
    return dict(
        name=run.info.run_name,
        status=run.info.status,
        params=run.data.params,
        tags=tags,
        metrics={k: (None if v != v else v) for k, v in run.data.metrics.items()},
        histories=histories,
        artifacts=sorted(f.path for f in client.list_artifacts(run_id, "docs")),
        children=[
            dict(name=c.info.run_name, params=c.data.params, metrics=c.data.metrics)
            for c in children
        ],
    )


def test_an_exported_run_reads_back_as_the_same_run_logged_through_mlflow(
    mlflow_server_pg_s3: MlflowServer, tmp_path: Path
) -> None:
    """The oracle: the same script logged straight to the server by MLflow,
    and logged offline by tracklite then exported, read back alike."""
    notes = tmp_path / "notes.txt"
    notes.write_text("same file\n")
    suffix = uuid.uuid4().hex[:8]
    mlflow.set_tracking_uri(mlflow_server_pg_s3.url)
    try:
        oracle_id = _log_training(mlflow, f"oracle-mlflow-{suffix}", notes)
    finally:
        mlflow.set_tracking_uri(None)
    local_id = _log_training(tracklite, f"oracle-tracklite-{suffix}", notes)
    tracklite.export(mlflow_server_pg_s3.url)
    client = mlflow.MlflowClient(tracking_uri=mlflow_server_pg_s3.url)
    _, exported = _remote_run(mlflow_server_pg_s3, f"oracle-tracklite-{suffix}", local_id)
    expected = _shape(client, oracle_id)
    assert len(expected["histories"]["loss"]) == 40 and expected["children"], expected
    assert _shape(client, exported.info.run_id) == expected


def test_artifacts_go_straight_to_the_bucket_of_a_server_with_an_s3_root(
    mlflow_server_direct_s3: MlflowServer, s3_env, tmp_path: Path
) -> None:
    experiment = f"py-s3-{uuid.uuid4().hex[:8]}"
    tracklite.set_experiment(experiment)
    weights = tmp_path / "weights.bin"
    weights.write_bytes(bytes(range(256)) * 4096)
    with tracklite.start_run() as run:
        tracklite.log_metric("loss", 0.5)
        tracklite.log_artifact(str(weights), artifact_path="model")
    summary = tracklite.export(mlflow_server_direct_s3.url)
    assert summary["runs_created"] == 1, summary
    client, remote = _remote_run(mlflow_server_direct_s3, experiment, run.info.run_id)
    assert remote.info.artifact_uri.startswith("s3://")
    got = client.download_artifacts(remote.info.run_id, "model/weights.bin", str(tmp_path / "dl"))
    assert Path(got).read_bytes() == weights.read_bytes()
    keys = s3_env.keys(remote.info.artifact_uri.split("/", 3)[3])
    assert any(k.endswith("model/weights.bin") for k in keys), keys
