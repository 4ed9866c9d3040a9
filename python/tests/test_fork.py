"""Forked children (a multiprocessing Pool with the 'fork' start method,
as PyTorch DataLoader workers are) log through a Store, and a RunWriter,
opened in the parent. The child reopens its own handles and claims its own
blocks; every point of every process is present afterwards."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys

import numpy as np
import pytest

from tracklite import _native

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or "fork" not in multiprocessing.get_all_start_methods(),
    reason="needs os.fork",
)

WORKERS = 4
TASKS = 8
POINTS = 5_000  # per task: several blocks
NOW = 1_700_000_000_000

# Set in the parent before the pool forks; the children inherit them.
STORE: _native.Store | None = None
RUN_ID = ""
WRITER: _native.RunWriter | None = None


def steps_of(task: int) -> np.ndarray:
    return np.arange(task * POINTS, (task + 1) * POINTS)


def log_through_store(task: int) -> int:
    """A child logs with the parent's Store: one call per point, a writer
    of its own, and a batch."""
    assert STORE is not None
    steps = steps_of(task)
    half = POINTS // 2
    for s in steps[:half]:
        STORE.log_metric(RUN_ID, "store", float(s) * 0.5, NOW + int(s), int(s))
    writer = STORE.writer(RUN_ID)
    for s in steps[half:]:
        writer.log_metric("store", float(s) * 0.5, step=int(s), timestamp=NOW + int(s))
    writer.log_metric_array("array", steps * 0.5, steps=steps, timestamps=NOW + steps)
    writer.close()
    STORE.log_batch(RUN_ID, metrics=[("batch", float(task), NOW, task)])
    STORE.set_tag(RUN_ID, f"child-{task}", str(os.getpid()))
    return os.getpid()


def log_through_parent_writer(task: int) -> int:
    """A child logs with a RunWriter the parent made and used: the blocks
    the parent holds are dropped in the child, and new ones claimed."""
    assert WRITER is not None
    for s in steps_of(task):
        WRITER.log_metric("writer", float(s) * 0.5, step=int(s), timestamp=NOW + int(s))
    WRITER.flush()
    return os.getpid()


def assert_every_point(store, key: str, expected_steps) -> None:
    steps, timestamps, values = store.metric_history(RUN_ID, key)
    assert sorted(steps.tolist()) == sorted(expected_steps)  # each exactly once
    np.testing.assert_array_equal(values, steps * 0.5)
    np.testing.assert_array_equal(timestamps, NOW + steps)


@pytest.fixture
def shared(tmp_path, monkeypatch):
    """A store and run in module globals, for children to inherit."""
    store = _native.Store(str(tmp_path / "native-store"))
    run_id = store.create_run()["run_id"]
    monkeypatch.setattr(sys.modules[__name__], "STORE", store)
    monkeypatch.setattr(sys.modules[__name__], "RUN_ID", run_id)
    return store


def test_children_log_through_parent_store(shared):
    store = shared
    # The parent has logged, and holds open blocks, before forking.
    store.log_metric(RUN_ID, "store", -0.5, NOW - 1, -1)
    store.get_run(RUN_ID)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(WORKERS) as pool:
        pids = pool.map(log_through_store, range(TASKS))
    assert os.getpid() not in pids
    # The parent keeps logging through its own handles afterwards.
    store.log_metric(RUN_ID, "store", -1.0, NOW - 2, -2)
    store.flush()

    assert_every_point(store, "store", [-2, -1, *range(TASKS * POINTS)])
    assert_every_point(store, "array", range(TASKS * POINTS))
    run = store.get_run(RUN_ID)
    assert run["metrics"]["store"]["count"] == TASKS * POINTS + 2
    assert run["metrics"]["array"]["count"] == TASKS * POINTS
    assert run["metrics"]["batch"]["count"] == TASKS
    assert sorted(k for k in run["tags"] if k.startswith("child-")) == sorted(
        f"child-{t}" for t in range(TASKS)
    )
    assert store.check()["problems"] == []


def test_children_log_through_parent_writer(shared, monkeypatch):
    store = shared
    writer = store.writer(RUN_ID)
    writer.log_metric("writer", -0.5, step=-1, timestamp=NOW - 1)
    monkeypatch.setattr(sys.modules[__name__], "WRITER", writer)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(WORKERS) as pool:
        pool.map(log_through_parent_writer, range(TASKS))
    # The parent's writer still works, in the parent's own blocks.
    writer.log_metric("writer", -1.0, step=-2, timestamp=NOW - 2)
    writer.close()

    assert_every_point(store, "writer", [-2, -1, *range(TASKS * POINTS)])
    assert store.get_run(RUN_ID)["metrics"]["writer"]["count"] == TASKS * POINTS + 2
    report = store.check()
    assert report["problems"] == []
    assert report["points"] == TASKS * POINTS + 2


def test_fork_then_reopen_in_child(shared):
    """A child that opens the store again by path sees the parent's data."""
    store = shared
    store.log_metric(RUN_ID, "before", 1.0, NOW, 0)
    store.flush()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        counts = pool.map(_count_in_reopened_store, [store.path])
    assert counts == [1]


def _count_in_reopened_store(path: str) -> int:
    return _native.Store(path).get_run(RUN_ID)["metrics"]["before"]["count"]


FORKS = 100
#: Seconds a forked child may take before its alarm ends it: far more than
#: its work needs, so only a deadlock reaches it.
CHILD_DEADLINE_S = 20


def test_forking_while_a_thread_uses_the_store_never_deadlocks(shared):
    """os.fork while another thread is inside the store (the GIL released
    around every store call): each child must be able to use the store at
    once. A child that inherited a held lock would hang; its alarm ends it
    and the test fails with its wait status."""
    import threading

    store = shared
    stop = threading.Event()
    done = []

    def hammer() -> None:
        i = 0
        while not stop.is_set():
            store.log_metric(RUN_ID, "loss", 1.0 / (i + 1), NOW + i, i)
            store.set_tag(RUN_ID, "i", str(i))
            other = store.create_run()["run_id"]
            store.log_batch(other, metrics=[("x", 1.0, NOW, i)])
            store.get_run(RUN_ID)
            i += 1
        done.append(i)

    thread = threading.Thread(target=hammer)
    thread.start()
    failures = []
    try:
        for n in range(FORKS):
            pid = os.fork()
            if pid == 0:  # the child: use the store, then leave at once
                code = 3
                try:
                    signal.alarm(CHILD_DEADLINE_S)
                    store.log_metric(RUN_ID, "child", float(n), NOW, n)
                    store.get_run(RUN_ID)
                    code = 0
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                failures.append((n, os.waitstatus_to_exitcode(status)))
                if len(failures) == 3:  # each hang costs its whole deadline
                    break
    finally:
        stop.set()
        thread.join()
    assert done and done[0] > 0
    assert failures == [], f"children hung or failed (fork, exit code): {failures}"
    steps, _, _ = store.metric_history(RUN_ID, "child")
    assert sorted(steps.tolist()) == list(range(FORKS))
