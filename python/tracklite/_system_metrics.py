"""System metrics of a run, as MLflow logs them: CPU, memory, disk,
network and (with NVML) GPU usage, sampled by a background thread.

Names, settings and defaults are MLflow's, and so are its environment
variables (so one setting serves both): every ``sampling_interval``
seconds (``MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL``, default 10) a
sample is taken; every ``samples_before_logging`` samples
(``MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING``, default 1) their
average is logged at the next step (0, 1, ...), as ``system/<name>`` (or
``system/<node id>/<name>`` with ``MLFLOW_SYSTEM_METRICS_NODE_ID``).
Logging is on for every run with ``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING``
(see :func:`enable_system_metrics_logging`) or for one run with
``start_run(log_system_metrics=True)``.

psutil measures CPU, memory, disk and network; without it, starting a
run with system metrics raises, as MLflow does. GPUs are measured through
NVML (``pynvml``, from the ``nvidia-ml-py`` package) when it is installed
and finds a GPU; otherwise they are left out.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections import defaultdict
from typing import Any, Callable

from .errors import InvalidStateError, InvalidValueError, TrackliteError

__all__ = [
    "disable_system_metrics_logging",
    "enable_system_metrics_logging",
    "set_system_metrics_node_id",
    "set_system_metrics_samples_before_logging",
    "set_system_metrics_sampling_interval",
]

ENABLE_ENV = "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"
INTERVAL_ENV = "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL"
SAMPLES_ENV = "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING"
NODE_ENV = "MLFLOW_SYSTEM_METRICS_NODE_ID"
DEFAULT_INTERVAL = 10.0
DEFAULT_SAMPLES = 1
PREFIX = "system/"
#: Metrics logged as their last value rather than averaged (running totals).
_TOTALS = ("network_receive_megabytes", "network_transmit_megabytes")
#: How long ending a run waits for the sampling thread to stop.
_STOP_DEADLINE_S = 30.0


class SystemMetricsUnavailableError(TrackliteError):
    """System metrics were asked for and psutil, which measures them, is
    not installed."""

    error_code = "INVALID_STATE"


def enable_system_metrics_logging() -> None:
    """Logs system metrics for every run started from now on (unless
    started with ``log_system_metrics=False``). Sets
    ``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING``, as MLflow does."""
    os.environ[ENABLE_ENV] = "true"


def disable_system_metrics_logging() -> None:
    """Stops logging system metrics for runs started from now on (unless
    started with ``log_system_metrics=True``)."""
    os.environ[ENABLE_ENV] = "false"


def _set_or_unset(name: str, value: Any) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = str(value)


def set_system_metrics_sampling_interval(interval: float | None) -> None:
    """Samples system metrics every ``interval`` seconds (default 10;
    None goes back to the default)."""
    if interval is not None and not (isinstance(interval, (int, float)) and interval > 0):
        raise InvalidValueError(
            f"the sampling interval must be a positive number, not {interval!r}"
        )
    _set_or_unset(INTERVAL_ENV, interval)


def set_system_metrics_samples_before_logging(samples: int | None) -> None:
    """Logs the average of every ``samples`` samples (default 1; None
    goes back to the default)."""
    if samples is not None and not (isinstance(samples, int) and samples > 0):
        raise InvalidValueError(f"samples_before_logging must be a positive int, not {samples!r}")
    _set_or_unset(SAMPLES_ENV, samples)


def set_system_metrics_node_id(node_id: str | None) -> None:
    """Names this machine in the metric keys (``system/<node_id>/...``),
    for runs spread over several machines; None leaves it out."""
    _set_or_unset(NODE_ENV, node_id)


def enabled_by_default() -> bool:
    """Whether ``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING`` asks for system
    metrics (``true``/``1``, any case; ``false``/``0`` or unset: no)."""
    value = os.environ.get(ENABLE_ENV, "").strip().lower()
    if value in ("", "false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise InvalidValueError(f"{ENABLE_ENV}={value!r}: must be true, false, 1 or 0")


def _env_number(name: str, kind: Callable[[str], Any], default: Any) -> Any:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise InvalidValueError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
    if value <= 0:
        raise InvalidValueError(f"{name}={raw!r} must be positive")
    return value


def require_psutil() -> Any:
    try:
        import psutil
    except ImportError as e:
        raise SystemMetricsUnavailableError(
            "cannot log system metrics: the package psutil, which measures them, is not "
            "installed. Run `pip install psutil`, or turn system metrics off with "
            "start_run(log_system_metrics=False) or disable_system_metrics_logging()"
        ) from e
    return psutil


class _Gpus:
    """NVIDIA GPUs through NVML, or nothing when pynvml or a GPU is missing."""

    def __init__(self) -> None:
        self.nvml: Any = None
        self.handles: list[Any] = []
        try:
            import pynvml

            pynvml.nvmlInit()
            count = pynvml.nvmlDeviceGetCount()
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            self.nvml = pynvml
        except Exception:  # no pynvml, no driver or no GPU: GPU metrics are left out
            self.handles = []

    def sample(self, out: dict[str, float]) -> None:
        nvml = self.nvml
        for i, handle in enumerate(self.handles):
            try:
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)
                out[f"gpu_{i}_memory_usage_percentage"] = memory.used / memory.total * 100
                out[f"gpu_{i}_memory_usage_megabytes"] = memory.used / 1e6
                out[f"gpu_{i}_utilization_percentage"] = float(
                    nvml.nvmlDeviceGetUtilizationRates(handle).gpu
                )
                power = nvml.nvmlDeviceGetPowerUsage(handle)
                limit = nvml.nvmlDeviceGetEnforcedPowerLimit(handle)
                out[f"gpu_{i}_power_usage_watts"] = power / 1000
                out[f"gpu_{i}_power_usage_percentage"] = power / limit * 100
            except Exception:  # a GPU that stops answering leaves this sample without it
                continue


class _Sampler:
    """One sample of every system metric, named as MLflow names them."""

    def __init__(self, psutil: Any) -> None:
        self.psutil = psutil
        net = psutil.net_io_counters()
        self.net_start = (net.bytes_recv / 1e6, net.bytes_sent / 1e6) if net else (0.0, 0.0)
        psutil.cpu_percent()  # starts the interval the first sample's CPU load covers
        self.gpus = _Gpus()

    def sample(self) -> dict[str, float]:
        ps = self.psutil
        memory = ps.virtual_memory()
        disk = ps.disk_usage(os.sep)
        out = {
            "cpu_utilization_percentage": float(ps.cpu_percent()),
            "system_memory_usage_megabytes": memory.used / 1e6,
            "system_memory_usage_percentage": memory.used / memory.total * 100,
            "disk_usage_percentage": float(disk.percent),
            "disk_usage_megabytes": disk.used / 1e6,
            "disk_available_megabytes": disk.free / 1e6,
        }
        net = ps.net_io_counters()
        if net:
            out["network_receive_megabytes"] = net.bytes_recv / 1e6 - self.net_start[0]
            out["network_transmit_megabytes"] = net.bytes_sent / 1e6 - self.net_start[1]
        self.gpus.sample(out)
        return out


def _aggregate(samples: list[dict[str, float]]) -> dict[str, float]:
    """Averages (rounded to 0.1, as MLflow's), and running totals' last value."""
    values: dict[str, list[float]] = defaultdict(list)
    for s in samples:
        for k, x in s.items():
            values[k].append(x)
    return {k: xs[-1] if k in _TOTALS else round(sum(xs) / len(xs), 1) for k, xs in values.items()}


class SystemMetricsMonitor:
    """Samples system metrics on a daemon thread and logs them into one
    run of a store, until :meth:`stop` or the run is no longer RUNNING."""

    def __init__(self, store: Any, run_id: str, *, resume: bool = False) -> None:
        self._sampler = _Sampler(require_psutil())
        self.interval = float(_env_number(INTERVAL_ENV, float, DEFAULT_INTERVAL))
        self.samples_before_logging = int(_env_number(SAMPLES_ENV, int, DEFAULT_SAMPLES))
        node = os.environ.get(NODE_ENV)
        self.prefix = PREFIX + (node + "/" if node else "")
        self._store = store
        self.run_id = run_id
        self.step = self._next_step() if resume else 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"tracklite-system-metrics-{run_id[:8]}", daemon=True
        )

    def _next_step(self) -> int:
        """The step after the run's last system metric (when resuming)."""
        run = self._store.get_run(self.run_id)
        steps = [m.step for m in run.data._metric_objs if m.key.startswith(self.prefix)]
        return max(steps) + 1 if steps else 0

    def start(self) -> None:
        """Starts the sampling thread."""
        self._thread.start()

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                samples = []
                for _ in range(self.samples_before_logging):
                    samples.append(self._sampler.sample())
                    if self._stop.wait(self.interval):
                        return
                    if self._store.get_run_info(self.run_id).status != "RUNNING":
                        return
                metrics = {self.prefix + k: x for k, x in _aggregate(samples).items()}
                self._store.log_metrics(self.run_id, metrics, step=self.step)
                self.step += 1
        except Exception as e:  # a sampling thread has no caller to raise to
            warnings.warn(
                f"system metrics of run {self.run_id} stopped: {type(e).__name__}: {e}",
                RuntimeWarning,
                stacklevel=1,
            )

    def stop(self) -> None:
        """Stops sampling and waits for the thread (a pending partial
        group of samples is not logged, as in MLflow)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(_STOP_DEADLINE_S)
            if self._thread.is_alive():
                raise InvalidStateError(
                    f"the system metrics thread of run {self.run_id} did not stop within "
                    f"{_STOP_DEADLINE_S:.0f} s"
                )


_monitors: dict[str, SystemMetricsMonitor] = {}
_monitors_lock = threading.Lock()


def start_monitor(store: Any, run_id: str, *, resume: bool) -> None:
    """Starts logging system metrics into the run (once per run)."""
    with _monitors_lock:
        if run_id in _monitors:
            return
        monitor = _monitors[run_id] = SystemMetricsMonitor(store, run_id, resume=resume)
    monitor.start()


def stop_monitor(run_id: str) -> None:
    """Stops the run's system metrics, if they are being logged."""
    with _monitors_lock:
        monitor = _monitors.pop(run_id, None)
    if monitor is not None:
        monitor.stop()


def forget_monitors() -> None:
    """Drops every monitor without stopping it: a forked child's start
    (its parent's threads do not exist in it)."""
    _monitors.clear()
