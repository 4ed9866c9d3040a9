"""The viewer (``tracklite.show()``, the server behind ``tracklite ui``),
checked as a person would use it: headless Chromium opens the experiments
page, an experiment's run table (filter, bad filter, sort), the compare
chart of picked runs, a run page (params, image and text previews), a
running run whose chart takes a newly logged point, and the registry pages.
Values are compared with what the store holds, through the native API and
through the viewer's JSON API.

The browser is Debian's Chromium driven by the ``playwright`` package
(``scripts/ui-env.sh`` installs both when missing); without them the tests
skip, except in CI (``CI`` set), where that is a failure. Screenshots of each
page go to ``test-artifacts/viewer/`` (``TRACKLITE_UI_SCREENSHOTS`` to
change it); the path is printed at the start."""

from __future__ import annotations

import json
import os
import re
import select
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tracklite

REPO = Path(__file__).resolve().parents[2]
PAGE_DEADLINE_MS = 30_000
START_DEADLINE_S = 30.0
#: How long a newly logged point may take to reach the chart: the page polls every 2 s.
LIVE_DEADLINE_MS = 15_000

RUNS = 30
START_MS = 1_780_000_000_000
BIG_POINTS = 100_000
NOTES = "first line of the notes\nsecond line, with ünïcödé\n"


