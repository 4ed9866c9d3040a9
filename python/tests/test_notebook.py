"""The example notebook runs in a real Jupyter kernel (nbclient and
ipykernel) against a temporary store, and shows what it promises: HTML
tables of a run, an experiment and a run list, a DataFrame, a plot, and
an image and a table on disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import tracklite

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "notebook.ipynb"
#: The longest a cell may run (the kernel's start and the first imports included).
CELL_TIMEOUT_S = 120


def _outputs(cell: Any, mime: str) -> list[str]:
    found = []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if mime in data:
            value = data[mime]
            found.append("".join(value) if isinstance(value, list) else value)
    return found


def _cell_with(nb: Any, text: str) -> Any:
    return next(c for c in nb.cells if c.cell_type == "code" and text in c.source)


def test_the_example_notebook_runs_and_displays(tmp_path: Path, fresh_tracking: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    pytest.importorskip("pandas")

    nb = nbformat.read(NOTEBOOK, as_version=4)
    # The kernel inherits TRACKLITE_STORE (the test's store) and runs in tmp_path.
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()

    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors

    run_html = _outputs(_cell_with(nb, "mlflow.get_run(run.info.run_id)"), "text/html")
    assert run_html and "<h3>Run lr=0.2</h3>" in run_html[0]
    experiment_cell = next(c for c in nb.cells if c.source.strip() == "experiment")
    experiment_html = _outputs(experiment_cell, "text/html")
    assert experiment_html and "<h3>Experiment notebook-demo</h3>" in experiment_html[0]
    list_html = _outputs(_cell_with(nb, 'output_format="list"'), "text/html")
    assert list_html and "3 runs" in list_html[0] and "metrics.loss" in list_html[0]
    frame_html = _outputs(_cell_with(nb, "mlflow.search_runs()[["), "text/html")
    assert frame_html and "params.lr" in frame_html[0]  # pandas' own table
    assert _outputs(_cell_with(nb, "tracklite.plot("), "image/png")

    listed = _outputs(_cell_with(nb, "mlflow.log_image("), "text/plain")
    assert listed == ["['error.png', 'predictions.json']"]

    store = tracklite.Store(fresh_tracking)
    exp = store.get_experiment_by_name("notebook-demo")
    assert exp is not None
    runs = store.search_runs(exp.experiment_id, order_by=["metrics.loss ASC"])
    assert [r.info.run_name for r in runs] == ["lr=0.2", "lr=0.05", "lr=0.01"]
    best = runs[0].info.run_id
    assert store.read_artifact(best, "error.png")[:8] == b"\x89PNG\r\n\x1a\n"
    table = json.loads(store.read_artifact(best, "predictions.json"))
    assert table["columns"] == ["y", "prediction"] and len(table["data"]) == 5
    # Nothing but the store was written, in the kernel's working folder either.
    assert [p.name for p in tmp_path.iterdir()] == [fresh_tracking.name]
