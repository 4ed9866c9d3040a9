"""The example scripts run, so that they cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tracklite

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_numpy_training_example_records_a_learning_run(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "train_numpy.py"), "--store", str(store_dir)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "200 steps" in out
    store = tracklite.Store(str(store_dir))
    experiment = store.get_experiment_by_name("demo-python")
    assert experiment is not None
    runs = store.search_runs(experiment.experiment_id)
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.params["lr"] == "0.5"
    steps, _, losses = store.metric_history(run.info.run_id, "train_loss")
    assert list(steps) == list(range(200))
    assert losses[-1] < losses[0] / 2
    assert run.data.metrics["val_accuracy"] > 0.85
