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
