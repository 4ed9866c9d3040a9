"""The ui group: the viewer (``tracklite ui``, the command, on a free
port) in headless Chromium, next to MLflow's UI on the same store.

- time to first chart of a 1,000,000-point series: from the navigation to
  a run's page until its chart has drawn the series (the chart's
  ``tracklite:first-chart`` performance mark, read from the page), in a
  fresh browser context each time (nothing cached);
- the server-side read alone: ``/api/metric-history`` of that series with
  1,000 buckets (min/max per bucket, done in Rust), over HTTP;
- page load of an experiment of 10,000 runs: from the navigation until the
  run table's first page shows the newest run's name, for the viewer and
  for MLflow's UI (``mlflow server --backend-store-uri tracklite://<store>``,
  the plugin) measured the same way: a script in the page checks the
  document's text at every frame and records when the name first appears.

The browser is Debian's Chromium driven by playwright (``scripts/ui-env.sh``);
without them the rows are skipped, saying so.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _populate as pop
from _common import NATIVE, Row, log
from _plan import Plan
from _stores import Workspace

VIEWER = "tracklite viewer"
MLFLOW_UI = "MLflow UI (plugin)"
CHART_POINTS = 1_000_000
PAGE_RUNS = 10_000
BUCKETS = 1_000
PAGE_REPS = 5
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
PAGE_DEADLINE_MS = 60_000
#: How long one timed page load may take before it counts as hung.
LOAD_DEADLINE_MS = 15_000
MLFLOW_START_DEADLINE_S = 180.0
VIEWER_START_DEADLINE_S = 30.0
CHART_MARK = "tracklite:first-chart"
#: Records, at every frame, when the page's text first contains
#: ``window.__waitFor`` (set before the page's own scripts run).
TEXT_SEEN_SCRIPT = """
(() => {
  const look = () => {
    const want = window.__waitFor;
    if (want && document.body && document.body.textContent.includes(want)) {
      window.__seenAt = performance.now();
      return;
    }
    requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
})();
"""

FIRST_CHART = f"viewer: time to first chart of a {CHART_POINTS:,}-point series"
HISTORY_CALL = (
    f"viewer: /api/metric-history of a {CHART_POINTS:,}-point series ({BUCKETS:,} buckets)"
)
RUNS_PAGE = f"run table page load, an experiment of {PAGE_RUNS:,} runs"

#: (workload, store, unit) of every row the group makes.
ROWS = (
    (FIRST_CHART, VIEWER, "ms"),
    (HISTORY_CALL, VIEWER, "ms"),
    (RUNS_PAGE, VIEWER, "ms"),
    (RUNS_PAGE, MLFLOW_UI, "ms"),
)


def _skipped(why: str) -> list[Row]:
    return [Row(w, s, None, unit, f"skipped: {why}", lower_is_better=True) for w, s, unit in ROWS]


def _browser_present() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return os.access(CHROMIUM, os.X_OK)


def ui_rows(ws: Workspace, plan: Plan) -> list[Row]:
    if not _browser_present():
        return _skipped(f"no Chromium at {CHROMIUM} or no playwright (bash scripts/ui-env.sh)")
    from playwright.sync_api import sync_playwright

    points = plan.scaled(CHART_POINTS)
    runs = plan.scaled(PAGE_RUNS)
    path = ws.new_store(NATIVE).path
    log(f"  ui: filling a store with a {points:,}-point series and {runs:,} runs")
    experiment_id = pop.tracklite_runs(path, runs)
    run_id = pop.tracklite_history(path, "loss", points)
    newest = f"run-{runs - 1}"  # the default order is newest first
    # Page loads are medians of 5 (of 1 in --smoke, which only checks that the group runs).
    reps = 1 if plan.mode == "smoke" else max(PAGE_REPS, plan.reps)
    rows: list[Row] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            with _viewer(path) as url:
                try:
                    rows.append(_first_chart_row(browser, url, run_id, points, reps))
                except Hung as e:
                    rows.append(Row(FIRST_CHART, VIEWER, None, "ms", f"skipped: {e}", True))
                rows.append(_history_row(url, run_id, points, reps))
                runs_page = f"{url}/#/experiments/{experiment_id}"
                viewer_page: Loads | str
                try:
                    viewer_page = _page_load(browser, runs_page, newest, reps)
                except Hung as e:
                    viewer_page = str(e)
            mlflow_page = _mlflow_page_load(ws, browser, path, experiment_id, newest, reps)
        finally:
            browser.close()
    rows += _page_rows(viewer_page, mlflow_page, runs)
    return rows


def _fresh_page(browser: Any) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(PAGE_DEADLINE_MS)
    return context, page


class Hung(RuntimeError):
    """Page loads that did not finish, again and again: the figure is not measured."""


@dataclass(frozen=True)
class Loads:
    """Timed page loads (ms), and how many loads hung and were retried."""

    times: list[float]
    hung: int

    def note(self) -> str:
        if not self.hung:
            return ""
        return (
            f"; {self.hung} more load(s) had not finished after {LOAD_DEADLINE_MS // 1000} s "
            "(a request left unanswered by the server) and were retried"
        )


def _loads(once: Callable[[], float], reps: int) -> Loads:
    """``reps`` timings of ``once``; a load that times out is counted and retried."""
    from playwright.sync_api import TimeoutError as PageTimeout

    times: list[float] = []
    hung = 0
    while len(times) < reps:
        try:
            times.append(once())
        except PageTimeout:
            hung += 1
            log(f"  ui: a page load hung ({hung} so far)")
            if hung > 2 * reps:
                raise Hung(
                    f"not measured: {hung} page loads had not finished after "
                    f"{LOAD_DEADLINE_MS // 1000} s, {len(times)} had (requests left unanswered)"
                ) from None
    return Loads(times, hung)


def _first_chart_row(browser: Any, url: str, run_id: str, points: int, reps: int) -> Row:
    def once() -> float:
        context, page = _fresh_page(browser)
        try:
            page.goto(f"{url}/#/runs/{run_id}", wait_until="commit")
            page.wait_for_function(
                f"() => performance.getEntriesByName('{CHART_MARK}').length > 0",
                timeout=LOAD_DEADLINE_MS,
            )
            count = page.locator("[data-testid=chart][data-key=loss]").get_attribute("data-count")
            if count != str(points):
                raise RuntimeError(f"the chart shows {count} points, not {points}")
            return float(
                page.evaluate(f"() => performance.getEntriesByName('{CHART_MARK}')[0].startTime")
            )
        finally:
            context.close()

    loads = _loads(once, reps)
    note = (
        f"navigation to the run page until its chart is drawn (performance mark), fresh "
        f"browser context each time; median of {reps}, first {loads.times[0]:,.0f} ms"
        f"{loads.note()}"
    )
    return Row(FIRST_CHART, VIEWER, statistics.median(loads.times), "ms", note, True, points)


def _history_row(url: str, run_id: str, points: int, reps: int) -> Row:
    query = urllib.parse.urlencode({"run_ids": run_id, "key": "loss", "buckets": BUCKETS})
    calls = reps * 5

    def once() -> float:
        start = time.perf_counter()
        with urllib.request.urlopen(f"{url}/api/metric-history?{query}", timeout=60) as r:
            r.read()
        return (time.perf_counter() - start) * 1000

    times = [once() for _ in range(calls)]
    note = f"GET over loopback HTTP, body read; median of {calls} calls, first {times[0]:,.1f} ms"
    return Row(HISTORY_CALL, VIEWER, statistics.median(times), "ms", note, True, points)


def _page_load(browser: Any, url: str, text: str, reps: int) -> Loads:
    """Milliseconds from navigating to ``url`` until the page shows ``text``, ``reps`` times."""

    def once() -> float:
        context, page = _fresh_page(browser)
        try:
            page.add_init_script(f"window.__waitFor = {text!r};{TEXT_SEEN_SCRIPT}")
            page.goto(url, wait_until="commit")
            page.wait_for_function("() => window.__seenAt !== undefined", timeout=LOAD_DEADLINE_MS)
            return float(page.evaluate("() => window.__seenAt"))
        finally:
            context.close()

    _loads(once, 1)  # the first load warms the server's caches and the browser's code cache
    return _loads(once, reps)


def _page_rows(viewer: Loads | str, mlflow_ui: Loads | str, runs: int) -> list[Row]:
    """The page-load rows; a str instead of Loads says why that one was not measured."""
    how = "navigation until the newest run's name is shown (checked each frame)"
    if isinstance(mlflow_ui, str):
        theirs_row = Row(RUNS_PAGE, MLFLOW_UI, None, "ms", f"skipped: {mlflow_ui}", True)
    else:
        theirs = statistics.median(mlflow_ui.times)
        note = f"{how}, `#/experiments/<id>/runs`; median of {len(mlflow_ui.times)}"
        theirs_row = Row(RUNS_PAGE, MLFLOW_UI, theirs, "ms", note + mlflow_ui.note(), True, runs)
    if isinstance(viewer, str):
        return [Row(RUNS_PAGE, VIEWER, None, "ms", f"skipped: {viewer}", True), theirs_row]
    ours = statistics.median(viewer.times)
    vs = ""
    if theirs_row.value is not None:
        vs = f"; {theirs_row.value / ours:.1f}× faster than MLflow's UI on the same store"
    note = f"{how}; median of {len(viewer.times)}{vs}{viewer.note()}"
    return [Row(RUNS_PAGE, VIEWER, ours, "ms", note, True, runs), theirs_row]


@contextmanager
def _viewer(store: Path) -> Iterator[str]:
    """``tracklite ui --port 0`` on the store; the URL it prints. Stopped with SIGTERM."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracklite", "--store", str(store), "ui", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], VIEWER_START_DEADLINE_S)
        line = proc.stdout.readline() if ready else ""
        found = re.search(r"http://[^\s]+", line)
        if not found:
            proc.terminate()
            stderr = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"tracklite ui printed {line!r}, no URL: {stderr[-2000:]}")
        yield found.group(0).rstrip("/")
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=30)


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


