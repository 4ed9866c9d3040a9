"""Logged models through the native module: the functions that take a
``Store`` first, their dicts, errors and searches, and their stubs."""

from __future__ import annotations

import ast
import inspect
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
STUB_FUNCTIONS = {n.name: n for n in TREE.body if isinstance(n, ast.FunctionDef)}
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


def test_stub_declares_the_module_functions():
    runtime = {
        n
        for n, v in vars(_native).items()
        if callable(v) and not isinstance(v, type) and not n.startswith("_")
    }
    assert set(STUB_FUNCTIONS) == runtime
    stub_all = next(
        ast.literal_eval(n.value)
        for n in TREE.body
        if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets)
    )
    assert set(STUB_FUNCTIONS) <= set(stub_all)


def _stub_params(fn: ast.FunctionDef) -> list[tuple[str, bool, Any]]:
    args = fn.args.args
    defaults = [None] * (len(args) - len(fn.args.defaults)) + list(fn.args.defaults)
    out = []
    for arg, default in zip(args, defaults):
        if default is None:
            out.append((arg.arg, False, None))
        else:
            out.append((arg.arg, True, ast.literal_eval(default)))
    return out


@pytest.mark.parametrize("name", sorted(STUB_FUNCTIONS))
def test_function_signatures_match_the_stub(name: str):
    stub = _stub_params(STUB_FUNCTIONS[name])
    sig = inspect.signature(getattr(_native, name))
    runtime = [
        (p.name, p.default is not inspect.Parameter.empty, p.default)
        for p in sig.parameters.values()
    ]
    assert [(n, d) for n, d, _ in stub] == [(n, d) for n, d, _ in runtime]
    for (pname, _, s), (_, _, r) in zip(stub, runtime):
        if isinstance(s, (str, int, float, bool)) and r is not Ellipsis:
            assert s == r, f"default of {pname}: stub {s!r}, module {r!r}"
    assert getattr(_native, name).__module__ == "tracklite._native"


def test_returned_dicts_have_the_typed_dict_keys(store, run_id):
    m = _native.create_logged_model(store, "0", "model", run_id, {"t": "1"}, {"p": "2"}, "k")
    assert set(m) == TYPED_DICTS["LoggedModelDict"]
    _native.log_model_metrics(store, [{"model_id": m["model_id"], "key": "acc", "value": 1.0}])
    m = _native.get_logged_model(store, m["model_id"])
    assert set(m["metrics"][0]) == TYPED_DICTS["ModelMetricDict"]
    assert TYPED_DICTS["ModelMetricInputDict"] == TYPED_DICTS["ModelMetricDict"]
    _native.log_outputs(store, run_id, [{"model_id": m["model_id"], "step": 1}])
    assert set(_native.run_outputs(store, run_id)[0]) == TYPED_DICTS["LoggedModelOutputDict"]
    models, token = _native.search_logged_models(store, ["0"])
    assert set(models[0]) == TYPED_DICTS["LoggedModelDict"] and token is None


# ---------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------