def _screenshots() -> Path:
    path = Path(os.environ.get("TRACKLITE_UI_SCREENSHOTS", REPO / "test-artifacts" / "viewer"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _png(width: int, height: int) -> bytes:
    """A small RGB PNG (a colour gradient), encoded here: no imaging library needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 255 // width, y * 255 // height, 128))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _acc(i: int) -> float:
    return i / (RUNS - 1)


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A store with three experiments: ``ui-vision`` (30 finished runs with
    params, tags, a 20-step loss and an accuracy), ``ui-big`` (a finished run
    with a 100,000-point series, an input, an image and a text artifact; and a
    RUNNING run logging ``live``), ``ui-empty``; and a registered model with
    two versions, a stage and an alias."""
    path = tmp_path_factory.mktemp("ui") / "store"
    store = tracklite.Store(path)
    vision = store.create_experiment("ui-vision", tags={"team": "cv"})
    names: dict[str, str] = {}
    for i in range(RUNS):
        run = store.create_run(
            vision,
            run_name=f"run-{i:02d}",
            start_time=START_MS + i * 1000,  # distinct: the default order is by start time
            tags={"team": "cv", "seed": str(i)},
            params={"lr": 0.001 * (i + 1), "layers": i % 4 + 1},
        )
        run_id = run.info.run_id
        for step in range(20):
            store.log_metric(run_id, "loss", (i + 1) / (step + 1), step=step)
        store.log_metric(run_id, "acc", _acc(i))
        store.end_run(run_id)
        names[run_id] = f"run-{i:02d}"

    big_exp = store.create_experiment("ui-big")
    big = store.create_run(big_exp, run_name="big", params={"optimizer": "adam"}).info.run_id
    steps = np.arange(BIG_POINTS, dtype=np.int64)
    values = np.sin(steps / 500.0) + steps / BIG_POINTS
    store.writer(big).log_metric_array("signal", values, steps=steps)
    store.log_input(
        big,
        {"name": "ui-data", "digest": "abc123", "source_type": "local", "source": "/data/x"},
        context="training",
    )
    store.log_bytes(big, _png(64, 48), "plots/curve.png")
    store.log_text(big, NOTES, "notes.txt")
    store.end_run(big)

    live = store.create_run(big_exp, run_name="live").info.run_id
    for step in range(10):
        store.log_metric(live, "live", float(step), step=step)

    store.create_experiment("ui-empty")
    store.create_registered_model("ui-model", description="the vision model")
    first = next(iter(names))
    store.create_model_version("ui-model", f"runs:/{first}/model", run_id=first)
    second = list(names)[1]
    store.create_model_version("ui-model", f"runs:/{second}/model", run_id=second)
    store.transition_model_version_stage("ui-model", 1, "Production")
    store.set_registered_model_alias("ui-model", "champion", 2)
    store.flush()
    return {
        "store": store,
        "path": path,
        "vision": vision,
        "big_exp": big_exp,
        "names": names,
        "big": big,
        "live": live,
        "values": values,
    }


@pytest.fixture(scope="module")
def server(populated: dict[str, Any]) -> Iterator[str]:
    """``tracklite ui`` on the store, on a free loopback port (``--port 0``);
    its base URL, read from the line it prints. Stopped with SIGTERM."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracklite", "--store", str(populated["path"]), "ui", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield _announced_url(proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _announced_url(proc: subprocess.Popen[str]) -> str:
    """The URL in the first line the viewer prints, waited for with a deadline."""
    assert proc.stdout is not None
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            found = re.search(r"http://[^\s]+", line)
            assert found, f"tracklite ui printed {line!r}, no URL"
            return found.group(0).rstrip("/")
        if proc.poll() is not None:
            stderr = proc.stderr.read() if proc.stderr else ""
            pytest.fail(f"tracklite ui exited with {proc.returncode}: {stderr}")
    pytest.fail(f"tracklite ui printed no URL within {START_DEADLINE_S} s")


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page (its own context: no localStorage carried over). Its last
    state is kept as ``last-<test>.png``, which shows where a failed test stopped."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(PAGE_DEADLINE_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page
        page.screenshot(path=str(_screenshots() / f"last-{request.node.name}.png"))
    finally:
        context.close()
    assert not errors, f"errors in the page's scripts: {errors}"


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def _rows(page: Any) -> list[str]:
    """The run names the run table shows, in order."""
    links = page.locator("[data-testid=run-row] [data-testid=run-link]")
    names: list[str] = links.all_inner_texts()
    return names


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(_screenshots() / f"{name}.png"), full_page=True)


def test_experiments_page_lists_them(page: Any, server: str, populated: dict[str, Any]) -> None:
    page.goto(f"{server}/#/")
    page.locator("[data-testid=experiment-row]").first.wait_for()
    rows = page.locator("[data-testid=experiment-row]")
    shown = {
        rows.nth(i).locator("[data-testid=experiment-link]").inner_text(): rows.nth(i)
        .locator("[data-testid=run-count]")
        .inner_text()
        for i in range(rows.count())
    }
    assert shown["ui-vision"] == str(RUNS)
    assert shown["ui-big"] == "2"
    assert shown["ui-empty"] == "0"
    assert str(populated["path"]) in page.get_by_test_id("store-path").inner_text()
    _shot(page, "experiments")
    page.get_by_text("ui-vision", exact=True).click()
    page.wait_for_url(f"**/#/experiments/{populated['vision']}")
    page.get_by_test_id("runs-table").wait_for()


def _open_runs(page: Any, server: str, experiment_id: str) -> None:
    page.goto(f"{server}/#/experiments/{experiment_id}")
    page.get_by_test_id("runs-table").wait_for()


def test_run_table_lists_filters_and_sorts(
    page: Any, server: str, populated: dict[str, Any]
) -> None:
    _open_runs(page, server, populated["vision"])
    # Default order: start time descending, so the last run created comes first.
    assert _rows(page) == [f"run-{i:02d}" for i in reversed(range(RUNS))]
    assert page.get_by_test_id("runs-count").inner_text() == f"{RUNS} runs"
    _shot(page, "runs")

    page.get_by_test_id("filter-input").fill("metrics.acc > 0.5")
    page.get_by_test_id("filter-apply").click()
    expected = [f"run-{i:02d}" for i in range(RUNS) if _acc(i) > 0.5]
    assert len(expected) == 15
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=run-row]').length === n", arg=len(expected)
    )
    assert sorted(_rows(page)) == expected
    _shot(page, "runs-filtered")

    # A bad filter: the server's message under the box, the table as it was.
    bad = "metrics.acc >> 0.5"
    status, body = _get(
        f"{server}/api/runs?"
        + urllib.parse.urlencode({"experiment_ids": populated["vision"], "filter": bad})
    )
    assert status == 400, body
    page.get_by_test_id("filter-input").fill(bad)
    page.get_by_test_id("filter-apply").click()
    error = page.get_by_test_id("filter-error")
    error.wait_for(state="visible")
    assert error.inner_text() == body["message"]
    assert sorted(_rows(page)) == expected
    _shot(page, "runs-bad-filter")

    # Sorting by a metric column: the first click sorts descending, the next ascending.
    page.get_by_test_id("filter-input").fill("")
    page.get_by_test_id("filter-apply").click()
    error.wait_for(state="hidden")
    header = page.locator('[data-testid="col-metrics.acc"]')
    header.click()
    page.locator('[data-testid="col-metrics.acc"][data-sort=desc]').wait_for()
    assert _rows(page) == [f"run-{i:02d}" for i in reversed(range(RUNS))]
    page.locator('[data-testid="col-metrics.acc"]').click()
    page.locator('[data-testid="col-metrics.acc"][data-sort=asc]').wait_for()
    assert _rows(page) == [f"run-{i:02d}" for i in range(RUNS)]
    acc_cells = page.locator('[data-testid=run-row] [data-column="metrics.acc"]').all_inner_texts()
    assert [float(v) for v in acc_cells] == pytest.approx([_acc(i) for i in range(RUNS)], abs=1e-3)
    _shot(page, "runs-sorted")

    # The column chooser hides a column, and the choice survives a reload.
    page.get_by_test_id("column-chooser").locator("summary").click()
    page.locator('[data-testid=column-option][data-column="params.layers"]').uncheck()
    assert page.locator('[data-testid="col-params.layers"]').count() == 0
    page.reload()
    page.get_by_test_id("runs-table").wait_for()
    assert page.locator('[data-testid="col-params.lr"]').count() == 1
    assert page.locator('[data-testid="col-params.layers"]').count() == 0


#: Counts the canvas pixels drawn in a series colour (the palette's first three).
_SERIES_PIXELS = """canvas => {
  const ctx = canvas.getContext('2d');
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const colours = [[0x1f, 0x77, 0xb4], [0xff, 0x7f, 0x0e], [0x2c, 0xa0, 0x2c]];
  const counts = [0, 0, 0];
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] < 200) continue;
    colours.forEach(([r, g, b], k) => {
      if (Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 40) {
        counts[k] += 1;
      }
    });
  }
  return counts;
}"""


def test_compare_chart_draws_the_picked_runs(
    page: Any, server: str, populated: dict[str, Any]
) -> None:
    _open_runs(page, server, populated["vision"])
    picked = ["run-00", "run-01", "run-02"]
    for name in picked:
        page.locator("[data-testid=run-row]", has_text=name).get_by_test_id("run-select").check()
    page.get_by_test_id("compare-button").click()
    chart = page.locator("[data-testid=chart][data-key=loss][data-drawn=true]")
    chart.wait_for()
    assert page.locator("[data-testid=chart][data-key=acc]").count() == 1
    legend = chart.get_by_test_id("chart-legend").inner_text()
    assert all(name in legend for name in picked), legend
    counts = chart.get_by_test_id("chart-canvas").evaluate(_SERIES_PIXELS)
    assert all(n > 50 for n in counts), counts  # each run's line is drawn
    _shot(page, "compare")

    # What the chart drew from: the history endpoint, equal to the store's history.
    store = populated["store"]
    ids = {name: run_id for run_id, name in populated["names"].items()}
    run_ids = [ids[name] for name in picked]
    status, data = _get(
        f"{server}/api/metric-history?"
        + urllib.parse.urlencode({"run_ids": ",".join(run_ids), "key": "loss", "x": "step"})
    )
    assert status == 200, data
    assert [s["run_id"] for s in data["series"]] == run_ids
    for series in data["series"]:
        history = store.metric_history(series["run_id"], "loss")
        assert series["count"] == 20 and not series["downsampled"]
        assert series["x"] == list(history.steps)
        assert series["y"] == pytest.approx(list(history.values))
    drawn = page.evaluate("() => window.__tracklite.charts.loss.series.map(s => s.x.length)")
    assert drawn == [20, 20, 20]


def test_run_page_shows_params_previews_and_a_downsampled_chart(
    page: Any, server: str, populated: dict[str, Any]
) -> None:
    big = populated["big"]
    page.goto(f"{server}/#/runs/{big}")
    page.get_by_test_id("run-name").wait_for()
    assert page.get_by_test_id("run-name").inner_text() == "big"
    assert "optimizer" in page.get_by_test_id("params").inner_text()
    assert "adam" in page.get_by_test_id("params").inner_text()
    assert "ui-data" in page.get_by_test_id("inputs").inner_text()
    summary = page.locator("[data-testid=metric-row][data-key=signal]")
    assert str(BIG_POINTS) in summary.inner_text()

    # The 100,000-point series arrives downsampled to the plot's width, extremes kept.
    chart = page.locator("[data-testid=chart][data-key=signal][data-drawn=true]")
    chart.wait_for()
    assert chart.get_attribute("data-count") == str(BIG_POINTS)
    drawn = int(chart.get_attribute("data-points") or 0)
    assert 100 < drawn < 20_000, drawn
    values = populated["values"]
    ys = page.evaluate("() => window.__tracklite.charts.signal.series[0].y")
    assert min(ys) == pytest.approx(values.min()) and max(ys) == pytest.approx(values.max())

    # The image and the text preview.
    page.locator("[data-testid=artifact-dir][data-path=plots]").click()
    page.locator('[data-testid=artifact-file][data-path="plots/curve.png"]').click()
    image = page.get_by_test_id("artifact-image")
    image.wait_for()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=artifact-image]').naturalWidth > 0"
    )
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [64, 48]
    _shot(page, "run-image")
    page.locator("[data-testid=artifact-file][data-path='notes.txt']").click()
    text = page.get_by_test_id("artifact-text")
    text.wait_for()
    assert text.inner_text() == NOTES.rstrip("\n") or text.inner_text() == NOTES
    _shot(page, "run-text")


def test_chart_zoom_time_axis_and_log_scale(
    page: Any, server: str, populated: dict[str, Any]
) -> None:
    big = populated["big"]
    page.goto(f"{server}/#/runs/{big}")
    chart = page.locator("[data-testid=chart][data-key=signal][data-drawn=true]")
    chart.wait_for()
    data = "() => window.__tracklite.charts.signal"

    # Dragging across the middle of the plot asks for that x range again:
    # its points are the range's own, not the whole series stretched.
    box = chart.get_by_test_id("chart-canvas").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.35, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.55, y, steps=5)
    page.mouse.up()
    page.wait_for_function(f"() => ({data})().series[0].count < {BIG_POINTS}")
    zoomed = page.evaluate(data)["series"][0]
    assert 0 < zoomed["count"] < BIG_POINTS // 2, zoomed["count"]
    lo, hi = min(zoomed["x"]), max(zoomed["x"])
    assert 0 < lo < hi < BIG_POINTS - 1, (lo, hi)
    assert zoomed["count"] == hi - lo + 1  # every step of the range is counted
    _shot(page, "run-zoomed")
    # A double click shows the whole series again.
    chart.get_by_test_id("chart-canvas").dblclick()
    page.wait_for_function(f"() => ({data})().series[0].count === {BIG_POINTS}")

    # Time on the x axis: the points' timestamps (ms), as the store holds them.
    page.get_by_test_id("chart-x").select_option("time")
    page.wait_for_function(f"() => ({data})().x === 'time'")
    timed = page.evaluate(data)["series"][0]
    history = populated["store"].metric_history(big, "signal")
    stamps = list(history.timestamps)
    assert min(timed["x"]) == min(stamps) and max(timed["x"]) == max(stamps)
    page.get_by_test_id("chart-x").select_option("step")
    page.wait_for_function(f"() => ({data})().x === 'step'")

    # Log y redraws the same data on another scale: the picture changes.
    canvas = chart.get_by_test_id("chart-canvas")
    picture = "c => c.toDataURL()"
    linear = canvas.evaluate(picture)
    page.get_by_test_id("chart-log").check()
    page.wait_for_function(
        "([c, before]) => c.toDataURL() !== before", arg=[canvas.element_handle(), linear]
    )
    _shot(page, "run-log-y")
    page.get_by_test_id("chart-log").uncheck()


def test_live_refresh_shows_a_newly_logged_point(
    page: Any, server: str, populated: dict[str, Any]
) -> None:
    live = populated["live"]
    page.goto(f"{server}/#/runs/{live}")
    chart = page.locator("[data-testid=chart][data-key=live][data-drawn=true]")
    chart.wait_for()
    assert chart.get_attribute("data-count") == "10"
    store = populated["store"]
    store.log_metric(live, "live", 100.0, step=50)
    # The chart reads the metric log itself: the point shows before any fold.
    page.wait_for_function(
        """() => {
          const s = window.__tracklite.charts.live.series[0];
          return s.x.includes(50) && s.y[s.x.indexOf(50)] === 100;
        }""",
        timeout=LIVE_DEADLINE_MS,
    )
    page.locator("[data-testid=chart][data-key=live][data-count='11']").wait_for()
    # The summary (latest value, point count) is the index's: it follows the fold.
    store.flush()
    latest = "[data-testid=metric-row][data-key=live] [data-testid=metric-value]"
    page.wait_for_function(
        "css => document.querySelector(css)?.textContent === '100'",
        arg=latest,
        timeout=LIVE_DEADLINE_MS,
    )
    _shot(page, "run-live")


def test_run_table_follows_a_running_run(page: Any, server: str, populated: dict[str, Any]) -> None:
    store = populated["store"]
    experiment = store.create_experiment("ui-table-live")
    run = store.create_run(experiment, run_name="training").info.run_id
    store.log_metric(run, "loss", 2.5, step=0)
    store.flush()
    _open_runs(page, server, experiment)
    row = page.locator(f"[data-testid=run-row][data-run-id='{run}']")
    assert row.get_attribute("data-status") == "RUNNING"
    loss = row.locator("[data-column='metrics.loss']")
    assert loss.inner_text() == "2.5"
    # A new latest value, once folded, shows in the row; so does the end.
    store.log_metric(run, "loss", 0.75, step=1)
    store.flush()
    page.wait_for_function(
        "css => document.querySelector(css)?.textContent === '0.75'",
        arg=f"[data-testid=run-row][data-run-id='{run}'] [data-column='metrics.loss']",
        timeout=LIVE_DEADLINE_MS,
    )
    store.end_run(run)
    row.and_(page.locator("[data-status=FINISHED]")).wait_for(timeout=LIVE_DEADLINE_MS)
    assert "FINISHED" in row.inner_text()
    _shot(page, "runs-live")


def test_registry_pages_show_the_model_and_its_alias(
    page: Any, server: str, populated: dict[str, Any]
) -> None:
    page.goto(f"{server}/#/models")
    row = page.locator("[data-testid=model-row][data-name=ui-model]")
    row.wait_for()
    assert "@champion → v2" in row.inner_text()
    _shot(page, "models")
    row.get_by_test_id("model-link").click()
    page.get_by_test_id("versions-table").wait_for()
    assert page.get_by_test_id("model-name").inner_text() == "ui-model"
    versions = page.locator("[data-testid=version-row]")
    assert versions.count() == 2
    v1 = page.locator("[data-testid=version-row][data-version='1']")
    assert "Production" in v1.inner_text()
    v2 = page.locator("[data-testid=version-row][data-version='2']")
    assert "@champion" in v2.inner_text()
    _shot(page, "model")
    v2.get_by_test_id("version-run").click()
    page.get_by_test_id("run-name").wait_for()
    assert page.get_by_test_id("run-name").inner_text() == "run-01"


def test_chart_helpers_in_the_browser(page: Any, server: str) -> None:
    """The chart's smoothing, nearest-point lookup and ticks, as the served modules compute them."""
    page.goto(f"{server}/#/")
    page.get_by_test_id("experiments-table").wait_for()
    found = page.evaluate(
        """async () => {
          const chart = await import('/assets/chart.js');
          const ticks = await import('/assets/ticks.js');
          return {
            ema: Array.from(chart.ema([0, 10, NaN, 10], 0.5)),
            raw: Array.from(chart.ema([3, 4], 0)),
            nearest: [14, 16, -5, 99].map(x => chart.nearestIndex([0, 10, 20], x)),
            nice: ticks.niceTicks(0, 1, 5),
            log: ticks.logTicks(-3, 1),
            labels: [
              ticks.fmtTick(0.25, [0, 0.25]), ticks.fmtLogTick(0.001), ticks.fmtLogTick(1e5),
            ],
          };
        }"""
    )
    # Debiased EMA: 0, then (0.5 * 10) / (1 - 0.25); NaN passes through, untouched.
    assert found["ema"][:2] == pytest.approx([0, 20 / 3])
    assert found["ema"][2] != found["ema"][2]  # NaN
    assert found["ema"][3] == pytest.approx((0.5 * 5 + 0.5 * 10) / (1 - 0.125))
    assert found["raw"] == [3, 4]
    assert found["nearest"] == [1, 2, 0, 2]
    assert found["nice"] == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1])
    assert found["log"] == pytest.approx([0.001, 0.01, 0.1, 1, 10])
    assert found["labels"] == ["0.25", "0.001", "1e+5"]


def test_index_preloads_every_module() -> None:
    """index.html lists every module for preloading (the pages are not
    bundled: a module missing there is fetched only when its importer has
    arrived, one more round trip before the first page shows)."""
    assets = REPO / "crates" / "tracklite-ui" / "assets"
    modules = {p.relative_to(assets).as_posix() for p in assets.rglob("*.js")}
    index = (assets / "index.html").read_text()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/assets/([^"]+)"', index))
    assert preloaded == modules
