"""MLflow's async logging (``MLFLOW_ENABLE_ASYNC_LOGGING=true``) on a
``tracklite:`` URI: MLflow's queue calls the store's ``log_batch`` from
its worker threads, and every point is there once the run ends."""

from __future__ import annotations

import pytest

mlflow = pytest.importorskip("mlflow")


def test_async_logging_through_the_fluent_api(
    tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "true")
    with mlflow.start_run() as run:
        for step in range(300):
            mlflow.log_metric("loss", 1 / (step + 1), step=step)
            mlflow.log_metrics({"a": step, "b": -step}, step=step)
        mlflow.log_params({f"p{i}": i for i in range(20)})
        mlflow.set_tag("mode", "async")
    run_id = run.info.run_id
    client = mlflow.MlflowClient()
    got = client.get_run(run_id)
    assert got.data.metrics == {"loss": 1 / 300, "a": 299.0, "b": -299.0}
    assert len(got.data.params) == 20 and got.data.tags["mode"] == "async"
    # MLflow's queue may hand batches to the store out of order.
    steps = sorted(m.step for m in client.get_metric_history(run_id, "loss"))
    assert steps == list(range(300))


def test_async_operations_wait(client) -> None:
    run_id = client.create_run("0").info.run_id
    ops = [client.log_metric(run_id, "m", float(i), step=i, synchronous=False) for i in range(50)]
    ops.append(client.log_param(run_id, "p", "v", synchronous=False))
    ops.append(client.set_tag(run_id, "t", "v", synchronous=False))
    for op in ops:
        op.wait()
    run = client.get_run(run_id)
    assert run.data.metrics == {"m": 49.0}
    assert run.data.params == {"p": "v"} and run.data.tags["t"] == "v"
    assert len(client.get_metric_history(run_id, "m")) == 50


def test_async_errors_surface(client) -> None:
    run_id = client.create_run("0").info.run_id
    client.log_param(run_id, "p", "1")
    op = client.log_param(run_id, "p", "2", synchronous=False)
    with pytest.raises(mlflow.exceptions.MlflowException):
        op.wait()