def test_create_get_finalize_delete(store, run_id):
    m = _native.create_logged_model(
        store,
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
    assert _native.get_logged_model(store, m["model_id"]) == m

    ready = _native.finalize_logged_model(store, m["model_id"], "READY")
    assert ready["status"] == "READY"
    assert ready["last_updated_timestamp"] >= m["last_updated_timestamp"]

    _native.delete_logged_model(store, m["model_id"])
    with pytest.raises(errors.NotFoundError, match="logged model"):
        _native.get_logged_model(store, m["model_id"])
    deleted = _native.get_logged_model(store, m["model_id"], allow_deleted=True)
    assert deleted["lifecycle_stage"] == "deleted"
    _native.delete_logged_model(store, m["model_id"])  # again: accepted, as in MLflow


def test_tags_and_params(store):
    model_id = _native.create_logged_model(store, name="m")["model_id"]
    _native.set_logged_model_tags(store, model_id, {"a": "1", "b": "2"})
    _native.set_logged_model_tags(store, model_id, {"a": "3"})
    _native.delete_logged_model_tag(store, model_id, "b")
    assert _native.get_logged_model(store, model_id)["tags"] == {"a": "3"}
    with pytest.raises(errors.NotFoundError):
        _native.delete_logged_model_tag(store, model_id, "b")

    _native.log_logged_model_params(store, model_id, {"lr": "0.1"})
    _native.log_logged_model_params(store, model_id, {"lr": "0.1", "depth": "3"})
    with pytest.raises(errors.InvalidValueError, match="immutable"):
        _native.log_logged_model_params(store, model_id, {"layers": "2", "lr": "0.2"})
    assert _native.get_logged_model(store, model_id)["params"] == {"lr": "0.1", "depth": "3"}


def test_errors_are_typed(store, run_id):
    for bad in ["a/b", "v1.0", "it's", ""]:
        with pytest.raises(errors.InvalidValueError, match="logged model name"):
            _native.create_logged_model(store, name=bad)
    with pytest.raises(errors.NotFoundError, match="experiment"):
        _native.create_logged_model(store, "42")
    with pytest.raises(errors.NotFoundError, match="run"):
        _native.create_logged_model(store, source_run_id="0" * 32)
    exp = store.create_experiment("gone")
    store.delete_experiment(exp)
    with pytest.raises(errors.InvalidStateError):
        _native.create_logged_model(store, exp)
    with pytest.raises(errors.NotFoundError):
        _native.get_logged_model(store, MISSING)
    with pytest.raises(errors.InvalidValueError):
        _native.get_logged_model(store, "../x")
    model_id = _native.create_logged_model(store)["model_id"]
    with pytest.raises(errors.InvalidValueError, match="status"):
        _native.finalize_logged_model(store, model_id, "DONE")
    with pytest.raises(errors.InvalidFilterError):
        _native.search_logged_models(store, ["0"], "size = 'x'")
    with pytest.raises(errors.InvalidFilterError):
        _native.search_logged_models(store, ["0"], order_by=["params.x"])
    with pytest.raises(errors.InvalidValueError):
        _native.search_logged_models(store, ["0"], max_results=0)
    # Wrong Python types are TypeErrors, raised before the store is reached.
    with pytest.raises(TypeError):
        _native.set_logged_model_tags(store, model_id, [("a", "b")])
    with pytest.raises(TypeError):
        _native.log_model_metrics(store, [{"model_id": model_id, "key": "x"}])
    with pytest.raises(TypeError):
        _native.log_model_metrics(store, [("x", 1.0)])
    with pytest.raises(TypeError):
        _native.log_outputs(store, run_id, ["m"])
    with pytest.raises(TypeError):
        _native.search_logged_models(store, ["0"], order_by=[{"ascending": False}])
    with pytest.raises(TypeError):
        _native.search_logged_models(store, ["0"], datasets="eval")
    with pytest.raises(TypeError):
        _native.create_logged_model(object())


# ---------------------------------------------------------------------------
# Metrics, outputs and inputs
# ---------------------------------------------------------------------------


def test_metrics_are_exact_and_deduplicated(store, run_id):
    model_id = _native.create_logged_model(store)["model_id"]
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
    _native.log_model_metrics(store, points)
    _native.log_model_metrics(store, points[:1])  # kept once
    got = _native.get_logged_model(store, model_id)["metrics"]
    assert len(got) == 3
    assert got[0] == points[0]
    assert math.isnan(got[1]["value"]) and got[1]["step"] == 0 and got[1]["run_id"] is None
    assert got[2]["value"] == float("-inf")

    with pytest.raises(errors.NotFoundError):
        _native.log_model_metrics(
            store,
            [
                {"model_id": model_id, "key": "x", "value": 1.0},
                {"model_id": MISSING, "key": "x", "value": 1.0},
            ],
        )
    assert len(_native.get_logged_model(store, model_id)["metrics"]) == 3
    store.delete_run(run_id)
    with pytest.raises(errors.InvalidStateError):
        _native.log_model_metrics(
            store, [{"model_id": model_id, "key": "x", "value": 1.0, "run_id": run_id}]
        )


def test_outputs_and_inputs(store, run_id):
    a = _native.create_logged_model(store, name="a")["model_id"]
    b = _native.create_logged_model(store, name="b")["model_id"]
    _native.log_outputs(store, run_id, [{"model_id": b, "step": 3}, (a, 0), (b, 3)])
    assert _native.run_outputs(store, run_id) == [
        {"model_id": b, "step": 3},
        {"model_id": a, "step": 0},
    ]
    _native.log_model_inputs(store, run_id, [a, a])
    assert _native.run_model_inputs(store, run_id) == [a]
    with pytest.raises(errors.NotFoundError):
        _native.log_outputs(store, run_id, [(MISSING, 0)])
    store.delete_run(run_id)
    with pytest.raises(errors.InvalidStateError):
        _native.log_model_inputs(store, run_id, [a])


def test_record_logged_model_appends_to_the_history_tag(store, run_id):
    first = json.dumps({"artifact_path": "model", "flavors": {"python_function": {}}})
    _native.record_logged_model(store, run_id, first)
    _native.record_logged_model(store, run_id, json.dumps({"artifact_path": "other"}))
    value = store.get_run(run_id)["tags"]["mlflow.log-model.history"]
    # What MLflow's own store writes: json.dumps of the whole list.
    assert value == json.dumps([json.loads(first), {"artifact_path": "other"}])
    with pytest.raises(errors.InvalidValueError):
        _native.record_logged_model(store, run_id, "[]")
    with pytest.raises(errors.InvalidValueError, match="8000"):
        _native.record_logged_model(store, run_id, json.dumps({"x": "y" * 8000}))
    store.delete_run(run_id)
    with pytest.raises(errors.InvalidStateError):
        _native.record_logged_model(store, run_id, "{}")


# ---------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------


@pytest.fixture
def three(store):
    """alpha (READY, classifier, team=cv, lr=0.1, acc 0.7 then 0.9 on eval),
    beta (PENDING, regressor, team=NLP, acc NaN), gamma (FAILED, lr=0.2)."""
    alpha = _native.create_logged_model(
        store, name="alpha", tags={"team": "cv"}, params={"lr": "0.1"}, model_type="classifier"
    )["model_id"]
    beta = _native.create_logged_model(
        store, name="beta", tags={"team": "NLP"}, model_type="regressor"
    )["model_id"]
    gamma = _native.create_logged_model(store, name="gamma", params={"lr": "0.2"})["model_id"]
    _native.finalize_logged_model(store, alpha, "READY")
    _native.finalize_logged_model(store, gamma, "FAILED")
    _native.log_model_metrics(
        store,
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
        ("metrics.acc < 0.8", ["alpha"]),
        ("metrics.acc != 0.7", ["alpha", "beta"]),
        ("creation_time > 0 AND metrics.acc >= 0.9", ["alpha"]),
    ],
)
def test_search_filters(store, three, filter, want):
    models, _ = _native.search_logged_models(store, ["0"], filter, order_by=["name"])
    assert names(models) == want


