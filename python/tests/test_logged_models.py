"""Logged models through the native module: the methods of ``Store``,
their dicts, errors and searches, and their stubs."""

from __future__ import annotations

import ast
import json
import math
import threading
from pathlib import Path
from typing import Any

import pytest

import tracklite
from tracklite import _native, errors

MISSING = "m-0123456789abcdef0123456789abcdef"

STUB = Path(tracklite.__file__).with_name("_native.pyi")
TREE = ast.parse(STUB.read_text(encoding="utf-8"))
TYPED_DICTS = {
    n.name: {
        a.target.id
        for a in n.body
        if isinstance(a, ast.AnnAssign) and isinstance(a.target, ast.Name)
    }
    for n in TREE.body
    if isinstance(n, ast.ClassDef)
}


@pytest.fixture
def store(tmp_path):
    return _native.Store(str(tmp_path / "models-store"))


@pytest.fixture
def run_id(store):
    return store.create_run()["run_id"]


def names(models: list[dict[str, Any]]) -> list[str]:
    return [m["name"] for m in models]


# ---------------------------------------------------------------------------
# The stub
# ---------------------------------------------------------------------------


LOGGED_MODEL_METHODS = {
    "create_logged_model",
    "delete_logged_model",
    "delete_logged_model_tag",
    "finalize_logged_model",
    "get_logged_model",
    "log_logged_model_params",
    "log_model_inputs",
    "log_model_metrics",
    "log_outputs",
    "record_logged_model",
    "run_model_inputs",
    "run_outputs",
    "search_logged_models",
    "set_logged_model_tags",
}


def test_logged_models_are_store_methods():
    # Their signatures are checked against the stub with the other Store
    # methods (test_stubs.py); no module function is left behind.
    stub_store = next(n for n in TREE.body if isinstance(n, ast.ClassDef) and n.name == "Store")
    stub_methods = {n.name for n in stub_store.body if isinstance(n, ast.FunctionDef)}
    assert LOGGED_MODEL_METHODS <= stub_methods
    assert LOGGED_MODEL_METHODS <= set(vars(_native.Store))
    assert not LOGGED_MODEL_METHODS & set(vars(_native))
    assert not LOGGED_MODEL_METHODS & {n.name for n in TREE.body if isinstance(n, ast.FunctionDef)}


def test_returned_dicts_have_the_typed_dict_keys(store, run_id):
    m = store.create_logged_model("0", "model", run_id, {"t": "1"}, {"p": "2"}, "k")
    assert set(m) == TYPED_DICTS["LoggedModelDict"]
    store.log_model_metrics([{"model_id": m["model_id"], "key": "acc", "value": 1.0}])
    m = store.get_logged_model(m["model_id"])
    assert set(m["metrics"][0]) == TYPED_DICTS["ModelMetricDict"]
    assert TYPED_DICTS["ModelMetricInputDict"] == TYPED_DICTS["ModelMetricDict"]
    store.log_outputs(run_id, [{"model_id": m["model_id"], "step": 1}])
    assert set(store.run_outputs(run_id)[0]) == TYPED_DICTS["LoggedModelOutputDict"]
    models, token = store.search_logged_models(["0"])
    assert set(models[0]) == TYPED_DICTS["LoggedModelDict"] and token is None


# ---------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------


def test_create_get_finalize_delete(store, run_id):
    m = store.create_logged_model(
        source_run_id=run_id,
        tags={"team": "cv"},
        params={"alpha": "0.5"},
        model_type="agent",
    )
    assert m["model_id"].startswith("m-") and len(m["model_id"]) == 34
    assert m["experiment_id"] == "0"
    assert m["status"] == "PENDING"
    assert m["lifecycle_stage"] == "active"
    assert m["source_run_id"] == run_id
    assert m["model_type"] == "agent"
    assert m["tags"] == {"team": "cv"} and m["params"] == {"alpha": "0.5"}
    assert m["metrics"] == []
    assert m["artifact_location"] == (f"{store.artifact_root}/0/models/{m['model_id']}/artifacts")
    assert len(m["name"].split("-")) == 3  # generated
    assert store.get_logged_model(m["model_id"]) == m

    ready = store.finalize_logged_model(m["model_id"], "READY")
    assert ready["status"] == "READY"
    assert ready["last_updated_timestamp"] >= m["last_updated_timestamp"]

    store.delete_logged_model(m["model_id"])
    with pytest.raises(errors.NotFoundError, match="logged model"):
        store.get_logged_model(m["model_id"])
    deleted = store.get_logged_model(m["model_id"], allow_deleted=True)
    assert deleted["lifecycle_stage"] == "deleted"
    store.delete_logged_model(m["model_id"])  # again: accepted, as in MLflow


