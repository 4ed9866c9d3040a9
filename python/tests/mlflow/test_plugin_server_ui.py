"""``mlflow server --backend-store-uri tracklite:...`` serving MLflow's REST
API and UI, checked as a person would: headless Chromium opens the
experiment, sees the runs in the table, opens a run and sees its metric
chart, and then visits every page MLflow's UI offers by default (both its
GenAI and its model-training navigation), each of which must load with no
error shown, no failed API call and no error in the server's log.
Screenshots are kept in ``test-artifacts/mlflow-ui/``.

One server and one browser serve the whole module. The server listens on a
free loopback port, is started and stopped by the test, and every wait has
a deadline. The browser is Debian's Chromium, driven by the ``playwright``
package (``scripts/ui-env.sh`` installs both when missing; Playwright's own
browser download is never used); it resolves no host but the loopback
one, so the UI's links to outside images and documents fail fast."""

from __future__ import annotations

import json
import os
import re
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
SERVER_START_DEADLINE = 180.0  # s; first start imports MLflow's server
PAGE_DEADLINE_MS = 60_000


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


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A store with what every default page of the UI shows: a
    model-training experiment with three finished runs (params, a 60-step
    loss curve, a tag, a training dataset and an artifact each; the first
    also logs a scikit-learn model, registered as ``ui-model``), an empty
    GenAI experiment, and a prompt."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    uri = f"tracklite://{tmp_path_factory.mktemp('ui-store') / 'store'}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        env.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
        mlflow.set_tracking_uri(uri)
        try:
            experiment_id = mlflow.create_experiment(
                "ui-check", tags={"mlflow.experimentKind": "custom_model_development"}
            )
            frame = pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]})
            data = mlflow.data.from_pandas(frame, name="ui-data")
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
                    if i == 0:
                        clf = LogisticRegression().fit(frame[["x"]], frame["y"])
                        model = mlflow.sklearn.log_model(
                            clf, name="ui-clf", registered_model_name="ui-model"
                        )
                runs[f"ui-run-{i}"] = run.info.run_id
            genai_id = mlflow.create_experiment("ui-genai")
            # A prompt registered in an experiment is shown in its Prompts tab.
            mlflow.set_experiment(experiment_id=genai_id)
            mlflow.genai.register_prompt("ui-prompt", "Say hello to {{name}}.")
            _await_prompt_link("ui-prompt", genai_id)
        finally:
            while mlflow.active_run() is not None:
                mlflow.end_run()
            mlflow.set_tracking_uri(None)
    yield {
        "experiment_id": experiment_id,
        "genai_id": genai_id,
        "runs": runs,
        "model_id": model.model_id,
        "uri": uri,
    }


def _await_prompt_link(name: str, experiment_id: str) -> None:
    """MLflow links a new prompt to the active experiment in a background
    thread (a prompt tag); waits for the link."""
    deadline = time.monotonic() + 30
    linked = f",{experiment_id},"
    while linked not in mlflow.MlflowClient().get_prompt(name).tags.get(
        "_mlflow_experiment_ids", ""
    ):
        if time.monotonic() > deadline:
            pytest.fail(f"prompt {name!r} not linked to experiment {experiment_id} after 30s")
        time.sleep(0.1)  # the poll interval of a wait with a deadline


