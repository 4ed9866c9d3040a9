"""The native module, method by method: values read back, errors raised
as the classes of ``tracklite.errors`` with the store's own message,
wrong Python types raised as TypeError, numpy columns in and out."""

from __future__ import annotations

import gc
import math
import os
import time

import numpy as np
import pytest

from tracklite import _native, errors

NOW = 1_700_000_000_000


# These fixtures stand in for the package-wide ones of the same names: the
# tests here talk to the native module directly.
@pytest.fixture
def store_path(tmp_path):
    """The directory of a store that does not exist yet, as a str."""
    return str(tmp_path / "native-store")


@pytest.fixture
def store(store_path):
    return _native.Store(store_path)


@pytest.fixture
def run_id(store):
    """A RUNNING run of the Default experiment."""
    return store.create_run()["run_id"]


def now_ms() -> int:
    return int(time.time() * 1000)


# ---------------------------------------------------------------------------
# The module and its exceptions
# ---------------------------------------------------------------------------


def test_module_surface():
    assert isinstance(_native.__version__, str) and _native.__version__
    assert _native.Store.__module__ == "tracklite._native"
    assert _native.RunWriter.__module__ == "tracklite._native"


@pytest.mark.parametrize(
    ("cls", "bases", "code"),
    [
        (errors.InvalidValueError, (errors.TrackliteError, ValueError), "INVALID_PARAMETER_VALUE"),
        (errors.InvalidFilterError, (errors.InvalidValueError,), "INVALID_PARAMETER_VALUE"),
        (errors.ParamChangedError, (errors.InvalidValueError,), "INVALID_PARAMETER_VALUE"),
        (errors.NotFoundError, (errors.TrackliteError, LookupError), "RESOURCE_DOES_NOT_EXIST"),
        (errors.AlreadyExistsError, (errors.TrackliteError,), "RESOURCE_ALREADY_EXISTS"),
        (errors.InvalidStateError, (errors.TrackliteError,), "INVALID_STATE"),
        (errors.RunDeletedError, (errors.InvalidStateError,), "INVALID_PARAMETER_VALUE"),
        (errors.FormatError, (errors.TrackliteError,), "INTERNAL_ERROR"),
        (errors.StoreIOError, (errors.TrackliteError, OSError), "INTERNAL_ERROR"),
    ],
)
def test_exception_hierarchy(cls, bases, code):
    for base in bases:
        assert issubclass(cls, base)
    assert issubclass(cls, Exception)
    assert cls.error_code == code
    err = cls("what went wrong")
    assert str(err) == "what went wrong"
    assert err.message == "what went wrong"


# ---------------------------------------------------------------------------
# Opening a store
# ---------------------------------------------------------------------------


def test_open_creates_the_directory(store_path):
    store = _native.Store(store_path)
    assert os.path.isdir(store_path)
    assert store.path == os.path.realpath(store_path)
    assert store.artifact_root == os.path.join(store.path, "artifacts")
    assert os.path.isdir(store.artifact_root)
    assert store.path in repr(store)


def test_open_accepts_path_objects(tmp_path):
    store = _native.Store(tmp_path / "s")
    assert store.path == str((tmp_path / "s").resolve())


def test_open_reopens_existing_store(store_path):
    first = _native.Store(store_path)
    eid = first.create_experiment("kept")
    assert _native.Store(store_path).get_experiment(eid)["name"] == "kept"


