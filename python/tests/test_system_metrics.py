"""System metrics: sampled into the active run under MLflow's names while
it runs, stopped at end_run; a clear error without psutil."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tracklite
from tracklite import _system_metrics

#: How long a test waits for the sampling thread to log (it logs every 50 ms).
DEADLINE_S = 30.0
SETTINGS = (
    _system_metrics.ENABLE_ENV,
    _system_metrics.INTERVAL_ENV,
    _system_metrics.SAMPLES_ENV,
    _system_metrics.NODE_ENV,
)


@pytest.fixture(autouse=True)
def settings() -> Iterator[None]:
    """No setting at the start; the ones a test makes (through the public
    setters, which write the environment) are undone after it."""
    saved = {name: os.environ.pop(name, None) for name in SETTINGS}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _wait_for_steps(run_id: str, key: str, steps: int) -> list[int]:
    """The steps of ``key`` once there are ``steps`` of them (or fails at the deadline)."""
    store = tracklite.MlflowClient().store
    deadline = time.monotonic() + DEADLINE_S
    while True:
        logged = store.metric_history(run_id, key).steps.tolist()
        if len(logged) >= steps:
            return logged
        if time.monotonic() > deadline:
            pytest.fail(f"{key} has {len(logged)} points after {DEADLINE_S} s, not {steps}")
        time.sleep(0.02)  # polling the store: the condition waited for is the data itself


def test_a_run_logs_mlflows_system_metrics_until_it_ends() -> None:
    pytest.importorskip("psutil")
    tracklite.set_system_metrics_sampling_interval(0.05)
    with tracklite.start_run(log_system_metrics=True) as run:
        steps = _wait_for_steps(run.info.run_id, "system/cpu_utilization_percentage", 2)
        assert steps[:2] == [0, 1]
    metrics = tracklite.get_run(run.info.run_id).data.metrics
    for name in (
        "cpu_utilization_percentage",
        "system_memory_usage_megabytes",
        "system_memory_usage_percentage",
        "disk_usage_percentage",
        "network_receive_megabytes",
    ):
        assert "system/" + name in metrics
    assert 0 < metrics["system/system_memory_usage_percentage"] <= 100
    # end_run joined the sampling thread: nothing can be logged after it.
    assert not any(t.name.startswith("tracklite-system-metrics") for t in _threads())


def _threads() -> list[object]:
    import threading

    return threading.enumerate()


def test_enabled_for_every_run_with_a_node_id_and_averaged_samples() -> None:
    pytest.importorskip("psutil")
    tracklite.enable_system_metrics_logging()
    assert os.environ["MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"] == "true"
    tracklite.set_system_metrics_sampling_interval(0.02)
    tracklite.set_system_metrics_samples_before_logging(3)
    tracklite.set_system_metrics_node_id("node0")
    with tracklite.start_run() as run:
        _wait_for_steps(run.info.run_id, "system/node0/cpu_utilization_percentage", 1)
    tracklite.disable_system_metrics_logging()
    with tracklite.start_run() as quiet:
        pass
    assert not any(
        k.startswith("system/") for k in tracklite.get_run(quiet.info.run_id).data.metrics
    )


def test_settings_are_checked() -> None:
    with pytest.raises(tracklite.InvalidValueError, match="positive number, not 0"):
        tracklite.set_system_metrics_sampling_interval(0)
    os.environ[_system_metrics.ENABLE_ENV] = "maybe"
    with pytest.raises(tracklite.InvalidValueError, match="'maybe'"):
        tracklite.start_run()
    assert tracklite.active_run() is None


def test_without_psutil_start_run_raises_naming_pip_install(tmp_path: Path) -> None:
    script = """
import sys
sys.modules["psutil"] = None  # as if psutil were not installed
import tracklite
try:
    tracklite.start_run(log_system_metrics=True)
except tracklite.TrackliteError as e:
    print(type(e).__name__, e)
print("active:", tracklite.active_run())
with tracklite.start_run() as run:
    tracklite.log_metric("x", 1.0)
print("plain run:", run.info.status)
"""
    env = dict(os.environ, TRACKLITE_STORE=str(tmp_path / "s"))
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "SystemMetricsUnavailableError" in out
    assert "pip install psutil" in out
    assert "active: None" in out
    assert "plain run: RUNNING" in out
    assert tracklite.Store(tmp_path / "s").search_runs("0")[0].info.status == "FINISHED"
