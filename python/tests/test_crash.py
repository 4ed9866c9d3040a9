"""A process logging through a RunWriter is killed with SIGKILL: every
point it had acknowledged (a logging call had returned) survives, and the
store opens and checks clean afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from tracklite import _native

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

NOW = 1_700_000_000_000

# The child prints the run id, then "<kind> <step>" after each call
# returns; arrays are 1000 points per call. Each line is one write(2) of
# less than PIPE_BUF bytes, so a kill never leaves half a line.
CHILD = textwrap.dedent(
    """
    import os
    import sys
    import numpy as np
    from tracklite import _native

    def ack(line):
        os.write(1, (line + "\\n").encode())

    store = _native.Store(sys.argv[1])
    run_id = store.create_run()["run_id"]
    writer = store.writer(run_id)
    ack(run_id)
    NOW = 1_700_000_000_000
    step = 0
    while True:
        writer.log_metric("loss", step * 0.5, step=step, timestamp=NOW + step)
        writer.log_metrics({"a": step * 0.5, "b": step * 0.5}, step=step, timestamp=NOW + step)
        ack(f"point {step}")
        if step % 50 == 0:
            steps = np.arange(step * 1000, (step + 1) * 1000)
            writer.log_metric_array("array", steps * 0.5, steps=steps, timestamps=NOW + steps)
            ack(f"array {step}")
        step += 1
    """
)


def parse(line: str) -> tuple[str, str]:
    fields = line.split()
    assert len(fields) == 2, repr(line)
    return fields[0], fields[1]


def run_and_kill(store_path: str, min_acks: int, deadline_s: float = 60.0):
    """Starts the child, reads its acknowledgements until `min_acks` points
    are acknowledged, kills it, and returns (run_id, last point step,
    array chunks acknowledged)."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, store_path],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        run_id = child.stdout.readline().strip()
        assert len(run_id) == 32, run_id
        last_point = -1
        arrays = []
        start = time.monotonic()
        while last_point + 1 < min_acks:
            line = child.stdout.readline()
            assert line, "the child stopped early"
            kind, step = parse(line)
            if kind == "point":
                last_point = int(step)
            else:
                arrays.append(int(step))
            assert time.monotonic() - start < deadline_s, "the child is too slow"
        os.kill(child.pid, signal.SIGKILL)
        # Lines written before the kill are acknowledged too.
        for line in child.stdout:
            kind, step = parse(line)
            if kind == "point":
                last_point = int(step)
            else:
                arrays.append(int(step))
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return run_id, last_point, arrays


@pytest.mark.parametrize("min_acks", [1, 300, 3000])
def test_acknowledged_points_survive_sigkill(tmp_path, min_acks):
    store_path = str(tmp_path / "native-store")
    run_id, last_point, arrays = run_and_kill(store_path, min_acks)
    assert last_point + 1 >= min_acks

    store = _native.Store(store_path)  # opens cleanly after the crash
    for key in ("loss", "a", "b"):
        steps, timestamps, values = store.metric_history(run_id, key)
        # Every acknowledged point, at most the one in flight beyond it,
        # and no point twice.
        acked = steps[steps <= last_point]
        np.testing.assert_array_equal(acked, np.arange(last_point + 1))
        assert len(steps) - len(acked) <= 1
        np.testing.assert_array_equal(values, steps * 0.5)
        np.testing.assert_array_equal(timestamps, NOW + steps)

    steps, timestamps, values = store.metric_history(run_id, "array")
    present = set(steps.tolist())
    for chunk in arrays:
        expected = range(chunk * 1000, (chunk + 1) * 1000)
        assert present.issuperset(expected), f"array chunk {chunk} lost points"
    assert len(present) == len(steps)
    np.testing.assert_array_equal(values, steps * 0.5)

    report = store.check()
    assert report["problems"] == [], report
    summary = store.get_run(run_id)["metrics"]["loss"]
    assert summary["count"] >= last_point + 1

    # The store takes new points after the crash, from a new writer.
    writer = store.writer(run_id)
    writer.log_metric("loss", -1.0, step=-1, timestamp=NOW)
    writer.close()
    assert store.metric_history(run_id, "loss")[0][-1] == -1
    assert store.check()["problems"] == []
