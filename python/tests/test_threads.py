"""Several Python threads logging at once: through one RunWriter, through
writers of separate runs, and through the Store itself. Every point is
present exactly once afterwards."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tracklite import _native

THREADS = 8
POINTS = 20_000  # per thread: several blocks each
NOW = 1_700_000_000_000


@pytest.fixture
def store(tmp_path):
    return _native.Store(str(tmp_path / "native-store"))


def run_threads(target) -> None:
    """Runs target(i) in THREADS threads started together; re-raises the
    first failure."""
    barrier = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def body(i: int) -> None:
        try:
            barrier.wait()
            target(i)
        except BaseException as e:  # reported below, in the main thread
            failures.append(e)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]


def assert_exactly_once(store, run_id, key, expected_steps) -> None:
    steps, timestamps, values = store.metric_history(run_id, key)
    assert len(steps) == len(expected_steps)
    assert sorted(steps.tolist()) == sorted(expected_steps)
    # Each point kept its own value and timestamp.
    np.testing.assert_array_equal(values, steps * 0.5)
    np.testing.assert_array_equal(timestamps, NOW + steps)


def test_one_writer_one_key(store):
    run_id = store.create_run()["run_id"]
    writer = store.writer(run_id)

    def log(i: int) -> None:
        for j in range(POINTS):
            step = i * POINTS + j
            writer.log_metric("shared", step * 0.5, step=step, timestamp=NOW + step)

    run_threads(log)
    writer.close()
    assert_exactly_once(store, run_id, "shared", range(THREADS * POINTS))
    assert store.get_run(run_id)["metrics"]["shared"]["count"] == THREADS * POINTS
    assert store.check()["problems"] == []


def test_one_writer_key_per_thread(store):
    run_id = store.create_run()["run_id"]
    writer = store.writer(run_id)

    def log(i: int) -> None:
        key = f"thread-{i}"
        for step in range(POINTS // 2):
            writer.log_metric(key, step * 0.5, step=step, timestamp=NOW + step)
        half = np.arange(POINTS // 2, POINTS)
        writer.log_metric_array(key, half * 0.5, steps=half, timestamps=NOW + half)
        writer.log_metrics({f"{key}-dict": 1.0, "all": float(i)}, step=i)

    run_threads(log)
    writer.close()
    for i in range(THREADS):
        assert_exactly_once(store, run_id, f"thread-{i}", range(POINTS))
        assert store.metric_history(run_id, f"thread-{i}-dict")[0].tolist() == [i]
    steps, _, values = store.metric_history(run_id, "all")
    assert sorted(steps.tolist()) == list(range(THREADS))
    np.testing.assert_array_equal(values, steps.astype(float))
    assert store.check()["problems"] == []


def test_writers_of_separate_runs(store):
    run_ids = [store.create_run()["run_id"] for _ in range(THREADS)]

    def log(i: int) -> None:
        writer = store.writer(run_ids[i])
        for step in range(POINTS):
            writer.log_metric("loss", step * 0.5, step=step, timestamp=NOW + step)
        writer.close()

    run_threads(log)
    for run_id in run_ids:
        assert_exactly_once(store, run_id, "loss", range(POINTS))
        assert store.get_run(run_id)["metrics"]["loss"]["count"] == POINTS
    assert store.check()["problems"] == []


def test_store_methods_from_threads(store):
    run_ids = [store.create_run()["run_id"] for _ in range(2)]
    n = 1000

    def log(i: int) -> None:
        run_id = run_ids[i % 2]
        for j in range(n):
            step = i * n + j
            store.log_metric(run_id, "m", step * 0.5, NOW + step, step)
        store.log_param(run_id, f"p{i}", str(i))
        store.set_tag(run_id, f"t{i}", str(i))
        store.get_run(run_id)

    run_threads(log)
    store.flush()
    for k, run_id in enumerate(run_ids):
        mine = [i for i in range(THREADS) if i % 2 == k]
        expected = [i * n + j for i in mine for j in range(n)]
        assert_exactly_once(store, run_id, "m", expected)
        run = store.get_run(run_id)
        assert run["params"] == {f"p{i}": str(i) for i in mine}
    assert store.check()["problems"] == []


def test_close_while_logging(store):
    """Closing a writer that other threads use: each call either lands
    or raises InvalidStateError, nothing else."""
    from tracklite.errors import InvalidStateError

    run_id = store.create_run()["run_id"]
    writer = store.writer(run_id)
    landed = [0] * THREADS

    def log(i: int) -> None:
        if i == 0:
            writer.log_metric("m", 0.0, step=0, timestamp=NOW)
            landed[0] = 1
            writer.close()
            return
        for j in range(POINTS):
            step = i * POINTS + j
            try:
                writer.log_metric("m", step * 0.5, step=step, timestamp=NOW + step)
            except InvalidStateError:
                break
            landed[i] += 1

    run_threads(log)
    steps = store.metric_history(run_id, "m")[0]
    assert len(steps) == sum(landed)
    assert len(set(steps.tolist())) == len(steps)