def test_search_order_datasets_and_pages(store, three):
    models, _ = _native.search_logged_models(store, ["0"])
    assert names(models) == ["gamma", "beta", "alpha"]  # newest first
    models, _ = _native.search_logged_models(store, ["0"], order_by=["name DESC"])
    assert names(models) == ["gamma", "beta", "alpha"]
    order = [{"field_name": "metrics.acc", "ascending": False}]
    models, _ = _native.search_logged_models(store, ["0"], order_by=order)
    assert names(models) == ["alpha", "beta", "gamma"]  # NaN, then missing, last
    order = [{"field_name": "metrics.acc", "dataset_name": "eval"}, "name"]
    models, _ = _native.search_logged_models(store, ["0"], order_by=order)
    assert names(models) == ["alpha", "beta", "gamma"]

    models, _ = _native.search_logged_models(store, ["0"], datasets=[{"dataset_name": "eval"}])
    assert names(models) == ["alpha"]
    models, _ = _native.search_logged_models(
        store,
        ["0"],
        "metrics.acc < 0.8",
        datasets=[{"dataset_name": "eval", "dataset_digest": "e1"}],
    )
    assert models == []

    seen, token = [], None
    while True:
        page, token = _native.search_logged_models(
            store, ["0"], max_results=2, order_by=["name"], page_token=token
        )
        seen += names(page)
        if token is None:
            break
    assert seen == ["alpha", "beta", "gamma"]
    assert _native.search_logged_models(store, []) == ([], None)

    _native.delete_logged_model(store, three[0])
    models, _ = _native.search_logged_models(store, ["0"])
    assert names(models) == ["gamma", "beta"]


def test_threads_share_a_store(store):
    """Calls release the interpreter: threads creating and searching models
    at once all finish, and every model is found."""
    failures: list[Exception] = []

    def work(t: int) -> None:
        try:
            for i in range(20):
                model_id = _native.create_logged_model(store, name=f"t{t}-{i}")["model_id"]
                _native.log_model_metrics(
                    store, [{"model_id": model_id, "key": "i", "value": float(i)}]
                )
                _native.search_logged_models(store, ["0"], "metrics.i >= 0", max_results=5)
        except Exception as e:
            failures.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    models, _ = _native.search_logged_models(store, ["0"], "metrics.i >= 10", max_results=1000)
    assert len(models) == 40
