"""``tracklite.show()``: the web viewer served from threads of this
process, read over real HTTP with urllib."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import tracklite


def _store(path: Path) -> tuple[tracklite.Store, str]:
    store = tracklite.Store(path)
    with store.start_run(experiment="viewer", run_name="shown", params={"lr": 0.01}) as run:
        for step in range(5):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
    return store, run.run_id


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.headers["Content-Type"] == "application/json"
        return json.loads(resp.read())


def _port_is_free(port: int) -> bool:
    """True when nothing listens on the port. SO_REUSEADDR, as servers set
    it: the connections the viewer closed linger in TIME_WAIT a minute."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_show_serves_the_runs_and_stop_frees_the_port(tmp_path: Path) -> None:
    store, run_id = _store(tmp_path / "store")
    viewer = tracklite.show(store, open_browser=False)
    try:
        assert viewer.running
        assert viewer.url.startswith("http://127.0.0.1:")
        assert viewer.store == store.path
        runs = _get(viewer.url + "api/runs")["runs"]
        assert [(r["run_id"], r["run_name"]) for r in runs] == [(run_id, "shown")]
        assert runs[0]["params"] == {"lr": "0.01"}
        assert runs[0]["metrics"] == {"loss": 0.2}
        history = _get(f"{viewer.url}api/metric-history?run_ids={run_id}&key=loss")
        assert history["series"][0]["x"] == [0, 1, 2, 3, 4]
        assert _get(viewer.url + "api/health")["read_only"] is True
    finally:
        viewer.stop()
    assert not viewer.running
    port = int(viewer.url.rsplit(":", 1)[1].strip("/"))
    # The listener closes right after stop() returns; poll briefly for it.
    deadline = time.monotonic() + 10
    while not _port_is_free(port):
        assert time.monotonic() < deadline, f"port {port} still taken after stop()"
        time.sleep(0.01)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(viewer.url + "api/health", timeout=5)
    viewer.stop()  # a second stop is harmless


def test_repr_html_is_an_iframe_of_the_url(tmp_path: Path) -> None:
    store, _ = _store(tmp_path / "store")
    with tracklite.show(store.path, open_browser=False) as viewer:
        page = viewer._repr_html_()
        assert f'<iframe src="{viewer.url}"' in page
        assert viewer.url in repr(viewer) and "running" in repr(viewer)
    assert not viewer.running
    assert "stopped" in viewer._repr_html_()


def test_default_store_and_a_chosen_port(fresh_tracking: Path) -> None:
    tracklite.log_metric("acc", 0.5)
    tracklite.end_run()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tracklite.show(port=port, open_browser=False) as viewer:
        assert viewer.url == f"http://127.0.0.1:{port}/"
        assert viewer.store == str(fresh_tracking)
        runs = _get(viewer.url + "api/runs")["runs"]
        assert runs[0]["metrics"] == {"acc": 0.5}


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(tracklite.InvalidStateError, match="no tracklite store at"):
        tracklite.show(tmp_path / "missing", open_browser=False)
    assert not (tmp_path / "missing").exists()
    store, _ = _store(tmp_path / "store")
    with pytest.raises(tracklite.InvalidValueError, match="not a loopback address"):
        tracklite.show(store, host="0.0.0.0", open_browser=False)


def test_outside_a_notebook_the_browser_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = _store(tmp_path / "store")
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, *a, **k: opened.append(url))
    with tracklite.show(store) as viewer:
        assert opened == [viewer.url]


def test_in_a_notebook_it_renders_as_an_iframe(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    store, run_id = _store(tmp_path / "store")
    cells = [
        # No browser may open in a kernel: record any attempt.
        "import webbrowser\nopened = []\nwebbrowser.open = lambda *a, **k: opened.append(a)",
        f"import tracklite\nviewer = tracklite.show({store.path!r})\nviewer",
        "import json, urllib.request\n"
        "runs = json.load(urllib.request.urlopen(viewer.url + 'api/runs'))['runs']\n"
        "print(opened, [r['run_id'] for r in runs])",
        "viewer.stop()\nprint(viewer.running)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3")
    client.execute()
    shown = nb.cells[1].outputs[0]["data"]
    assert shown["text/html"].startswith('<iframe src="http://127.0.0.1:')
    assert shown["text/plain"].startswith("<tracklite.Viewer http://127.0.0.1:")
    assert nb.cells[2].outputs[0]["text"] == f"[] [{run_id!r}]\n"
    assert nb.cells[3].outputs[0]["text"] == "False\n"
