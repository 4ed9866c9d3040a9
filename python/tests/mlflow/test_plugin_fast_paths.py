"""The plugin's native fast paths: batches of MLflow entities read without
a Python call per field, and history pages built as ``Metric`` objects
natively. Each must give what the Python path gives, and hand every case
it does not take to that path."""

from __future__ import annotations

import gc
import math

import numpy as np
import pytest

mlflow = pytest.importorskip("mlflow")

from mlflow.entities import Metric, Param, RunTag  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402

from tracklite import _native  # noqa: E402


def _history(client, run_id: str, key: str) -> list[tuple[int, int, float]]:
    return [(m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, key)]


def test_plain_batches_are_logged_natively(client, store) -> None:
    run_id = client.create_run("0").info.run_id
    metrics = [Metric("loss", 1.0 / (i + 1), 1000 + i, i) for i in range(5)]
    metrics.append(Metric("acc", 7, 2000, 3))  # an int value is a plain number
    metrics.append(Metric("nan", math.nan, 2001, 0))
    assert store._native.log_batch_entities(
        run_id, metrics, [Param("lr", "0.1")], [RunTag("t", "v")]
    )
    run = client.get_run(run_id)
    assert run.data.params == {"lr": "0.1"}
    assert run.data.tags["t"] == "v"
    assert _history(client, run_id, "loss") == [(i, 1000 + i, 1.0 / (i + 1)) for i in range(5)]
    assert _history(client, run_id, "acc") == [(3, 2000, 7.0)]
    assert math.isnan(client.get_metric_history(run_id, "nan")[0].value)


class _Subclassed(Metric):
    """A metric class whose value property computes its result."""

    @property
    def value(self) -> float:
        return 2 * self._value


@pytest.mark.parametrize(
    ("metrics", "params", "tags"),
    [
        ([Metric("m", np.float32(0.5), 1, 0)], [], []),  # a numpy value
        ([Metric("m", True, 1, 0)], [], []),  # a bool
        ([Metric("m", 0.5, 1.0, 0)], [], []),  # a float timestamp
        ([Metric("m", 0.5, 1, np.int64(2))], [], []),  # a numpy step
        ([Metric("m", 0.5, 1, 0, model_id="m-1")], [], []),  # a model's metric
        ([], [Param("p", 3)], []),  # a param value that is not a str
        ([], [("p", "v")], []),  # a tuple, not an entity
        ((m for m in [Metric("m", 0.5, 1, 0)]), [], []),  # not a list
    ],
)
def test_other_entities_are_left_to_the_python_path(store, client, metrics, params, tags) -> None:
    run_id = client.create_run("0").info.run_id
    assert not store._native.log_batch_entities(run_id, metrics, params, tags)
    run = client.get_run(run_id)
    assert run.data.metrics == {} and run.data.params == {}


def test_the_python_path_converts_what_the_fast_path_leaves(client) -> None:
    run_id = client.create_run("0").info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric("m", np.float32(0.5), 1, 0), Metric("m", 0.25, 2.0, np.int64(1))],
        params=[Param("p", 3)],
        synchronous=True,
    )
    assert _history(client, run_id, "m") == [(0, 1, 0.5), (1, 2, 0.25)]
    assert client.get_run(run_id).data.params == {"p": "3"}


def test_a_subclass_is_read_through_its_properties(client, store) -> None:
    run_id = client.create_run("0").info.run_id
    assert store._native.log_batch_entities(run_id, [_Subclassed("m", 0.5, 1, 0)], [], [])
    assert _history(client, run_id, "m") == [(0, 1, 1.0)]


def test_bad_entities_raise_mlflow_errors(client) -> None:
    run_id = client.create_run("0").info.run_id
    with pytest.raises(MlflowException, match="must be a number") as info:
        client.log_batch(run_id, metrics=[Metric("m", "x", 1, 0)], synchronous=True)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException, match="invalid metric key") as info:
        client.log_batch(run_id, metrics=[Metric("../up", 1.0, 1, 0)], synchronous=True)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run_id).data.metrics == {}


def test_metric_objects_equal_what_the_class_makes() -> None:
    steps = np.array([0, 5, -3], dtype=np.int64)
    stamps = np.array([10, 20, 2**40], dtype=np.int64)
    values = np.array([0.5, math.inf, -0.0])
    made = _native.metric_objects(Metric, "loss", steps, stamps, values)
    expected = [Metric("loss", v, t, s) for s, t, v in zip([0, 5, -3], [10, 20, 2**40], values)]
    assert [m.to_dictionary() for m in made] == [m.to_dictionary() for m in expected]
    assert all(type(m) is Metric and vars(m) == vars(e) for m, e in zip(made, expected))
    assert type(made[0].step) is int and type(made[0].value) is float
    # Plain values, no reference cycle: the collector need not follow them.
    assert not any(gc.is_tracked(m) for m in made)
    made[0]._value = 1.5  # each object has attributes of its own
    assert made[1].value == math.inf


class _Slotted:
    __slots__ = ("key", "value", "timestamp", "step")

    def __init__(self, key: str, value: float, timestamp: int, step: int) -> None:
        self.key, self.value, self.timestamp, self.step = key, value, timestamp, step


class _OwnNew(Metric):
    made = 0

    def __new__(cls, *args: object, **kwargs: object) -> _OwnNew:
        cls.made += 1
        return super().__new__(cls)


@pytest.mark.parametrize("cls", [_Slotted, _OwnNew])
def test_metric_objects_call_classes_they_cannot_copy(cls) -> None:
    made = _native.metric_objects(
        cls, "k", np.array([1, 2]), np.array([3, 4]), np.array([0.5, 0.25])
    )
    assert [(m.key, m.value, m.timestamp, m.step) for m in made] == [
        ("k", 0.5, 3, 1),
        ("k", 0.25, 4, 2),
    ]
    assert all(type(m) is cls for m in made)
    if cls is _OwnNew:
        assert cls.made >= 2


def test_metric_objects_refuse_columns_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="2 steps, 1 timestamps, 2 values"):
        _native.metric_objects(Metric, "k", np.array([1, 2]), np.array([3]), np.array([0.5, 0.25]))


def test_paged_walk_reads_a_snapshot(client, store) -> None:
    run_id = client.create_run("0").info.run_id
    client.log_batch(run_id, [Metric("m", float(i), i, i) for i in range(10)], synchronous=True)
    first = store.get_metric_history(run_id, "m", max_results=4)
    client.log_metric(run_id, "m", 99.0, 99, 99)  # logged during the walk
    rest, token = [], first.token
    while token:
        page = store.get_metric_history(run_id, "m", max_results=4, page_token=token)
        rest += page
        token = page.token
    assert [m.step for m in [*first, *rest]] == list(range(10))
    # A new walk sees the point logged since.
    assert [m.step for m in store.get_metric_history(run_id, "m")][-1] == 99