@pytest.fixture(scope="module")
def server(populated: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` on the populated store, on a free loopback port;
    its URL. Stopped (its whole process group) afterwards."""
    workdir = tmp_path_factory.mktemp("ui-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (workdir / "server.log").open("wb")
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
        cwd=workdir,
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
            pytest.fail(f"mlflow server exited with {code}:\n{_tail(workdir / 'server.log')}")
        _LOGS[url] = workdir / "server.log"
        yield url
    finally:
        _stop(proc)
        log.close()
        shutil.copy(workdir / "server.log", _screenshots() / "server.log")


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
    # A run logged through the server lands in the same store (in an
    # experiment of its own: the UI tests count the runs of the others).
    run = client.create_run(client.create_experiment("via-rest"), run_name="via-rest")
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


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_the_rest_api_reads_traces_and_genai_features_as_empty(
    server: str, populated: dict[str, Any]
) -> None:
    """What the UI's Overview, Traces and Judges tabs ask, over REST."""
    experiment_id = populated["genai_id"]
    api = f"{server}/api/3.0/mlflow"
    count = {
        "experiment_ids": [experiment_id],
        "view_type": "TRACES",
        "metric_name": "trace_count",
        "aggregations": [{"aggregation_type": "COUNT"}],
    }
    assert _post(f"{api}/traces/metrics", count) == (
        200,
        {"data_points": [{"metric_name": "trace_count", "values": {"COUNT": 0.0}}]},
    )
    by_hour = {**count, "time_interval_seconds": 3600, "start_time_ms": 0, "end_time_ms": 10**10}
    assert _post(f"{api}/traces/metrics", by_hour) == (200, {})
    latency = {**count, "metric_name": "latency", "aggregations": [{"aggregation_type": "AVG"}]}
    assert _post(f"{api}/traces/metrics", latency) == (200, {})
    status, error = _post(f"{api}/traces/metrics", {**count, "metric_name": "nope"})
    assert (status, error["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "metric_name must be one of" in error["message"]

    search = {
        "locations": [
            {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}
        ]
    }
    assert _post(f"{api}/traces/search", search) == (200, {})
    assert _get(f"{api}/scorers/list?experiment_id={experiment_id}") == (200, {})
    status, error = _get(f"{api}/scorers/list?experiment_id=987654")
    assert (status, error["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert _post(f"{api}/datasets/search", {"experiment_ids": [experiment_id]}) == (200, {})
    assert _get(f"{api}/gateway/endpoints/list") == (200, {})


# Every default page of the UI

#: Failed answers of the server that are no failure of the store, with why.
EXPECTED_FAILURES = {
    # MLflow's user and permission API exists only in its basic-auth app
    # (``mlflow server --app-name basic-auth``); the UI asks for the current
    # user and the users anyway, and a server on MLflow's own SQL store
    # answers 404 as well.
    ("GET", "/ajax-api/2.0/mlflow/users/current"): 404,
    ("GET", "/ajax-api/2.0/mlflow/users/list"): 404,
    # The Review tab makes the visitor's personal review queue on arrival (a
    # write, whose failure it ignores and then shows its empty state).
    # Review queues are not kept by a tracklite store: NOT_IMPLEMENTED.
    ("POST", "/ajax-api/3.0/mlflow/review-queues/get-or-create-user"): 501,
}
#: The server's error lines that go with those answers.
EXPECTED_SERVER_ERRORS = ("Error in _get_or_create_user_queue: get_or_create_user_queue:",)
#: Text of a page that reports a failure.
ERROR_TEXT = re.compile(
    r"Failed to load|Something went wrong|not supported by the tracklite|NOT_IMPLEMENTED"
    r"|INTERNAL_ERROR|Request failed|Page Not Found|^Error\b",
    re.MULTILINE,
)
#: A page is settled when no API request has been in flight for this long.
QUIET_S = 0.8
SETTLE_DEADLINE_S = 30.0
ML = "workflowType=machine_learning"


def _pages(p: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Each default page: its path and a text it must show once loaded."""
    exp, genai, run = p["experiment_id"], p["genai_id"], p["runs"]["ui-run-0"]
    runs = json.dumps(list(p["runs"].values()))
    return {
        "home": ("/#/", "ui-genai"),
        "home-model-training": (f"/#/?{ML}", "ui-check"),
        "experiments": ("/#/experiments", "ui-genai"),
        "experiment-runs": (f"/#/experiments/{exp}/runs?{ML}", "ui-run-2"),
        "experiment-models": (f"/#/experiments/{exp}/models?{ML}", "ui-clf"),
        "experiment-traces": (f"/#/experiments/{exp}/traces?{ML}", "Start tracing your LLM"),
        "overview-usage": (f"/#/experiments/{genai}/overview/usage", "Overall error rate"),
        "overview-quality": (
            f"/#/experiments/{genai}/overview/quality",
            "No assessments available",
        ),
        "overview-tool-calls": (f"/#/experiments/{genai}/overview/tool-calls", "Success Rate"),
        "genai-traces": (f"/#/experiments/{genai}/traces", "Start tracing your LLM"),
        "genai-sessions": (f"/#/experiments/{genai}/chat-sessions", "Group by session"),
        "genai-judges": (f"/#/experiments/{genai}/judges", "Add a judge to your"),
        "genai-review": (f"/#/experiments/{genai}/review-queue", "Set up human review"),
        "genai-datasets": (f"/#/experiments/{genai}/datasets", "Create an evaluation dataset"),
        "genai-evaluation-runs": (f"/#/experiments/{genai}/evaluation-runs", "Evaluate traces"),
        "genai-playground": (f"/#/experiments/{genai}/playground", "Select an endpoint"),
        "genai-prompts": (f"/#/experiments/{genai}/prompts", "ui-prompt"),
        "genai-agent-versions": (f"/#/experiments/{genai}/models", "Track and compare versions"),
        "run-overview": (f"/#/experiments/{exp}/runs/{run}?{ML}", "ui-run-0"),
        "run-model-metrics": (f"/#/experiments/{exp}/runs/{run}/model-metrics?{ML}", "loss"),
        "run-system-metrics": (
            f"/#/experiments/{exp}/runs/{run}/system-metrics?{ML}",
            "No charts in this section",
        ),
        "run-artifacts": (f"/#/experiments/{exp}/runs/{run}/artifacts?{ML}", "notes.txt"),
        "run-traces": (f"/#/experiments/{exp}/runs/{run}/traces?{ML}", "No traces found"),
        "compare-runs": (
            f"/#/compare-runs?runs={runs}&experiments={json.dumps([exp])}",
            "ui-run-2",
        ),
        "logged-model": (f"/#/experiments/{exp}/models/{p['model_id']}?{ML}", "ui-clf"),
        "model-registry": (f"/#/models?{ML}", "ui-model"),
        "registered-model": (f"/#/models/ui-model?{ML}", "Version 1"),
        "model-version": (f"/#/models/ui-model/versions/1?{ML}", "ui-clf"),
        "prompts": ("/#/prompts", "ui-prompt"),
        "prompt": ("/#/prompts/ui-prompt", "Say hello to"),
        "mcp-registry": ("/#/mcp-registry", "Register and catalog MCP"),
        "gateway-endpoints": ("/#/gateway", "Get started with AI Gateway"),
        "gateway-usage": ("/#/gateway/usage", "No usage data available"),
        "gateway-budgets": ("/#/gateway/budgets", "No budget policies created"),
        "settings": ("/#/settings/general", "Theme preference"),
        "settings-llm-connections": ("/#/settings/llm-connections", "LLM Connections"),
        "settings-webhooks": ("/#/settings/webhooks", "Webhooks"),
    }


PAGE_NAMES = list(
    _pages({"experiment_id": "", "genai_id": "", "runs": {"ui-run-0": ""}, "model_id": ""})
)


class UiSession:
    """One browser page on the server, recording what each visit asked of
    the API, what failed, what the console reported, and the server's log."""

    def __init__(self, browser: Any, server: str) -> None:
        self.server = server
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.page.set_default_timeout(PAGE_DEADLINE_MS)
        self.in_flight: dict[int, str] = {}
        self.last_activity = time.monotonic()
        self.failures: list[tuple[int, str, str]] = []  # status, method, path
        self.console: list[str] = []
        self.page.on("request", self._started)
        self.page.on("requestfinished", self._ended)
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._answered)
        self.page.on("console", self._logged)

    def _api_path(self, url: str) -> str | None:
        """The path of a request to the server's API, else None."""
        if not url.startswith(self.server):
            return None
        path = url[len(self.server) :].split("?")[0]
        return path if path.startswith(("/ajax-api/", "/api/", "/get-artifact")) else None

    def _started(self, request: Any) -> None:
        if self._api_path(request.url):
            self.in_flight[id(request)] = request.url
            self.last_activity = time.monotonic()

    def _ended(self, request: Any) -> None:
        if self.in_flight.pop(id(request), None) is not None:
            self.last_activity = time.monotonic()

    def _failed(self, request: Any) -> None:
        self._ended(request)
        path = self._api_path(request.url)
        if path and "ERR_ABORTED" not in (request.failure or ""):  # aborted: left the page
            self.failures.append((0, request.method, f"{path} ({request.failure})"))

    def _answered(self, response: Any) -> None:
        path = self._api_path(response.url)
        if path and response.status >= 400:
            if EXPECTED_FAILURES.get((response.request.method, path)) != response.status:
                self.failures.append((response.status, response.request.method, path))

    def _logged(self, message: Any) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "") if message.location else ""
        text = message.text  # an error of the app's code, such as a failed call's message
        if "Failed to load resource" in text:
            # The failed response itself is judged by _answered; a resource
            # outside the server (a blocked outside image) is no API call.
            return
        if re.search(r"ajax-api|/api/|fetch|request|response|mlflow|tracklite|status", text, re.I):
            self.console.append(f"{text[:500]} (at {where})")

    def settle(self) -> None:
        """Waits until no API request has been in flight for QUIET_S."""
        deadline = time.monotonic() + SETTLE_DEADLINE_S
        while self.in_flight or time.monotonic() - self.last_activity < QUIET_S:
            if time.monotonic() > deadline:
                pytest.fail(f"the page kept requests in flight: {sorted(self.in_flight.values())}")
            self.page.wait_for_timeout(100)


@pytest.fixture(scope="module")
def ui(browser: Any, server: str) -> Iterator[UiSession]:
    session = UiSession(browser, server)
    try:
        yield session
    finally:
        session.page.close()


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_every_default_page_loads(
    name: str, ui: UiSession, server: str, populated: dict[str, Any]
) -> None:
    path, shown = _pages(populated)[name]
    log_start = len(_server_log(server))
    ui.failures.clear()
    ui.console.clear()
    ui.page.goto(f"{server}{path}", wait_until="domcontentloaded")
    try:
        ui.page.get_by_text(shown).first.wait_for()
        ui.settle()
    finally:
        ui.page.screenshot(path=str(_screenshots() / f"page-{name}.png"))
    text = ui.page.inner_text("body")
    (_screenshots() / f"page-{name}.txt").write_text(text)
    assert not ERROR_TEXT.findall(text), [
        line for line in text.splitlines() if ERROR_TEXT.search(line)
    ]
    assert not ui.failures, ui.failures
    assert not ui.console, ui.console
    errors = [
        line
        for line in _server_log(server)[log_start:].splitlines()
        if ("ERROR" in line or "Traceback" in line)
        and not any(e in line for e in EXPECTED_SERVER_ERRORS)
    ]
    assert not errors, errors
