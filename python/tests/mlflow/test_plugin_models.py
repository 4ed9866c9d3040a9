"""MLflow 3's logged models through ``MlflowClient`` on a ``tracklite:``
URI: create, get, search with filters and pages, finalize, tags, params,
delete, and the runs' model outputs and inputs."""

from __future__ import annotations

import pytest

mlflow = pytest.importorskip("mlflow")

from mlflow.entities import LoggedModelStatus, Metric  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402


def test_create_get_finalize(client, store) -> None:
    run_id = client.create_run("0").info.run_id
    model = client.create_logged_model(
        "0",
        name="clf",
        source_run_id=run_id,
        tags={"team": "cv"},
        params={"alpha": "0.5"},
        model_type="classifier",
    )
    assert model.model_id.startswith("m-") and len(model.model_id) == 34
    assert model.status == LoggedModelStatus.PENDING
    assert model.artifact_location.startswith("file://")
    assert model.artifact_location.endswith(f"/{model.model_id}/artifacts")
    got = client.get_logged_model(model.model_id)
    assert (got.name, got.source_run_id, got.model_type) == ("clf", run_id, "classifier")
    assert (got.tags, got.params) == ({"team": "cv"}, {"alpha": "0.5"})

    done = client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    assert done.status == LoggedModelStatus.READY
    client.set_logged_model_tags(model.model_id, {"stage": "prod"})
    client.delete_logged_model_tag(model.model_id, "team")
    client.log_model_params(model.model_id, {"beta": "2"})
    got = client.get_logged_model(model.model_id)
    assert got.tags == {"stage": "prod"} and got.params == {"alpha": "0.5", "beta": "2"}

    client.delete_logged_model(model.model_id)
    with pytest.raises(MlflowException) as info:
        client.get_logged_model(model.model_id)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert store.get_logged_model(model.model_id, allow_deleted=True).model_id == model.model_id


def test_bad_names_and_unknown_ids(client) -> None:
    with pytest.raises(MlflowException) as info:
        client.create_logged_model("0", name="a/b")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as info:
        client.get_logged_model("m-" + "f" * 32)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_filters_orders_and_pages(client) -> None:
    exp_id = client.create_experiment("models")
    run_id = client.create_run(exp_id).info.run_id
    ids = []
    for i in range(7):
        m = client.create_logged_model(
            exp_id, name=f"m{i}", source_run_id=run_id, params={"depth": str(i)}
        )
        client.log_batch(
            run_id, metrics=[Metric("acc", i / 10, 1 + i, 0, model_id=m.model_id, run_id=run_id)]
        )
        ids.append(m.model_id)
    page = client.search_logged_models([exp_id], filter_string="name = 'm3'")
    assert [m.model_id for m in page] == [ids[3]]
    best = client.search_logged_models(
        [exp_id],
        filter_string="metrics.acc >= 0.4",
        order_by=[{"field_name": "metrics.acc", "ascending": False}],
    )
    assert [m.name for m in best] == ["m6", "m5", "m4"]
    seen, token = [], None
    while True:
        page = client.search_logged_models([exp_id], max_results=3, page_token=token)
        seen.extend(m.model_id for m in page)
        token = page.token
        if not token:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 7
    with pytest.raises(MlflowException) as info:
        client.search_logged_models([exp_id], filter_string="name ~ 'x'")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_runs_show_model_outputs_and_inputs(client) -> None:
    run_id = client.create_run("0").info.run_id
    produced = client.create_logged_model("0", source_run_id=run_id)
    used = client.create_logged_model("0")
    from mlflow.entities import LoggedModelInput, LoggedModelOutput

    client.log_outputs(run_id, [LoggedModelOutput(produced.model_id, step=3)])
    client.log_inputs(run_id, models=[LoggedModelInput(used.model_id)])
    run = client.get_run(run_id)
    assert [(o.model_id, o.step) for o in run.outputs.model_outputs] == [(produced.model_id, 3)]
    assert [i.model_id for i in run.inputs.model_inputs] == [used.model_id]
    found = client.search_runs(["0"])
    assert [o.model_id for o in found[0].outputs.model_outputs] == [produced.model_id]