def test_open_a_file_is_invalid_state(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(errors.InvalidStateError, match="is a file, not a store directory"):
        _native.Store(str(path))


def test_open_garbage_index_is_format_error(tmp_path):
    (tmp_path / "index.sqlite").write_bytes(b"not a database" * 500)
    with pytest.raises(errors.FormatError, match="is not a tracklite index"):
        _native.Store(str(tmp_path))


def test_open_garbage_log_is_format_error(tmp_path):
    (tmp_path / "metrics.log").write_bytes(b"garbage!" * 1000)
    with pytest.raises(errors.FormatError, match="is not a tracklite metric log"):
        _native.Store(str(tmp_path))


def test_open_wrong_type():
    with pytest.raises(TypeError):
        _native.Store(42)


# ---------------------------------------------------------------------------
# Experiments
# ---------------------------------------------------------------------------


def test_default_experiment(store):
    default = store.get_experiment("0")
    assert default["name"] == "Default"
    assert default["lifecycle_stage"] == "active"
    assert default["artifact_location"] == os.path.join(store.artifact_root, "0")
    assert default["tags"] == {}
    assert store.get_experiment_by_name("Default") == default


def test_create_and_get_experiment(store):
    before = now_ms()
    eid = store.create_experiment("exp", tags={"team": "cv", "owner": "me"})
    assert eid.isdigit() and eid != "0"
    exp = store.get_experiment(eid)
    assert set(exp) == {
        "experiment_id",
        "name",
        "artifact_location",
        "lifecycle_stage",
        "creation_time",
        "last_update_time",
        "tags",
    }
    assert exp["experiment_id"] == eid
    assert exp["name"] == "exp"
    assert exp["tags"] == {"team": "cv", "owner": "me"}
    assert before <= exp["creation_time"] <= now_ms()
    assert isinstance(exp["last_update_time"], int)


def test_create_experiment_with_location(store, tmp_path):
    loc = str(tmp_path / "elsewhere")
    eid = store.create_experiment("located", artifact_location=loc)
    assert store.get_experiment(eid)["artifact_location"] == loc


def test_create_experiment_errors(store):
    with pytest.raises(errors.AlreadyExistsError, match='experiment "Default" already exists'):
        store.create_experiment("Default")
    with pytest.raises(errors.InvalidValueError):
        store.create_experiment("")
    with pytest.raises(errors.InvalidValueError, match="500"):
        store.create_experiment("x" * 501)
    with pytest.raises(TypeError):
        store.create_experiment(5)
    with pytest.raises(TypeError):
        store.create_experiment("e", tags={"k": 1})
    with pytest.raises(TypeError):
        store.create_experiment("e", tags=["k", "v"])


def test_get_experiment_errors(store):
    with pytest.raises(errors.NotFoundError, match='experiment "999" does not exist') as e:
        store.get_experiment("999")
    assert isinstance(e.value, LookupError)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(errors.InvalidValueError, match='invalid experiment id "abc"'):
        store.get_experiment("abc")
    with pytest.raises(TypeError):
        store.get_experiment(0)
    assert store.get_experiment_by_name("missing") is None


def test_experiment_id_for(store):
    eid = store.experiment_id_for("made-on-demand")
    assert store.experiment_id_for("made-on-demand") == eid
    assert store.get_experiment(eid)["name"] == "made-on-demand"
    store.delete_experiment(eid)
    with pytest.raises(errors.InvalidStateError, match="is deleted"):
        store.experiment_id_for("made-on-demand")


def test_list_rename_delete_restore(store):
    a = store.create_experiment("a")
    b = store.create_experiment("b")

    def names(view="active"):
        return sorted(e["name"] for e in store.list_experiments(view))

    assert names() == ["Default", "a", "b"]
    store.rename_experiment(a, "a2")
    assert store.get_experiment(a)["name"] == "a2"
    store.delete_experiment(b)
    assert store.get_experiment(b)["lifecycle_stage"] == "deleted"
    assert names() == ["Default", "a2"]
    assert names("deleted") == ["b"]
    assert names("DELETED_ONLY") == ["b"]
    assert names("all") == ["Default", "a2", "b"]
    store.restore_experiment(b)
    assert names() == ["Default", "a2", "b"]
    with pytest.raises(errors.InvalidValueError, match='invalid view type "bogus"'):
        store.list_experiments("bogus")
    with pytest.raises(errors.AlreadyExistsError):
        store.rename_experiment(a, "b")
    with pytest.raises(errors.NotFoundError):
        store.delete_experiment("4242")


def test_experiment_tags(store):
    eid = store.create_experiment("tagged")
    store.set_experiment_tag(eid, "k", "v1")
    store.set_experiment_tag(eid, "k", "v2")
    store.set_experiment_tag(eid, "long", "x" * 20000)
    assert store.get_experiment(eid)["tags"] == {"k": "v2", "long": "x" * 20000}
    store.delete_experiment_tag(eid, "k")
    assert "k" not in store.get_experiment(eid)["tags"]
    with pytest.raises(errors.NotFoundError):
        store.delete_experiment_tag(eid, "k")
    with pytest.raises(errors.InvalidValueError, match="20000"):
        store.set_experiment_tag(eid, "too-long", "x" * 20001)
    with pytest.raises(TypeError):
        store.set_experiment_tag(eid, "k", 1)


def test_search_experiments(store):
    for i in range(5):
        store.create_experiment(f"vision-{i}", tags={"team": "cv" if i % 2 else "nlp"})
    found, token = store.search_experiments(filter="tags.team = 'cv'", order_by=["name"])
    assert [e["name"] for e in found] == ["vision-1", "vision-3"]
    assert token is None
    names = []
    token = None
    while True:
        page, token = store.search_experiments(
            filter="name LIKE 'vision-%'", max_results=2, order_by=["name DESC"], page_token=token
        )
        assert len(page) <= 2
        names += [e["name"] for e in page]
        if token is None:
            break
        assert isinstance(token, str)
    assert names == [f"vision-{i}" for i in reversed(range(5))]
    deleted, _ = store.search_experiments(view="deleted")
    assert deleted == []


def test_search_experiments_errors(store):
    with pytest.raises(errors.InvalidFilterError, match="invalid filter") as e:
        store.search_experiments(filter="name ~ 'x'")
    assert isinstance(e.value, errors.InvalidValueError)
    assert isinstance(e.value, ValueError)
    with pytest.raises(errors.InvalidValueError, match='invalid max_results "0"'):
        store.search_experiments(max_results=0)
    with pytest.raises(errors.InvalidValueError, match='invalid max_results "-3"'):
        store.search_experiments(max_results=-3)
    with pytest.raises(errors.InvalidValueError, match="50000"):
        store.search_experiments(max_results=50001)
    with pytest.raises(errors.InvalidValueError, match="page token"):
        store.search_experiments(page_token="not-a-token")
    with pytest.raises(TypeError):
        store.search_experiments(order_by="name")


# ---------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------

RUN_INFO_KEYS = {
    "run_id",
    "experiment_id",
    "run_name",
    "user_id",
    "status",
    "start_time",
    "end_time",
    "lifecycle_stage",
    "artifact_uri",
}


def test_create_run_defaults(store):
    before = now_ms()
    info = store.create_run()
    assert set(info) == RUN_INFO_KEYS
    assert len(info["run_id"]) == 32 and int(info["run_id"], 16) >= 0
    assert info["experiment_id"] == "0"
    assert info["run_name"]
    assert info["status"] == "RUNNING"
    assert before <= info["start_time"] <= now_ms()
    assert info["end_time"] is None
    assert info["lifecycle_stage"] == "active"
    assert info["artifact_uri"].endswith(f"0/{info['run_id']}/artifacts")


def test_create_run_with_everything(store):
    eid = store.create_experiment("e")
    parent = store.create_run(eid)["run_id"]
    info = store.create_run(
        experiment_id=eid,
        run_name="named",
        tags={"t": "1"},
        start_time=NOW,
        user_id="alice",
        parent_run_id=parent,
    )
    assert info["experiment_id"] == eid
    assert info["run_name"] == "named"
    assert info["start_time"] == NOW
    assert info["user_id"] == "alice"
    run = store.get_run(info["run_id"])
    assert run["tags"]["t"] == "1"
    assert run["tags"]["mlflow.parentRunId"] == parent
    assert run["tags"]["mlflow.runName"] == "named"


def test_create_run_errors(store):
    with pytest.raises(errors.NotFoundError):
        store.create_run("12345")
    with pytest.raises(errors.InvalidValueError):
        store.create_run("x")
    with pytest.raises(errors.InvalidValueError, match="run name"):
        store.create_run(run_name="a", tags={"mlflow.runName": "b"})
    with pytest.raises(TypeError):
        store.create_run(start_time="yesterday")
    with pytest.raises(TypeError):
        store.create_run(tags={"k": None})


def test_get_run(store, run_id):
    run = store.get_run(run_id)
    assert set(run) == {"info", "params", "tags", "metrics", "inputs"}
    assert run["info"] == store.get_run_info(run_id)
    assert run["params"] == {}
    assert run["metrics"] == {}
    assert run["inputs"] == []
    with pytest.raises(errors.NotFoundError, match=f'run "{"0" * 32}" does not exist'):
        store.get_run("0" * 32)
    with pytest.raises(errors.NotFoundError):
        store.get_run_info("f" * 32)
    with pytest.raises(TypeError):
        store.get_run(None)


def test_update_and_end_run(store, run_id):
    info = store.update_run(run_id, run_name="renamed")
    assert info["run_name"] == "renamed" and info["status"] == "RUNNING"
    info = store.update_run(run_id, status="FAILED", end_time=NOW + 5)
    assert info["status"] == "FAILED"
    assert info["end_time"] == NOW + 5
    assert store.get_run_info(run_id) == info
    other = store.create_run()["run_id"]
    before = now_ms()
    info = store.end_run(other)
    assert info["status"] == "FINISHED"
    assert before <= info["end_time"] <= now_ms()
    assert store.end_run(store.create_run()["run_id"], "KILLED")["status"] == "KILLED"
    with pytest.raises(errors.InvalidValueError, match='invalid run status "DONE"'):
        store.update_run(run_id, status="DONE")
    with pytest.raises(errors.InvalidValueError):
        store.end_run(run_id, "nope")
    with pytest.raises(errors.NotFoundError):
        store.update_run("a" * 32, status="FINISHED")
    with pytest.raises(TypeError):
        store.update_run(run_id, end_time="later")


def test_delete_and_restore_run(store, run_id):
    store.delete_run(run_id)
    assert store.get_run_info(run_id)["lifecycle_stage"] == "deleted"
    with pytest.raises(errors.InvalidStateError):
        store.log_metric(run_id, "m", 1.0)
    with pytest.raises(errors.InvalidStateError):
        store.writer(run_id)
    store.restore_run(run_id)
    assert store.get_run_info(run_id)["lifecycle_stage"] == "active"
    store.log_metric(run_id, "m", 1.0)
    with pytest.raises(errors.NotFoundError):
        store.delete_run("b" * 32)


def test_search_runs(store):
    eid = store.create_experiment("search")
    ids = []
    for i in range(6):
        rid = store.create_run(eid, run_name=f"r{i}", start_time=NOW + i)["run_id"]
        store.log_param(rid, "optimizer", "adam" if i % 2 else "sgd")
        store.log_metric(rid, "acc", i / 10, NOW, 0)
        ids.append(rid)
    runs, token = store.search_runs(
        [eid], "params.optimizer = 'adam'", order_by=["metrics.acc DESC"]
    )
    assert [r["info"]["run_id"] for r in runs] == [ids[5], ids[3], ids[1]]
    assert token is None
    assert runs[0]["metrics"]["acc"]["value"] == 0.5
    assert runs[0]["params"] == {"optimizer": "adam"}
    # Default order: newest start time first; paging returns each run once.
    seen = []
    token = None
    while True:
        page, token = store.search_runs([eid], max_results=4, page_token=token)
        seen += [r["info"]["run_id"] for r in page]
        if token is None:
            break
    assert seen == list(reversed(ids))
    assert store.search_runs([], "") == ([], None)
    store.delete_run(ids[0])
    deleted, _ = store.search_runs([eid], view="deleted")
    assert [r["info"]["run_id"] for r in deleted] == [ids[0]]
    every, _ = store.search_runs([eid], view="all")
    assert len(every) == 6


def test_search_runs_errors(store):
    with pytest.raises(errors.InvalidFilterError) as e:
        store.search_runs(["0"], "metrics.x >>> 1")
    message = str(e.value)
    assert message.startswith('invalid filter "metrics.x >>> 1"')
    assert "at character" in message
    with pytest.raises(errors.InvalidFilterError):
        store.search_runs(["0"], "", order_by=["metrics.x SIDEWAYS"])
    with pytest.raises(errors.InvalidValueError):
        store.search_runs(["zero"])
    with pytest.raises(errors.InvalidValueError):
        store.search_runs(["0"], max_results=0)
    with pytest.raises(TypeError):
        store.search_runs("0")


# ---------------------------------------------------------------------------
# Params, tags, batches, inputs
# ---------------------------------------------------------------------------


def test_params(store, run_id):
    store.log_param(run_id, "lr", "0.1")
    store.log_param(run_id, "lr", "0.1")  # same value again: accepted
    store.log_param(run_id, "long", "p" * 6000)
    assert store.get_run(run_id)["params"] == {"lr": "0.1", "long": "p" * 6000}
    with pytest.raises(errors.ParamChangedError) as e:
        store.log_param(run_id, "lr", "0.2")
    assert str(e.value) == (
        f'param "lr" of run {run_id} already logged as "0.1", cannot change it to "0.2"'
    )
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert isinstance(e.value, ValueError)
    with pytest.raises(errors.InvalidValueError, match="6000"):
        store.log_param(run_id, "too-long", "p" * 6001)
    with pytest.raises(errors.InvalidValueError, match="invalid param key"):
        store.log_param(run_id, "../escape", "x")
    with pytest.raises(TypeError):
        store.log_param(run_id, "lr", 0.1)


def test_tags(store, run_id):
    store.set_tag(run_id, "k", "v")
    store.set_tag(run_id, "k", "w")
    store.set_tag(run_id, "unicode", "ünïcödé ✓")
    tags = store.get_run(run_id)["tags"]
    assert tags["k"] == "w" and tags["unicode"] == "ünïcödé ✓"
    store.delete_tag(run_id, "k")
    assert "k" not in store.get_run(run_id)["tags"]
    with pytest.raises(errors.NotFoundError, match='tag "k'):
        store.delete_tag(run_id, "k")
    with pytest.raises(errors.InvalidValueError, match="8000"):
        store.set_tag(run_id, "t", "x" * 8001)
    with pytest.raises(TypeError):
        store.set_tag(run_id, "k", None)


def test_log_batch(store, run_id):
    store.log_batch(
        run_id,
        metrics=[("loss", 0.5, NOW, 1), ("loss", 0.25, NOW + 1, 2), ("acc", 0.9, NOW, 0)],
        params=[("p", "1")],
        tags=[("t", "2")],
    )
    run = store.get_run(run_id)
    assert run["params"] == {"p": "1"}
    assert run["tags"]["t"] == "2"
    assert run["metrics"]["loss"] == {
        "value": 0.25,
        "timestamp": NOW + 1,
        "step": 2,
        "min": 0.25,
        "max": 0.5,
        "count": 2,
    }
    store.log_batch(run_id)  # empty: nothing to do
    store.log_batch(run_id, metrics=(("m", 1, NOW, 0),))  # int value, tuple of tuples
    store.log_batch(run_id, metrics=[["m", 2.0, NOW, 1]], tags=iter([("t", "3")]))
    assert store.metric_history(run_id, "m")[2].tolist() == [1.0, 2.0]
    assert store.get_run(run_id)["tags"]["t"] == "3"


def test_log_batch_errors(store, run_id):
    with pytest.raises(errors.InvalidValueError, match="at most 1000 metrics"):
        store.log_batch(run_id, metrics=[("m", 1.0, NOW, i) for i in range(1001)])
    with pytest.raises(errors.InvalidValueError, match="at most 100 params"):
        store.log_batch(run_id, params=[(f"p{i}", "v") for i in range(101)])
    # Validation happens before anything is written.
    with pytest.raises(errors.InvalidValueError):
        store.log_batch(run_id, metrics=[("ok", 1.0, NOW, 0), ("bad key!", 1.0, NOW, 0)])
    assert store.get_run(run_id)["metrics"] == {}
    store.log_param(run_id, "p", "1")
    with pytest.raises(errors.ParamChangedError):
        store.log_batch(run_id, params=[("p", "2")])
    with pytest.raises(TypeError, match=r"\(key: str, value: float, timestamp: int, step: int\)"):
        store.log_batch(run_id, metrics=[("m", 1.0, NOW)])
    with pytest.raises(TypeError):
        store.log_batch(run_id, params=[("p", "1", "extra")])
    with pytest.raises(TypeError):
        store.log_batch(run_id, tags=[("t", 2)])
    with pytest.raises(TypeError):
        store.log_batch(run_id, metrics=[("m", "high", NOW, 0)])
    with pytest.raises(TypeError):
        store.log_batch(run_id, metrics="m")
    with pytest.raises(TypeError):
        store.log_batch(run_id, params={"p": "1"})


def test_store_log_metric(store, run_id):
    before = now_ms()
    store.log_metric(run_id, "m", 1.5)
    store.log_metric(run_id, "m", 2.5, timestamp=NOW, step=7)
    steps, timestamps, values = store.metric_history(run_id, "m")
    assert steps.tolist() == [0, 7]
    assert before <= timestamps[0] <= now_ms()
    assert timestamps[1] == NOW
    assert values.tolist() == [1.5, 2.5]
    with pytest.raises(errors.InvalidValueError, match='invalid metric key "bad key!"'):
        store.log_metric(run_id, "bad key!", 1.0)
    with pytest.raises(errors.InvalidValueError):
        store.log_metric(run_id, "k" * 251, 1.0)
    with pytest.raises(errors.NotFoundError):
        store.log_metric("c" * 32, "m", 1.0)
    with pytest.raises(TypeError):
        store.log_metric(run_id, "m", "1.0")
    with pytest.raises(TypeError):
        store.log_metric(run_id, 3, 1.0)
    with pytest.raises(TypeError):
        store.log_metric(run_id, "m", 1.0, step=1.5)


def test_log_inputs(store, run_id):
    dataset = {
        "name": "iris",
        "digest": "abc123",
        "source_type": "local",
        "source": "/data/iris.csv",
        "schema": '{"cols": 4}',
        "profile": None,
    }
    store.log_inputs(run_id, [{"dataset": dataset, "tags": {"mlflow.data.context": "train"}}])
    store.log_inputs(run_id, [{"dataset": dataset, "tags": {"mlflow.data.context": "train"}}])
    inputs = store.get_run(run_id)["inputs"]
    assert inputs == [{"dataset": dataset, "tags": {"mlflow.data.context": "train"}}]
    minimal = {"name": "m", "digest": "d", "source_type": "s", "source": "src"}
    store.log_inputs(run_id, [{"dataset": minimal}])
    got = store.get_run(run_id)["inputs"][1]
    assert got["dataset"]["schema"] is None and got["tags"] == {}
    with pytest.raises(TypeError, match="digest"):
        store.log_inputs(run_id, [{"dataset": {"name": "x"}}])
    with pytest.raises(TypeError):
        store.log_inputs(run_id, [dataset])
    with pytest.raises(TypeError):
        store.log_inputs(run_id, "iris")


# ---------------------------------------------------------------------------
# Metric histories
# ---------------------------------------------------------------------------


def test_metric_history_columns(store, run_id):
    w = store.writer(run_id)
    for i in range(1000):
        w.log_metric("m", i * 0.5, step=i * 2, timestamp=NOW + i)
    w.close()
    steps, timestamps, values = store.metric_history(run_id, "m")
    assert steps.dtype == np.int64 and timestamps.dtype == np.int64
    assert values.dtype == np.float64
    assert steps.ndim == timestamps.ndim == values.ndim == 1
    np.testing.assert_array_equal(steps, np.arange(1000) * 2)
    np.testing.assert_array_equal(timestamps, NOW + np.arange(1000))
    np.testing.assert_array_equal(values, np.arange(1000) * 0.5)
    values[0] = 42.0  # the arrays belong to the caller
    assert store.metric_history(run_id, "m")[2][0] == 0.0


def test_metric_history_empty_and_missing(store, run_id):
    steps, timestamps, values = store.metric_history(run_id, "never-logged")
    assert len(steps) == len(timestamps) == len(values) == 0
    assert values.dtype == np.float64
    with pytest.raises(errors.NotFoundError):
        store.metric_history("d" * 32, "m")
    with pytest.raises(TypeError):
        store.metric_history(run_id, None)


def test_nan_and_infinities_round_trip(store, run_id):
    specials = [math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308]
    w = store.writer(run_id)
    for i, v in enumerate(specials):
        w.log_metric("special", v, step=i)
    w.log_metric_array("special-array", np.array(specials))
    store.log_metric(run_id, "special-store", math.nan)
    store.log_batch(run_id, metrics=[("special-batch", math.inf, NOW, 0)])
    w.flush()
    for key in ("special", "special-array"):
        values = store.metric_history(run_id, key)[2]
        assert math.isnan(values[0])
        assert values[1:].tolist() == specials[1:]
        assert math.copysign(1.0, values[3]) == -1.0
    assert math.isnan(store.metric_history(run_id, "special-store")[2][0])
    metrics = store.get_run(run_id)["metrics"]
    assert metrics["special-batch"]["value"] == math.inf
    assert metrics["special"]["max"] == math.inf
    assert metrics["special"]["min"] == -math.inf


# ---------------------------------------------------------------------------
# RunWriter
# ---------------------------------------------------------------------------


def test_writer_log_metric(store, run_id):
    w = store.writer(run_id)
    assert isinstance(w, _native.RunWriter)
    assert w.run_id == run_id
    assert run_id in repr(w)
    before = now_ms()
    w.log_metric("loss", 1.0)
    w.log_metric("loss", 0.5, step=3)
    w.log_metric("loss", 0.25, 4, NOW)
    w.log_metric("loss", 2, step=5, timestamp=NOW + 1)  # an int value
    w.log_metric("loss", np.float32(0.125), step=np.int64(6), timestamp=NOW + 2)
    key = "".join(["lo", "ss"])  # an equal key that is another object
    w.log_metric(key, 0.0625, step=7, timestamp=NOW + 3)
    w.flush()
    steps, timestamps, values = store.metric_history(run_id, "loss")
    assert steps.tolist() == [0, 3, 4, 5, 6, 7]
    assert before <= timestamps[0] <= timestamps[1] <= now_ms()
    assert timestamps[2:].tolist() == [NOW, NOW + 1, NOW + 2, NOW + 3]
    assert values.tolist() == [1.0, 0.5, 0.25, 2.0, 0.125, 0.0625]
    summary = store.get_run(run_id)["metrics"]["loss"]
    assert summary["count"] == 6 and summary["step"] == 7 and summary["value"] == 0.0625
    w.close()


def test_writer_many_keys(store, run_id):
    w = store.writer(run_id)
    keys = [f"metric-{i}" for i in range(200)]  # more keys than the writer remembers
    for step in range(3):
        for k in keys:
            w.log_metric(k, float(step), step=step)
    w.close()
    metrics = store.get_run(run_id)["metrics"]
    assert sorted(metrics) == sorted(keys)
    for k in keys:
        assert store.metric_history(run_id, k)[0].tolist() == [0, 1, 2]


def test_writer_log_metric_errors(store, run_id):
    w = store.writer(run_id)
    with pytest.raises(errors.InvalidValueError) as e:
        w.log_metric("bad key!", 1.0)
    assert str(e.value).startswith('invalid metric key "bad key!"')
    with pytest.raises(errors.InvalidValueError):
        w.log_metric("", 1.0)
    with pytest.raises(TypeError):
        w.log_metric(1, 1.0)
    with pytest.raises(TypeError):
        w.log_metric("m", "1.0")
    with pytest.raises(TypeError):
        w.log_metric("m", None)
    with pytest.raises(TypeError):
        w.log_metric("m", 1.0, step=1.5)
    with pytest.raises(TypeError):
        w.log_metric("m", 1.0, timestamp="now")
    with pytest.raises(OverflowError):
        w.log_metric("m", 1.0, step=2**64)
    w.close()
    assert store.get_run(run_id)["metrics"] == {}


def test_writer_log_metrics(store, run_id):
    w = store.writer(run_id)
    w.log_metrics({"a": 1.0, "b": 2}, step=1, timestamp=NOW)
    w.log_metrics({"a": 1.5, "c": 3.5}, step=2, timestamp=NOW + 1)
    w.log_metrics({})
    before = now_ms()
    w.log_metrics({"a": 4.0})
    w.flush()
    steps, timestamps, values = store.metric_history(run_id, "a")
    assert steps.tolist() == [1, 2, 0]
    assert timestamps[:2].tolist() == [NOW, NOW + 1]
    assert before <= timestamps[2] <= now_ms()
    assert values.tolist() == [1.0, 1.5, 4.0]
    assert store.metric_history(run_id, "b")[2].tolist() == [2.0]
    assert store.metric_history(run_id, "c")[0].tolist() == [2]
    w.close()


def test_writer_log_metrics_all_or_nothing(store, run_id):
    w = store.writer(run_id)
    with pytest.raises(errors.InvalidValueError, match="bad key!"):
        w.log_metrics({"fine": 1.0, "bad key!": 2.0})
    with pytest.raises(TypeError, match="must be str"):
        w.log_metrics({"fine": 1.0, 3: 2.0})
    with pytest.raises(TypeError, match="must be a number"):
        w.log_metrics({"fine": 1.0, "other": "x"})
    with pytest.raises(TypeError):
        w.log_metrics([("fine", 1.0)])
    w.flush()
    assert len(store.metric_history(run_id, "fine")[0]) == 0
    w.close()


@pytest.mark.parametrize(
    "dtype", [np.float64, np.float32, np.float16, np.int64, np.int32, np.uint8, np.bool_, ">f8"]
)
def test_writer_log_metric_array_dtypes(store, run_id, dtype):
    w = store.writer(run_id)
    values = np.array([0, 1, 2, 3, 1], dtype=dtype)
    before = now_ms()
    w.log_metric_array("m", values)
    w.close()
    steps, timestamps, got = store.metric_history(run_id, "m")
    assert steps.tolist() == [0, 1, 2, 3, 4]
    assert (timestamps >= before).all() and (timestamps <= now_ms()).all()
    np.testing.assert_array_equal(got, values.astype(np.float64))


def test_writer_log_metric_array_columns(store, run_id):
    w = store.writer(run_id)
    n = 10_000
    values = np.linspace(0.0, 1.0, n)
    steps = np.arange(n, dtype=np.int32) * 10
    timestamps = np.full(n, NOW, dtype=np.uint64)
    w.log_metric_array("full", values, steps, timestamps)
    w.log_metric_array("steps-only", values, steps=steps)
    w.log_metric_array("timestamps-only", values, timestamps=timestamps)
    w.log_metric_array("lists", [1.0, 2.0, 3.0], steps=[5, 6, 7], timestamps=[NOW] * 3)
    w.log_metric_array("strided", values[::2], steps=steps[::2])
    w.log_metric_array("empty", np.array([]))
    w.close()
    s, t, v = store.metric_history(run_id, "full")
    np.testing.assert_array_equal(s, steps)
    np.testing.assert_array_equal(t, timestamps.astype(np.int64))
    np.testing.assert_array_equal(v, values)
    s, t, v = store.metric_history(run_id, "steps-only")
    np.testing.assert_array_equal(s, steps)
    s, t, v = store.metric_history(run_id, "timestamps-only")
    np.testing.assert_array_equal(s, np.arange(n))
    assert (t == NOW).all()
    assert store.metric_history(run_id, "lists")[0].tolist() == [5, 6, 7]
    s, t, v = store.metric_history(run_id, "strided")
    np.testing.assert_array_equal(v, values[::2])
    np.testing.assert_array_equal(s, steps[::2])
    assert len(store.metric_history(run_id, "empty")[0]) == 0


def test_writer_log_metric_array_errors(store, run_id):
    w = store.writer(run_id)
    values = np.ones(4)
    with pytest.raises(errors.InvalidValueError, match="same length"):
        w.log_metric_array("m", values, steps=np.arange(3))
    with pytest.raises(errors.InvalidValueError, match="same length"):
        w.log_metric_array("m", values, timestamps=np.arange(5))
    with pytest.raises(errors.InvalidValueError, match="one-dimensional"):
        w.log_metric_array("m", np.ones((2, 2)))
    with pytest.raises(TypeError, match="integers"):
        w.log_metric_array("m", values, steps=np.arange(4, dtype=np.float64))
    with pytest.raises(TypeError, match="numbers"):
        w.log_metric_array("m", np.array(["a", "b"]))
    with pytest.raises(TypeError):
        w.log_metric_array("m", [1.0, None])
    with pytest.raises(TypeError):
        w.log_metric_array("m", np.ones(2, dtype=np.complex128))
    with pytest.raises(errors.InvalidValueError, match="larger than"):
        w.log_metric_array("m", np.ones(1), steps=np.array([2**63], dtype=np.uint64))
    with pytest.raises(errors.InvalidValueError, match="larger than"):
        w.log_metric_array("m", np.ones(1), timestamps=[2**63])
    with pytest.raises(errors.InvalidValueError, match="invalid metric key"):
        w.log_metric_array("bad key!", values)
    with pytest.raises(TypeError):
        w.log_metric_array(7, values)
    w.close()
    assert store.get_run(run_id)["metrics"] == {}


def test_writer_flush_publishes_summaries(store, run_id):
    w = store.writer(run_id)
    w.log_metric("m", 1.0, step=1)
    w.flush()
    other = _native.Store(store.path)  # another handle sees the flushed summary
    assert other.get_run(run_id)["metrics"]["m"]["count"] == 1
    w.close()


def test_writer_close(store, run_id):
    w = store.writer(run_id)
    w.log_metric("m", 1.0)
    w.close()
    w.close()  # closing again does nothing
    w.flush()  # nothing left to flush
    with pytest.raises(errors.InvalidStateError, match="is closed"):
        w.log_metric("m", 2.0)
    with pytest.raises(errors.InvalidStateError, match="is closed"):
        w.log_metrics({"m": 2.0})
    with pytest.raises(errors.InvalidStateError, match="is closed"):
        w.log_metric_array("m", np.ones(3))
    with pytest.raises(errors.InvalidStateError):
        w.log_metric("new-key", 2.0)
    assert store.metric_history(run_id, "m")[2].tolist() == [1.0]


def test_writer_dropped_without_close(store, run_id):
    w = store.writer(run_id)
    w.log_metric_array("m", np.arange(300.0))
    del w
    gc.collect()
    assert store.get_run(run_id)["metrics"]["m"]["count"] == 300
    assert store.check()["problems"] == []


def test_writer_errors(store, run_id):
    with pytest.raises(errors.NotFoundError):
        store.writer("e" * 32)
    with pytest.raises(errors.InvalidValueError, match="invalid run id"):
        store.writer("../etc")
    with pytest.raises(TypeError):
        store.writer(123)
    w = store.writer(run_id)
    w.log_metric("m", 1.0)
    store.delete_run(run_id)
    with pytest.raises(errors.InvalidStateError):
        # A deleted run takes no new block; logging to the open one may go
        # on until it is full.
        w.log_metric_array("m", np.ones(100_000))
    w.close()


def test_ended_run_keeps_points(store, run_id):
    w = store.writer(run_id)
    w.log_metric_array("m", np.arange(5000.0))
    w.close()
    store.end_run(run_id)
    assert store.get_run(run_id)["metrics"]["m"]["count"] == 5000


# ---------------------------------------------------------------------------
# Artifacts
# ---------------------------------------------------------------------------


def test_artifacts(store, run_id, tmp_path):
    adir = store.artifact_dir(run_id)
    assert isinstance(adir, str)
    assert adir.endswith(f"0/{run_id}/artifacts")

    local = tmp_path / "model.txt"
    local.write_text("weights")
    store.log_artifact(run_id, str(local))
    store.log_artifact(run_id, local, "models")  # a path object works too
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "sub" / "b.txt").write_text("bb")
    store.log_artifacts(run_id, str(tree), "tree")
    store.log_artifact_bytes(run_id, "eval/metrics.json", b'{"acc": 1}')
    store.log_artifact_bytes(run_id, "raw.bin", bytearray(b"\x00\x01"))

    top = store.list_artifacts(run_id)
    assert top == sorted(top, key=lambda f: f["path"])
    by_path = {f["path"]: f for f in top}
    assert by_path["model.txt"] == {"path": "model.txt", "is_dir": False, "file_size": 7}
    assert by_path["models"] == {"path": "models", "is_dir": True, "file_size": None}
    assert set(by_path) == {"model.txt", "models", "tree", "eval", "raw.bin"}
    assert [f["path"] for f in store.list_artifacts(run_id, "tree")] == ["tree/a.txt", "tree/sub"]
    assert store.list_artifacts(run_id, "missing") == []

    assert store.read_artifact(run_id, "models/model.txt") == b"weights"
    assert store.read_artifact(run_id, "tree/sub/b.txt") == b"bb"
    assert store.read_artifact(run_id, "eval/metrics.json") == b'{"acc": 1}'
    assert store.read_artifact(run_id, "raw.bin") == b"\x00\x01"
    assert os.path.isfile(os.path.join(adir, "model.txt"))

    dest = tmp_path / "download"
    got = store.download_artifacts(run_id, "tree/sub/b.txt", str(dest))
    assert isinstance(got, str)
    assert got == str(dest / "tree" / "sub" / "b.txt")
    assert open(got, "rb").read() == b"bb"
    everything = store.download_artifacts(run_id, None, str(tmp_path / "all"))
    assert os.path.isfile(os.path.join(everything, "eval", "metrics.json"))