def test_tags_and_params(store):
    model_id = store.create_logged_model(name="m")["model_id"]
    store.set_logged_model_tags(model_id, {"a": "1", "b": "2"})
    store.set_logged_model_tags(model_id, {"a": "3"})
    store.delete_logged_model_tag(model_id, "b")
    assert store.get_logged_model(model_id)["tags"] == {"a": "3"}
    with pytest.raises(errors.NotFoundError):
        store.delete_logged_model_tag(model_id, "b")

    store.log_logged_model_params(model_id, {"lr": "0.1"})
    store.log_logged_model_params(model_id, {"lr": "0.1", "depth": "3"})
    with pytest.raises(errors.InvalidValueError, match="immutable"):
        store.log_logged_model_params(model_id, {"layers": "2", "lr": "0.2"})
    assert store.get_logged_model(model_id)["params"] == {"lr": "0.1", "depth": "3"}


def test_errors_are_typed(store, run_id):
    for bad in ["a/b", "v1.0", "it's", ""]:
        with pytest.raises(errors.InvalidValueError, match="logged model name"):
            store.create_logged_model(name=bad)
    with pytest.raises(errors.NotFoundError, match="experiment"):
        store.create_logged_model("42")
    with pytest.raises(errors.NotFoundError, match="run"):
        store.create_logged_model(source_run_id="0" * 32)
    exp = store.create_experiment("gone")
    store.delete_experiment(exp)
    with pytest.raises(errors.InvalidStateError):
        store.create_logged_model(exp)
    with pytest.raises(errors.NotFoundError):
        store.get_logged_model(MISSING)
    with pytest.raises(errors.InvalidValueError):
        store.get_logged_model("../x")
    model_id = store.create_logged_model()["model_id"]
    with pytest.raises(errors.InvalidValueError, match="status"):
        store.finalize_logged_model(model_id, "DONE")
    with pytest.raises(errors.InvalidFilterError):
        store.search_logged_models(["0"], "size = 'x'")
    with pytest.raises(errors.InvalidFilterError):
        store.search_logged_models(["0"], order_by=["params.x"])
    with pytest.raises(errors.InvalidValueError):
        store.search_logged_models(["0"], max_results=0)
    # Wrong Python types are TypeErrors, raised before the store is reached.
    with pytest.raises(TypeError):
        store.set_logged_model_tags(model_id, [("a", "b")])
    with pytest.raises(TypeError):
        store.log_model_metrics([{"model_id": model_id, "key": "x"}])
    with pytest.raises(TypeError):
        store.log_model_metrics([("x", 1.0)])
    with pytest.raises(TypeError):
        store.log_outputs(run_id, ["m"])
    with pytest.raises(TypeError):
        store.search_logged_models(["0"], order_by=[{"ascending": False}])
    with pytest.raises(TypeError):
        store.search_logged_models(["0"], datasets="eval")
    with pytest.raises(TypeError):
        _native.Store.create_logged_model(object())  # not a Store


# ---------------------------------------------------------------------------
# Metrics, outputs and inputs
# ---------------------------------------------------------------------------


def test_metrics_are_exact_and_deduplicated(store, run_id):
    model_id = store.create_logged_model()["model_id"]
    points = [
        {
            "model_id": model_id,
            "key": "acc",
            "value": 0.9,
            "timestamp": 10,
            "step": 1,
            "run_id": run_id,
            "dataset_name": "eval",
            "dataset_digest": "d1",
        },
        {"model_id": model_id, "key": "loss", "value": float("nan"), "timestamp": 11},
        {"model_id": model_id, "key": "loss", "value": float("-inf"), "timestamp": 12, "step": 2},
    ]
    store.log_model_metrics(points)
    store.log_model_metrics(points[:1])  # kept once
    got = store.get_logged_model(model_id)["metrics"]
    assert len(got) == 3
    assert got[0] == points[0]
    assert math.isnan(got[1]["value"]) and got[1]["step"] == 0 and got[1]["run_id"] is None
    assert got[2]["value"] == float("-inf")

    with pytest.raises(errors.NotFoundError):
        store.log_model_metrics(
            [
                {"model_id": model_id, "key": "x", "value": 1.0},
                {"model_id": MISSING, "key": "x", "value": 1.0},
            ],
        )
    assert len(store.get_logged_model(model_id)["metrics"]) == 3
    store.delete_run(run_id)
    with pytest.raises(errors.InvalidStateError):
        store.log_model_metrics(
            [{"model_id": model_id, "key": "x", "value": 1.0, "run_id": run_id}]
        )


def test_outputs_and_inputs(store, run_id):
    a = store.create_logged_model(name="a")["model_id"]
    b = store.create_logged_model(name="b")["model_id"]
    store.log_outputs(run_id, [{"model_id": b, "step": 3}, (a, 0), (b, 3)])
    assert store.run_outputs(run_id) == [
        {"model_id": b, "step": 3},
        {"model_id": a, "step": 0},
    ]
    store.log_model_inputs(run_id, [a, a])
    assert store.run_model_inputs(run_id) == [a]
    with pytest.raises(errors.NotFoundError):
        store.log_outputs(run_id, [(MISSING, 0)])
    store.delete_run(run_id)
    with pytest.raises(errors.InvalidStateError):
        store.log_model_inputs(run_id, [a])


