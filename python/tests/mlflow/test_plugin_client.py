"""``MlflowClient`` and the store's own methods on a ``tracklite:`` URI:
experiments, runs, search with page tokens, batches, metric history with
paging, and MLflow's error codes."""

from __future__ import annotations

import pytest

mlflow = pytest.importorskip("mlflow")

from mlflow.entities import Metric, Param, RunStatus, RunTag, ViewType  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402


def _code(info: pytest.ExceptionInfo[MlflowException]) -> str:
    return info.value.error_code


def test_experiments(client) -> None:
    default = client.get_experiment("0")
    assert default.name == "Default"
    assert default.artifact_location.startswith("file://")
    exp_id = client.create_experiment("vision", tags={"team": "cv"})
    assert exp_id.isdigit()
    exp = client.get_experiment(exp_id)
    assert (exp.name, exp.tags, exp.lifecycle_stage) == ("vision", {"team": "cv"}, "active")
    assert client.get_experiment_by_name("vision").experiment_id == exp_id
    assert client.get_experiment_by_name("nothing") is None

    client.set_experiment_tag(exp_id, "owner", "ana")
    client.delete_experiment_tag(exp_id, "team")
    assert client.get_experiment(exp_id).tags == {"owner": "ana"}

    client.rename_experiment(exp_id, "vision-v2")
    assert client.get_experiment(exp_id).name == "vision-v2"

    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    active = {e.name for e in client.search_experiments()}
    deleted = {e.name for e in client.search_experiments(view_type=ViewType.DELETED_ONLY)}
    assert "vision-v2" not in active and "vision-v2" in deleted
    client.restore_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "active"


def test_experiment_errors_carry_mlflow_codes(client) -> None:
    client.create_experiment("taken")
    with pytest.raises(MlflowException) as info:
        client.create_experiment("taken")
    assert _code(info) == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException) as info:
        client.get_experiment("424242")
    assert _code(info) == "RESOURCE_DOES_NOT_EXIST"
    assert info.value.get_http_status_code() == 404


def test_search_experiments_pages(client) -> None:
    for i in range(7):
        client.create_experiment(f"exp-{i}", tags={"kind": "even" if i % 2 == 0 else "odd"})
    seen, token = [], None
    while True:
        page = client.search_experiments(
            max_results=3, filter_string="name LIKE 'exp-%'", order_by=["name"], page_token=token
        )
        assert len(page) <= 3
        seen.extend(e.name for e in page)
        token = page.token
        if not token:
            break
    assert seen == [f"exp-{i}" for i in range(7)]
    odd = client.search_experiments(filter_string="tags.kind = 'odd'")
    assert sorted(e.name for e in odd) == ["exp-1", "exp-3", "exp-5"]


def test_run_lifecycle(client) -> None:
    run = client.create_run("0", run_name="r", tags={"a": "1"}, start_time=1000)
    run_id = run.info.run_id
    assert len(run_id) == 32
    assert (run.info.status, run.info.start_time, run.info.run_name) == ("RUNNING", 1000, "r")
    assert run.data.tags["a"] == "1"

    client.update_run(run_id, status="KILLED", name="renamed")
    info = client.get_run(run_id).info
    assert (info.status, info.run_name) == ("KILLED", "renamed")
    assert client.get_run(run_id).data.tags["mlflow.runName"] == "renamed"

    client.set_terminated(run_id, status="FINISHED", end_time=5000)
    info = client.get_run(run_id).info
    assert (info.status, info.end_time) == ("FINISHED", 5000)

    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert client.search_runs(["0"]) == []
    assert len(client.search_runs(["0"], run_view_type=ViewType.DELETED_ONLY)) == 1
    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"


def test_store_update_run_info_takes_status_numbers(store) -> None:
    run_id = store.create_run("0", "me", 1, [], "n").info.run_id
    info = store.update_run_info(run_id, RunStatus.FAILED, 9, None)
    assert (info.status, info.end_time, info.run_name) == ("FAILED", 9, "n")


