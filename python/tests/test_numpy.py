"""numpy in and out: log_metric_array and metric_history."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tracklite


@pytest.fixture
def run(store):
    with store.start_run(experiment="arrays") as run:
        yield run


def history(run, key):
    return run.store.metric_history(run.run_id, key)


def test_history_dtypes_and_lengths(run):
    values = np.linspace(0.0, 1.0, 1000)
    run.log_metric_array("loss", values)
    h = history(run, "loss")
    assert isinstance(h, tracklite.MetricHistory)
    assert h.steps.dtype == np.int64 and h.timestamps.dtype == np.int64
    assert h.values.dtype == np.float64
    assert len(h.steps) == len(h.timestamps) == len(h.values) == 1000
    np.testing.assert_array_equal(h.values, values)
    np.testing.assert_array_equal(h.steps, np.arange(1000))  # steps default to 0..n-1
    assert (h.timestamps > 1_600_000_000_000).all()
    steps, timestamps, vals = h  # unpacks as a tuple
    assert vals is h.values


def test_explicit_steps_and_timestamps_of_any_integer_dtype(run):
    values = np.array([0.5, 0.25, 0.125], dtype=np.float32)
    steps = np.array([10, 20, 30], dtype=np.int32)
    timestamps = np.array(
        [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002], dtype=np.uint64
    )
    run.log_metric_array("lr", values, steps=steps, timestamps=timestamps)
    h = history(run, "lr")
    np.testing.assert_array_equal(h.steps, [10, 20, 30])
    np.testing.assert_array_equal(h.timestamps, timestamps.astype(np.int64))
    np.testing.assert_array_equal(h.values, values.astype(np.float64))


def test_lists_ints_and_strided_views(run):
    run.log_metric_array("from_list", [1, 2, 3], steps=[0, 1, 2])
    big = np.arange(20, dtype=np.float64)
    run.log_metric_array("strided", big[::4], steps=np.arange(10)[::2])
    np.testing.assert_array_equal(history(run, "from_list").values, [1.0, 2.0, 3.0])
    h = history(run, "strided")
    np.testing.assert_array_equal(h.values, [0.0, 4.0, 8.0, 12.0, 16.0])
    np.testing.assert_array_equal(h.steps, [0, 2, 4, 6, 8])


def test_nan_and_infinities_are_kept(run):
    run.log_metric_array("odd", np.array([np.nan, np.inf, -np.inf, 0.0]))
    v = history(run, "odd").values
    assert math.isnan(v[0]) and v[1] == np.inf and v[2] == -np.inf and v[3] == 0.0


def test_order_is_as_logged_across_calls(run):
    run.log_metric("mixed", 1.0, step=5)
    run.log_metric_array("mixed", [2.0, 3.0], steps=[1, 2])
    run.log_metrics({"mixed": 4.0}, step=0)
    h = history(run, "mixed")
    np.testing.assert_array_equal(h.steps, [5, 1, 2, 0])
    np.testing.assert_array_equal(h.values, [1.0, 2.0, 3.0, 4.0])
    latest = run.fetch().data.metrics["mixed"]
    assert latest == 1.0  # the latest point is the one with the largest step


def test_a_long_history(run):
    n = 200_000
    run.log_metric_array("long", np.random.default_rng(0).random(n))
    h = history(run, "long")
    assert len(h.values) == n and h.steps[-1] == n - 1


def test_unknown_key_has_an_empty_history(run):
    h = history(run, "never-logged")
    assert len(h.steps) == len(h.timestamps) == len(h.values) == 0
    assert h.values.dtype == np.float64


def test_history_matches_fluent_and_client_logging(fresh_tracking):
    with tracklite.start_run() as active:
        for step in range(50):
            tracklite.log_metric("acc", step / 50, step=step)
    client = tracklite.MlflowClient()
    h = client.store.metric_history(active.info.run_id, "acc")
    np.testing.assert_array_equal(h.steps, np.arange(50))
    points = client.get_metric_history(active.info.run_id, "acc")
    assert [p.value for p in points] == h.values.tolist()
    assert [p.timestamp for p in points] == h.timestamps.tolist()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"values": np.ones((2, 2))}, tracklite.InvalidValueError),
        ({"values": [1.0, 2.0], "steps": [1]}, tracklite.InvalidValueError),
        ({"values": [1.0, 2.0], "timestamps": [1, 2, 3]}, tracklite.InvalidValueError),
        ({"values": [1.0, 2.0], "steps": [1.0, 2.0]}, TypeError),
        ({"values": ["a", "b"]}, TypeError),
        (
            {"values": [1.0], "steps": np.array([2**63], dtype=np.uint64)},
            tracklite.InvalidValueError,
        ),
    ],
)
def test_bad_arrays_are_refused_and_nothing_is_written(run, kwargs, error):
    with pytest.raises(error):
        run.log_metric_array("bad", **kwargs)
    assert len(history(run, "bad").values) == 0


def test_empty_array_is_a_no_op(run):
    run.log_metric_array("empty", np.array([], dtype=np.float64))
    assert len(history(run, "empty").values) == 0