def test_record_logged_model_appends_to_the_history_tag(store, run_id):
    first = json.dumps({"artifact_path": "model", "flavors": {"python_function": {}}})
    store.record_logged_model(run_id, first)
    store.record_logged_model(run_id, json.dumps({"artifact_path": "other"}))
    value = store.get_run(run_id)["tags"]["mlflow.log-model.history"]
    # What MLflow's own store writes: json.dumps of the whole list.
    assert value == json.dumps([json.loads(first), {"artifact_path": "other"}])
    with pytest.raises(errors.InvalidValueError):
        store.record_logged_model(run_id, "[]")
    with pytest.raises(errors.InvalidValueError, match="8000"):
        store.record_logged_model(run_id, json.dumps({"x": "y" * 8000}))
    store.delete_run(run_id)
    with pytest.raises(errors.InvalidStateError):
        store.record_logged_model(run_id, "{}")


# ---------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------


@pytest.fixture
def three(store):
    """alpha (READY, classifier, team=cv, lr=0.1, acc 0.7 then 0.9 on eval),
    beta (PENDING, regressor, team=NLP, acc NaN), gamma (FAILED, lr=0.2)."""
    alpha = store.create_logged_model(
        name="alpha", tags={"team": "cv"}, params={"lr": "0.1"}, model_type="classifier"
    )["model_id"]
    beta = store.create_logged_model(name="beta", tags={"team": "NLP"}, model_type="regressor")[
        "model_id"
    ]
    gamma = store.create_logged_model(name="gamma", params={"lr": "0.2"})["model_id"]
    store.finalize_logged_model(alpha, "READY")
    store.finalize_logged_model(gamma, "FAILED")
    store.log_model_metrics(
        [
            {"model_id": alpha, "key": "acc", "value": 0.7, "timestamp": 10},
            {
                "model_id": alpha,
                "key": "acc",
                "value": 0.9,
                "timestamp": 20,
                "dataset_name": "eval",
                "dataset_digest": "e1",
            },
            {"model_id": beta, "key": "acc", "value": float("nan"), "timestamp": 10},
        ],
    )
    return alpha, beta, gamma


@pytest.mark.parametrize(
    ("filter", "want"),
    [
        ("name = 'beta'", ["beta"]),
        ("name ILIKE 'A%'", ["alpha"]),
        ("name IN ('alpha', 'gamma')", ["alpha", "gamma"]),
        ("status = 'READY'", ["alpha"]),
        ("model_type != 'classifier'", ["beta"]),
        ("tags.team IN ('cv', 'NLP')", ["alpha", "beta"]),
        ("tags.team IS NULL", ["gamma"]),
        ("params.lr = '0.2'", ["gamma"]),
        # beta's NaN point compares as 0, as in MLflow's SQL store.
        ("metrics.acc < 0.8", ["alpha", "beta"]),
        ("metrics.acc = 0", ["beta"]),
        ("metrics.acc != 0.7", ["alpha", "beta"]),
        ("creation_time > 0 AND metrics.acc >= 0.9", ["alpha"]),
    ],
)
def test_search_filters(store, three, filter, want):
    models, _ = store.search_logged_models(["0"], filter, order_by=["name"])
    assert names(models) == want


def test_search_order_datasets_and_pages(store, three):
    models, _ = store.search_logged_models(["0"])
    assert names(models) == ["gamma", "beta", "alpha"]  # newest first
    models, _ = store.search_logged_models(["0"], order_by=["name DESC"])
    assert names(models) == ["gamma", "beta", "alpha"]
    order = [{"field_name": "metrics.acc", "ascending": False}]
    models, _ = store.search_logged_models(["0"], order_by=order)
    assert names(models) == ["alpha", "beta", "gamma"]  # NaN, then missing, last
    order = [{"field_name": "metrics.acc", "dataset_name": "eval"}, "name"]
    models, _ = store.search_logged_models(["0"], order_by=order)
    assert names(models) == ["alpha", "beta", "gamma"]

    models, _ = store.search_logged_models(["0"], datasets=[{"dataset_name": "eval"}])
    assert names(models) == ["alpha"]
    models, _ = store.search_logged_models(
        ["0"],
        "metrics.acc < 0.8",
        datasets=[{"dataset_name": "eval", "dataset_digest": "e1"}],
    )
    assert models == []

    seen, token = [], None
    while True:
        page, token = store.search_logged_models(
            ["0"], max_results=2, order_by=["name"], page_token=token
        )
        seen += names(page)
        if token is None:
            break
    assert seen == ["alpha", "beta", "gamma"]
    assert store.search_logged_models([]) == ([], None)

    store.delete_logged_model(three[0])
    models, _ = store.search_logged_models(["0"])
    assert names(models) == ["gamma", "beta"]


def test_threads_share_a_store(store):
    """Calls release the interpreter: threads creating and searching models
    at once all finish, and every model is found."""
    failures: list[Exception] = []

    def work(t: int) -> None:
        try:
            for i in range(20):
                model_id = store.create_logged_model(name=f"t{t}-{i}")["model_id"]
                store.log_model_metrics([{"model_id": model_id, "key": "i", "value": float(i)}])
                store.search_logged_models(["0"], "metrics.i >= 0", max_results=5)
        except Exception as e:
            failures.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    models, _ = store.search_logged_models(["0"], "metrics.i >= 10", max_results=1000)
    assert len(models) == 40
