"""The ``tracklite`` command-line program as the wheel installs it:
``python -m tracklite`` and the ``tracklite`` script beside the venv's
Python run the same program as the Rust binary, on a store logged from
Python, and pick the same store as Python does for the same environment."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import tracklite
import tracklite as mlflow

SCRIPT = Path(sys.executable).with_name("tracklite")
STORE_VARS = ("TRACKLITE_STORE", "MLFLOW_TRACKING_URI", "TRACKLITE_SERVE_FILE_URIS", "COLUMNS")


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in STORE_VARS}
    env.update(values)
    return env


def _run(
    args: list[str], *, script: bool = False, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    program = [str(SCRIPT)] if script else [sys.executable, "-m", "tracklite"]
    return subprocess.run(
        program + args, capture_output=True, text=True, cwd=cwd, env=_env(**env), timeout=120
    )


def _log_sample(store: Path) -> str:
    mlflow.set_tracking_uri(f"tracklite:{store}")
    mlflow.set_experiment("cli-check")
    with mlflow.start_run(run_name="from-python") as run:
        mlflow.log_param("lr", "0.01")
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.set_tracking_uri(None)
    return str(run.info.run_id)


def test_python_m_tracklite_reads_what_python_logged(tmp_path: Path):
    store = tmp_path / "runs"
    run_id = _log_sample(store)
    out = _run(["--store", f"tracklite://{store}", "runs", "--json"])
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    doc = json.loads(out.stdout)
    assert doc["more"] is False
    [run] = doc["runs"]
    assert run["info"]["run_id"] == run_id
    assert run["info"]["run_name"] == "from-python"
    assert run["params"] == {"lr": "0.01"}
    assert run["metrics"]["loss"]["value"] == pytest.approx(0.2)
    assert run["metrics"]["loss"]["count"] == 5

    history = _run(["history", run_id, "loss", "--json"], TRACKLITE_STORE=str(store))
    assert history.returncode == 0, history.stderr
    values = [p["value"] for p in json.loads(history.stdout)]
    assert values == pytest.approx([1.0, 0.5, 1 / 3, 0.25, 0.2])


def test_the_console_script_is_the_same_program(tmp_path: Path):
    assert SCRIPT.exists(), f"pip installed no {SCRIPT}"
    store = tmp_path / "runs"
    _log_sample(store)
    out = _run(["experiments"], script=True, MLFLOW_TRACKING_URI=f"tracklite:{store}")
    assert out.returncode == 0, out.stderr
    assert "cli-check" in out.stdout
    version = _run(["--version"], script=True)
    assert (version.returncode, version.stdout) == (0, f"tracklite {tracklite.__version__}\n")


def test_help_version_and_usage_errors():
    help_ = _run(["--help"])
    assert help_.returncode == 0
    assert "Usage: tracklite" in help_.stdout and "compact" in help_.stdout
    assert _run(["--version"]).stdout == f"tracklite {tracklite.__version__}\n"
    usage = _run(["runs", "--no-such-flag"])
    assert usage.returncode == 2
    assert usage.stdout == ""
    assert "unexpected argument '--no-such-flag'" in usage.stderr


def test_errors_exit_1_and_are_json_under_json(tmp_path: Path):
    out = _run(["runs"], cwd=tmp_path, MLFLOW_TRACKING_URI="http://127.0.0.1:1")
    assert out.returncode == 1
    assert "MLFLOW_TRACKING_URI" in out.stderr
    assert '"http://127.0.0.1:1"' in out.stderr
    doc = _run(["runs", "--json"], cwd=tmp_path, MLFLOW_TRACKING_URI="sqlite:///m.db")
    assert doc.returncode == 1 and doc.stderr == ""
    assert json.loads(doc.stdout)["error"]["kind"] == "store_uri"


def _python_store(cwd: Path, env: dict[str, str]) -> str:
    """The folder Python's fluent functions use in `cwd` with `env`."""
    code = (
        "import os; from tracklite import _tracking as t; "
        "print(os.path.abspath(t.store_path(t.get_tracking_uri())))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_env(**env),
        check=True,
        timeout=60,
    )
    return out.stdout.strip()


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"TRACKLITE_STORE": "a"},
        {"TRACKLITE_STORE": "tracklite:./a", "MLFLOW_TRACKING_URI": "tracklite:b"},
        {"MLFLOW_TRACKING_URI": "tracklite:b"},
        {"MLFLOW_TRACKING_URI": "tracklite:{cwd}/b"},
        {"MLFLOW_TRACKING_URI": "tracklite://{cwd}/a"},
        {"MLFLOW_TRACKING_URI": "{cwd}/b"},
        {"TRACKLITE_STORE": "", "MLFLOW_TRACKING_URI": "tracklite:my%20runs"},
    ],
)
def test_the_cli_opens_the_store_python_uses(tmp_path: Path, env: dict[str, str]):
    env = {k: v.format(cwd=tmp_path) for k, v in env.items()}
    for folder in ("tracklite-runs", "a", "b", "my runs"):
        tracklite.Store(tmp_path / folder).create_experiment(f"in {folder}")
    out = _run(["experiments", "--json"], cwd=tmp_path, **env)
    assert out.returncode == 0, out.stderr
    names = {e["name"] for e in json.loads(out.stdout)} - {"Default"}
    [name] = names
    assert str(tmp_path / name.removeprefix("in ")) == _python_store(tmp_path, env)


def test_file_uris_open_the_store_the_plugin_serves(tmp_path: Path):
    pytest.importorskip("mlflow")
    from tracklite.mlflow_plugin import _uri, file_uris

    uri = (tmp_path / "mlruns").as_uri()
    served = file_uris.store_folder(_uri.store_path(uri, scheme="file"))
    tracklite.Store(served).create_experiment("served")
    opted = _run(["experiments", "--json"], MLFLOW_TRACKING_URI=uri, TRACKLITE_SERVE_FILE_URIS="1")
    assert opted.returncode == 0, opted.stderr
    assert "served" in {e["name"] for e in json.loads(opted.stdout)}
    refused = _run(["experiments"], MLFLOW_TRACKING_URI=uri)
    assert refused.returncode == 1
    assert "TRACKLITE_SERVE_FILE_URIS=1" in refused.stderr


def _read_until(proc: subprocess.Popen[Any], text: str, deadline: float) -> str:
    """Standard error of `proc` up to and including `text`."""
    assert proc.stderr is not None
    seen = ""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stderr, selectors.EVENT_READ)
        while text not in seen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} on stderr in time; got {seen!r}"
            if sel.select(timeout=left):
                chunk = os.read(proc.stderr.fileno(), 4096).decode()
                assert chunk, f"stderr closed before {text!r}; got {seen!r}"
                seen += chunk
    return seen


def test_ctrl_c_stops_export_watch_cleanly(tmp_path: Path):
    store = tmp_path / "runs"
    _log_sample(store)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracklite", "--store", str(store), "export"]
        + ["--to", "http://127.0.0.1:9", "--watch", "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    try:
        _read_until(proc, "watching:", time.monotonic() + 60)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # Stopped by itself, not killed by the signal, and said why.
    assert proc.returncode in (0, 1), proc.returncode
    assert "interrupted: exporting what is left, then stopping" in err.decode()
    assert "KeyboardInterrupt" not in err.decode()