@contextmanager
def _mlflow_server(ws: Workspace, store: Path) -> Iterator[str]:
    """``mlflow server`` on the store through the plugin; its URL."""
    workdir = ws.root / "mlflow-ui"
    workdir.mkdir(exist_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    with (workdir / "server.log").open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--workers", "1"]
            + ["--backend-store-uri", f"tracklite://{store}", "--host", "127.0.0.1"]
            + ["--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _await(proc, url, workdir / "server.log")
            yield url
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=30)
            shutil.rmtree(workdir, ignore_errors=True)


def _await(proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + MLFLOW_START_DEADLINE_S
    while not _healthy(url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"mlflow server not healthy after {MLFLOW_START_DEADLINE_S:.0f} s")
        try:
            code = proc.wait(timeout=0.5)  # the poll interval, and an early exit
        except subprocess.TimeoutExpired:
            continue
        tail = log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"mlflow server exited with {code}: {tail}")


def _mlflow_page_load(
    ws: Workspace, browser: Any, store: Path, experiment_id: str, text: str, reps: int
) -> Loads | str:
    """MLflow UI's page load times, or why they could not be measured."""
    runs_page = f"#/experiments/{experiment_id}/runs?workflowType=machine_learning"
    try:
        with _mlflow_server(ws, store) as url:
            return _page_load(browser, f"{url}/{runs_page}", text, reps)
    except Exception as e:  # a failed start or page: the row says why
        log(f"  ui: MLflow UI not measured: {e}")
        return f"MLflow UI not measured: {str(e)[:200]}"