def test_params_tags_and_batches(client, store) -> None:
    run_id = client.create_run("0").info.run_id
    client.log_param(run_id, "p", 1)
    client.log_param(run_id, "p", 1)  # the same value again is fine
    with pytest.raises(MlflowException) as info:
        client.log_param(run_id, "p", 2)
    assert _code(info) == "INVALID_PARAMETER_VALUE"

    client.set_tag(run_id, "t", "v")
    client.delete_tag(run_id, "t")
    assert "t" not in client.get_run(run_id).data.tags
    with pytest.raises(MlflowException) as info:
        client.delete_tag(run_id, "t")
    assert _code(info) == "RESOURCE_DOES_NOT_EXIST"

    client.log_batch(
        run_id,
        metrics=[Metric("m", float(i), 1000 + i, i) for i in range(1000)],
        params=[Param(f"q{i}", str(i)) for i in range(100)],
        tags=[RunTag("u", "w")],
    )
    run = client.get_run(run_id)
    assert run.data.metrics["m"] == 999.0
    assert len(run.data.params) == 101 and run.data.tags["u"] == "w"
    # MLflow's client splits large batches; the store refuses them whole.
    client.log_batch(run_id, metrics=[Metric("n", 0.0, 0, i) for i in range(1500)])
    assert len(client.get_metric_history(run_id, "n")) == 1500
    with pytest.raises(MlflowException) as info:
        store.log_batch(run_id, [Metric("m", 0.0, 0, 0)] * 1001, [], [])
    assert _code(info) == "INVALID_PARAMETER_VALUE"


def test_bad_keys_and_missing_runs(client) -> None:
    run_id = client.create_run("0").info.run_id
    with pytest.raises(MlflowException) as info:
        client.log_metric(run_id, "../up", 1.0)
    assert _code(info) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as info:
        client.get_run("0" * 32)
    assert _code(info) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as info:
        client.log_metric("f" * 32, "m", 1.0)
    assert _code(info) == "RESOURCE_DOES_NOT_EXIST"


def test_logging_to_a_deleted_run_fails(client) -> None:
    run_id = client.create_run("0").info.run_id
    client.delete_run(run_id)
    with pytest.raises(MlflowException) as info:
        client.log_metric(run_id, "m", 1.0)
    # MLflow's code for a write to a run that is not active.
    assert _code(info) == "INVALID_PARAMETER_VALUE"
    assert "is deleted" in str(info.value)


def test_search_runs_pages_filters_and_orders(client) -> None:
    exp_id = client.create_experiment("many")
    ids = []
    for i in range(25):
        run = client.create_run(exp_id, run_name=f"run-{i:02d}", start_time=1000 + i)
        client.log_metric(run.info.run_id, "acc", i / 100)
        client.log_param(run.info.run_id, "model", "cnn" if i < 10 else "mlp")
        ids.append(run.info.run_id)
    # Default order: newest first.
    seen, token = [], None
    while True:
        page = client.search_runs([exp_id], max_results=10, page_token=token)
        seen.extend(r.info.run_id for r in page)
        token = page.token
        if not token:
            break
    assert seen == ids[::-1]

    best = client.search_runs(
        [exp_id], "params.model = 'mlp' AND metrics.acc > 0.2", order_by=["metrics.acc DESC"]
    )
    assert [r.info.run_name for r in best] == [f"run-{i:02d}" for i in range(24, 20, -1)]
    assert best[0].data.metrics == {"acc": 0.24}

    named = client.search_runs([exp_id], "attributes.run_name LIKE 'run-0%'")
    assert len(named) == 10
    with pytest.raises(MlflowException) as info:
        client.search_runs([exp_id], "metrics.acc >")
    assert _code(info) == "INVALID_PARAMETER_VALUE"


def test_metric_history_pages(client, store) -> None:
    run_id = client.create_run("0").info.run_id
    points = [Metric("loss", 1.0 / (i + 1), 10_000 + i, i) for i in range(2500)]
    for i in range(0, 2500, 1000):
        client.log_batch(run_id, metrics=points[i : i + 1000])

    # The store's paged call, as MLflow's client makes it.
    pages, token = [], None
    while True:
        page = store.get_metric_history(run_id, "loss", max_results=1000, page_token=token)
        pages.append(len(page))
        token = page.token
        if token is None:
            break
    assert pages == [1000, 1000, 500]
    full = store.get_metric_history(run_id, "loss")
    assert full.token is None and len(full) == 2500

    # MLflow's client follows the tokens itself.
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.timestamp, m.value) for m in history] == [
        (m.step, m.timestamp, m.value) for m in points
    ]
    assert client.get_metric_history(run_id, "absent") == []
    with pytest.raises(MlflowException) as info:
        store.get_metric_history(run_id, "loss", max_results=10, page_token="garbage")
    assert _code(info) == "INVALID_PARAMETER_VALUE"


