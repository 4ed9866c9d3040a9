"""``mlflow server --backend-store-uri tracklite:...`` serving MLflow's REST
API and UI, checked as a person would: headless Chromium opens the
experiment, sees the runs in the table, opens a run and sees its metric
chart. Screenshots are kept in ``test-artifacts/mlflow-ui/``.

The server listens on a free loopback port, is started and stopped by the
test, and every wait has a deadline. The browser is Debian's Chromium,
driven by the ``playwright`` package (``scripts/ui-env.sh`` installs both
when missing; Playwright's own browser download is never used)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

mlflow = pytest.importorskip("mlflow")

REPO = Path(__file__).resolve().parents[3]
#: Where the screenshots are kept for a person to look at (gitignored).
SCREENSHOTS = REPO / "test-artifacts" / "mlflow-ui"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SERVER_START_DEADLINE = 180.0  # s; first start imports MLflow's server
PAGE_DEADLINE_MS = 60_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _ui_tools_present() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return os.access(CHROMIUM, os.X_OK)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium, installed by scripts/ui-env.sh when missing."""
    if not _ui_tools_present():
        done = subprocess.run(
            ["bash", str(REPO / "scripts" / "ui-env.sh")],
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        if done.returncode != 0 or not _ui_tools_present():
            message = f"scripts/ui-env.sh could not install the browser:\n{done.stderr[-2000:]}"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture
def populated(tracking_uri: str) -> dict[str, Any]:
    """An experiment with three finished runs: params, a 60-step loss curve,
    a tag, a training dataset and an artifact each."""
    import pandas as pd

    experiment_id = mlflow.create_experiment(
        "ui-check", tags={"mlflow.experimentKind": "custom_model_development"}
    )
    data = mlflow.data.from_pandas(pd.DataFrame({"x": [1.0, 2.0], "y": [0.0, 1.0]}), name="ui-data")
    runs = {}
    for i in range(3):
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"ui-run-{i}") as run:
            mlflow.log_params({"lr": 0.1 / (i + 1), "layers": i + 2})
            for step in range(60):
                mlflow.log_metric("loss", (i + 1) / (step + 1), step=step)
            mlflow.log_metric("accuracy", 0.8 + i / 20)
            mlflow.set_tag("team", "ui")
            mlflow.log_input(data, context="training")
            mlflow.log_text(f"notes of run {i}", "notes.txt")
        runs[f"ui-run-{i}"] = run.info.run_id
    return {"experiment_id": experiment_id, "runs": runs, "uri": tracking_uri}


@pytest.fixture
def server(populated: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    """``mlflow server`` on the populated store, on a free loopback port;
    its URL. Stopped (its whole process group) afterwards."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "server.log").open("wb")
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            populated["uri"],
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + SERVER_START_DEADLINE
        while not _healthy(url):
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server not healthy after {SERVER_START_DEADLINE}s")
            try:
                code = proc.wait(timeout=0.5)  # the poll interval, and an early exit
            except subprocess.TimeoutExpired:
                continue
            pytest.fail(f"mlflow server exited with {code}:\n{_tail(tmp_path / 'server.log')}")
        _LOGS[url] = tmp_path / "server.log"
        yield url
    finally:
        _stop(proc)
        log.close()
        shutil.copy(tmp_path / "server.log", _screenshots() / "server.log")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def _server_log(url: str) -> str:
    return _LOGS[url].read_text(errors="replace")


_LOGS: dict[str, Path] = {}


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-4000:]


_PATHS = "lines => lines.map(line => line.getAttribute('d') || '')"


def _screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def test_the_rest_api_serves_the_store(server: str, populated: dict[str, Any]) -> None:
    client = mlflow.MlflowClient(server)
    runs = client.search_runs(
        [populated["experiment_id"]], "params.layers != '2'", order_by=["metrics.accuracy DESC"]
    )
    assert [r.info.run_name for r in runs] == ["ui-run-2", "ui-run-1"]
    history = client.get_metric_history(populated["runs"]["ui-run-0"], "loss")
    assert [m.step for m in history] == list(range(60))
    # A run logged through the server lands in the same store.
    run = client.create_run(populated["experiment_id"], run_name="via-rest")
    client.log_metric(run.info.run_id, "loss", 0.5, step=3)
    client.set_terminated(run.info.run_id)
    local = mlflow.MlflowClient(populated["uri"])
    assert local.get_run(run.info.run_id).data.metrics == {"loss": 0.5}
    # The UI's artifact view reads the run's artifacts from the store.
    url = f"{server}/get-artifact?path=notes.txt&run_uuid={populated['runs']['ui-run-1']}"
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read() == b"notes of run 1"


def test_the_ui_shows_runs_and_metric_charts(
    server: str, populated: dict[str, Any], browser: Any
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(PAGE_DEADLINE_MS)
    histories: list[dict[str, Any]] = []  # the metric histories the UI fetched

    def keep_history(response: Any) -> None:
        if "metrics/get-history" in response.url and response.ok:
            histories.append(response.json())

    page.on("response", keep_history)
    (_screenshots() / "failure.png").unlink(missing_ok=True)
    try:
        experiment_id = populated["experiment_id"]
        page.goto(
            f"{server}/#/experiments/{experiment_id}/runs?workflowType=machine_learning",
            wait_until="domcontentloaded",
        )
        # The runs table lists every run.
        for name in populated["runs"]:
            page.get_by_role("link", name=name, exact=True).wait_for()
        page.get_by_text("3 matching runs").wait_for()
        page.get_by_text("ui-data").first.wait_for()  # the runs' dataset column
        page.screenshot(path=str(_screenshots() / "experiment-runs.png"))

        # Open a run from the table; its page shows its params and metrics.
        page.get_by_role("link", name="ui-run-1", exact=True).click()
        page.wait_for_url(f"**/runs/{populated['runs']['ui-run-1']}**")
        page.get_by_role("tab", name="Model metrics").wait_for()
        page.get_by_text("accuracy").first.wait_for()
        page.screenshot(path=str(_screenshots() / "run-overview.png"))

        # Its metric charts: one per metric, drawn from the metric history.
        page.get_by_role("tab", name="Model metrics").click()
        page.wait_for_url("**/model-metrics**")
        chart = page.locator(".js-plotly-plot").first
        chart.wait_for()
        page.get_by_text("ui-run-1 (loss)").wait_for()
        assert page.locator(".js-plotly-plot").count() >= 2  # loss and accuracy
        # The loss curve is a line through the logged steps: a path with a
        # vertex per step (the UI samples at most a few hundred per run).
        lines = page.locator(".js-plotly-plot .scatterlayer path.js-line")
        lines.first.wait_for()
        vertices = max(d.count("L") + 1 for d in lines.evaluate_all(_PATHS))
        assert vertices >= 10, vertices  # a curve (the drawing merges collinear steps)
        run_id = populated["runs"]["ui-run-1"]
        assert any(
            sorted(m["step"] for m in h.get("metrics", []) if m.get("run_id") == run_id)
            == list(range(60))
            for h in histories
        ), "the chart's history request did not return the 60 logged steps"
        page.screenshot(path=str(_screenshots() / "run-metric-charts.png"))
    except Exception:
        page.screenshot(path=str(_screenshots() / "failure.png"))
        raise
    finally:
        page.close()
    # No request of the UI failed inside the server (a 501 for a feature the
    # store does not keep, such as traces, is an answer, not a failure).
    failed = [line for line in _server_log(server).splitlines() if '" 500 ' in line]
    assert not failed, failed
