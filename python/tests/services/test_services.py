"""The service fixtures work end to end: MLflow's own client logs to and reads
from a server on PostgreSQL with artifacts in the S3 emulator (proxied or
direct), the artifacts land in the bucket, the schema is MLflow 3.17's, and
stopping a service ends its processes."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import _services
import pytest
from _services import S3, MlflowServer

mlflow = pytest.importorskip("mlflow", reason="the service tests need mlflow")


def _log_a_run(server: MlflowServer, tmp_path: Path) -> tuple[str, str]:
    """Logs a run with params, a metric history and an artifact through MLflow's
    client; returns its run id and the artifact's text."""
    from mlflow.entities import Metric, Param

    client = mlflow.MlflowClient(tracking_uri=server.url)
    experiment_id = client.create_experiment(f"services-{uuid.uuid4().hex[:8]}")
    run = client.create_run(experiment_id, run_name="fixture-check")
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        params=[Param("lr", "0.01"), Param("optimizer", "adam")],
        metrics=[Metric("loss", 1.0 / (step + 1), now + step, step) for step in range(50)],
    )
    notes = tmp_path / "notes.txt"
    text = f"run {run_id}\n"
    notes.write_text(text)
    client.log_artifact(run_id, str(notes), artifact_path="docs")
    client.set_terminated(run_id)
    return run_id, text


def _check_run_reads_back(server: MlflowServer, run_id: str, text: str, tmp_path: Path) -> str:
    """Reads the run back through MLflow's client; returns its artifact URI."""
    client = mlflow.MlflowClient(tracking_uri=server.url)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"lr": "0.01", "optimizer": "adam"}
    assert run.data.metrics == {"loss": 1.0 / 50}
    history = client.get_metric_history(run_id, "loss")
    assert sorted(m.step for m in history) == list(range(50))
    assert [f.path for f in client.list_artifacts(run_id, "docs")] == ["docs/notes.txt"]
    local = client.download_artifacts(run_id, "docs/notes.txt", str(tmp_path / "download"))
    assert Path(local).read_text() == text
    return run.info.artifact_uri


def test_pg_s3_server_round_trip(mlflow_server_pg_s3: MlflowServer, s3: S3, tmp_path: Path):
    server = mlflow_server_pg_s3
    run_id, text = _log_a_run(server, tmp_path)
    artifact_uri = _check_run_reads_back(server, run_id, text, tmp_path)

    # Proxied: the client sees mlflow-artifacts:, the server wrote the bucket.
    assert artifact_uri.startswith("mlflow-artifacts:")
    keys = s3.keys("proxied/")
    assert [k for k in keys if run_id in k] == [
        k for k in keys if k.endswith(f"/{run_id}/artifacts/docs/notes.txt")
    ]
    (key,) = [k for k in keys if run_id in k]
    body = s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    assert body.decode() == text


def test_pg_schema_is_mlflow_317_head(mlflow_server_pg_s3: MlflowServer, postgres_url: str):
    import psycopg2

    with psycopg2.connect(_services.libpq_dsn(postgres_url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT version_num FROM alembic_version")
        assert cur.fetchall() == [(_services.MLFLOW_317_ALEMBIC_HEAD,)]
        # The server is on this database: its tables are here.
        cur.execute("SELECT count(*) FROM runs")
        assert cur.fetchone()[0] >= 0
    conn.close()


def test_direct_s3_server_round_trip(
    mlflow_server_direct_s3: MlflowServer, s3_env: S3, tmp_path: Path
):
    server = mlflow_server_direct_s3
    run_id, text = _log_a_run(server, tmp_path)
    artifact_uri = _check_run_reads_back(server, run_id, text, tmp_path)

    # Direct: the run's artifact root is in the bucket, written by the client.
    assert artifact_uri.startswith(f"s3://{s3_env.bucket}/direct/")
    assert artifact_uri.endswith(f"/{run_id}/artifacts")
    prefix = artifact_uri.removeprefix(f"s3://{s3_env.bucket}/")
    assert s3_env.keys(prefix) == [f"{prefix}/docs/notes.txt"]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(") ")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_stop_ends_the_service_processes(tmp_path: Path):
    reasons = _services.missing("s3")
    if reasons:
        pytest.skip("service tests skipped: " + "; ".join(reasons))
    directory = tmp_path / "s3"
    try:
        s3 = _services.start_s3(directory, bucket="stop-check")
        pid = int((directory / "s3.pid").read_text().split()[0])
        assert _running(pid)
        assert os.getpgid(pid) == pid, "the service leads a process group of its own"
        assert s3.keys() == []
    finally:
        _services.stop_s3(directory)
    assert not _running(pid)
    assert not (directory / "s3.pid").exists()
    # Stopping again is harmless.
    _services.stop_s3(directory)