def test_client_paging_with_small_pages(client, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.tracking._tracking_service import client as service

    monkeypatch.setattr(service, "GET_METRIC_HISTORY_MAX_RESULTS", 7)
    run_id = client.create_run("0").info.run_id
    client.log_batch(run_id, metrics=[Metric("m", float(i), 1, i) for i in range(30)])
    assert [m.step for m in client.get_metric_history(run_id, "m")] == list(range(30))


def test_history_sampling_for_charts(client, store) -> None:
    run_a = client.create_run("0").info.run_id
    run_b = client.create_run("0").info.run_id
    client.log_batch(run_a, metrics=[Metric("m", float(i), 1, i) for i in range(1000)])
    client.log_batch(run_b, metrics=[Metric("m", float(i), 1, i) for i in range(0, 500, 5)])
    sampled = store.get_metric_history_bulk_interval([run_a, run_b], "m", 50, None, None)
    steps_a = [m.step for m in sampled if m.run_id == run_a]
    steps_b = [m.step for m in sampled if m.run_id == run_b]
    assert 40 <= len(steps_a) <= 60 and steps_a == sorted(steps_a)
    assert steps_a[0] == 0 and steps_a[-1] == 999
    assert 495 in steps_b  # run b's last step is kept
    ranged = store.get_metric_history_bulk_interval([run_a], "m", 10, 100, 200)
    assert all(100 <= m.step <= 200 for m in ranged)
    assert ranged[0].step == 100 and ranged[-1].step == 200
    by_steps = store.get_metric_history_bulk_interval_from_steps(run_a, "m", [3, 5, 7], 2)
    assert [m.step for m in by_steps] == [3, 5]
    bulk = store.get_metric_history_bulk([run_b, run_a], "m", 120)
    assert len(bulk) == 120
    assert [m.run_id for m in bulk[:100]] == [min(run_a, run_b)] * 100


def test_model_metrics_are_not_logged_twice(client) -> None:
    # MLflow's log_model logs the run's metrics at the model's step again,
    # with the model's id; the run's history keeps one point each.
    run_id = client.create_run("0").info.run_id
    model_id = client.create_logged_model("0", source_run_id=run_id).model_id
    client.log_metric(run_id, "acc", 0.5, timestamp=7, step=0)
    client.log_batch(run_id, metrics=[Metric("acc", 0.5, 7, 0, model_id=model_id)])
    assert len(client.get_metric_history(run_id, "acc")) == 1
    metrics = client.get_logged_model(model_id).metrics
    assert [(m.key, m.value, m.step, m.run_id) for m in metrics] == [("acc", 0.5, 0, run_id)]


def test_logged_model_history_tag(client) -> None:
    from mlflow.models import Model

    run_id = client.create_run("0").info.run_id
    model = Model(artifact_path="model", run_id=run_id)
    model.add_flavor("python_function", loader_module="x")
    client._record_logged_model(run_id, model)
    client._record_logged_model(run_id, model)
    import json

    history = json.loads(client.get_run(run_id).data.tags["mlflow.log-model.history"])
    assert len(history) == 2 and history[0]["run_id"] == run_id


def test_dataset_summaries_for_the_ui(client, store) -> None:
    from mlflow.entities import Dataset, DatasetInput, InputTag

    exp_id = client.create_experiment("with-data")
    train = Dataset(name="iris", digest="d1", source_type="code", source="{}")
    test = Dataset(name="iris-test", digest="d2", source_type="code", source="{}")
    for ds, context in ((train, "training"), (test, "eval"), (train, "training")):
        run_id = client.create_run(exp_id).info.run_id
        client.log_inputs(
            run_id, [DatasetInput(ds, [InputTag(key="mlflow.data.context", value=context)])]
        )
    summaries = store._search_datasets([exp_id])
    got = sorted((s.experiment_id, s.name, s.digest, s.context) for s in summaries)
    assert got == [(exp_id, "iris", "d1", "training"), (exp_id, "iris-test", "d2", "eval")]
    assert {s.to_proto().name for s in summaries} == {"iris", "iris-test"}  # as the server sends
    assert store._search_datasets(["0"]) == []