def test_artifact_errors(store, run_id, tmp_path):
    with pytest.raises(errors.NotFoundError, match='artifact "nope.txt'):
        store.read_artifact(run_id, "nope.txt")
    with pytest.raises(errors.StoreIOError) as e:
        store.log_artifact(run_id, str(tmp_path / "missing.txt"))
    assert isinstance(e.value, OSError)
    assert "missing.txt" in str(e.value)
    with pytest.raises(errors.InvalidValueError):
        store.log_artifact_bytes(run_id, "../escape.txt", b"x")
    with pytest.raises(errors.NotFoundError):
        store.artifact_dir("f" * 32)
    with pytest.raises(TypeError):
        store.log_artifact_bytes(run_id, "a.txt", "text, not bytes")
    with pytest.raises(TypeError):
        store.log_artifact(run_id, 3)


# ---------------------------------------------------------------------------
# Maintenance
# ---------------------------------------------------------------------------


def test_flush_and_check(store, run_id):
    w = store.writer(run_id)
    w.log_metric_array("m", np.arange(1000.0))
    store.flush()
    assert store.get_run(run_id)["metrics"]["m"]["count"] == 1000
    report = store.check()
    assert report["problems"] == []
    assert report["points"] == 1000
    assert {"series", "blocks", "points", "problems", "notes", "repaired"} <= set(report)
    assert store.check(repair=True)["problems"] == []
    w.close()
    with pytest.raises(TypeError):
        store.check(repair="yes")


def test_gc(store, run_id):
    keep = store.create_run()["run_id"]
    store.log_artifact_bytes(run_id, "a.txt", b"x")
    store.log_metric(run_id, "m", 1.0)
    store.delete_run(run_id)
    report = store.gc([run_id])
    assert report["removed_runs"] == [run_id]
    assert isinstance(report["pages_released"], int)
    with pytest.raises(errors.NotFoundError):
        store.get_run(run_id)
    assert store.get_run(keep)["info"]["run_id"] == keep
    assert store.gc()["removed_runs"] == []
    with pytest.raises(TypeError):
        store.gc("abc")


def test_compact(store, run_id):
    w = store.writer(run_id)
    w.log_metric_array("m", np.sin(np.arange(20_000.0)))
    w.close()
    store.end_run(run_id)
    report = store.compact()
    assert report["series"] == 1 and report["points"] == 20_000
    assert report["skipped"] == []
    np.testing.assert_array_equal(store.metric_history(run_id, "m")[2], np.sin(np.arange(20_000.0)))
    assert store.check()["problems"] == []
