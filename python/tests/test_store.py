"""The native API's typed wrappers: tracklite.Store and tracklite.RunHandle."""

from __future__ import annotations

from pathlib import Path

import pytest

import tracklite
from tracklite.entities import Experiment, PagedList, ViewType


def test_start_run_in_a_named_experiment(store: tracklite.Store):
    with store.start_run(experiment="iris", run_name="baseline", tags={"k": 1}) as run:
        assert isinstance(run, tracklite.RunHandle) and not run.ended
        run.log_param("lr", 0.01)
        run.log_params({"epochs": 3, "layers": [2, 1]})
        run.set_tag("stage", "dev")
        run.set_tags({"a": "1", "b": 2})
        run.delete_tag("a")
        for step in range(3):
            run.log_metric("loss", 1 / (step + 1), step=step)
        run.log_metrics({"acc": 0.9, "f1": 0.8}, step=2)
    assert run.ended and run.info.status == "FINISHED" and run.info.end_time is not None
    exp = store.get_experiment_by_name("iris")
    assert isinstance(exp, Experiment) and run.experiment_id == exp.experiment_id
    got = store.get_run(run.run_id)
    assert got.info.run_name == "baseline"
    assert got.data.params == {"lr": "0.01", "epochs": "3", "layers": "[2, 1]"}
    assert got.data.tags["k"] == "1" and got.data.tags["b"] == "2" and "a" not in got.data.tags
    assert got.data.metrics == {"loss": pytest.approx(1 / 3), "acc": 0.9, "f1": 0.8}
    assert store.start_run(experiment="iris").experiment_id == exp.experiment_id  # reused


def test_run_fails_when_the_block_raises(store: tracklite.Store):
    with pytest.raises(KeyError):
        with store.start_run() as run:
            raise KeyError("boom")
    assert store.get_run(run.run_id).info.status == "FAILED"


def test_end_with_a_status_and_resume(store: tracklite.Store):
    run = store.start_run(experiment_id="0")
    run.log_metric("m", 1.0)
    info = run.end("KILLED")
    assert info.status == "KILLED"
    again = store.start_run(run_id=run.run_id, tags={"resumed": True})
    assert again.run_id == run.run_id and again.info.status == "RUNNING"
    again.log_metric("m", 2.0, step=1)
    again.end()
    h = store.metric_history(run.run_id, "m")
    assert h.values.tolist() == [1.0, 2.0]
    assert store.get_run(run.run_id).data.tags["resumed"] == "True"
    with pytest.raises(tracklite.InvalidValueError):
        store.start_run(experiment="x", experiment_id="0")


def test_params_given_at_the_start(store: tracklite.Store):
    with store.start_run(params={"lr": 0.01, "layers": [2, 1]}) as run:
        run.log_metric("loss", 0.5)
        run.log_param("lr", 0.01)  # the same value again: accepted
    assert store.get_run(run.run_id).data.params == {"lr": "0.01", "layers": "[2, 1]"}
    # A resumed run logs them as log_params does: a changed value is refused.
    with pytest.raises(tracklite.ParamChangedError, match='already logged as "0.01"'):
        store.start_run(run_id=run.run_id, params={"lr": 0.02})
    again = store.start_run(run_id=run.run_id, params={"epochs": 3})
    again.end()
    assert store.get_run(run.run_id).data.params["epochs"] == "3"
    created = store.create_run(params={"seed": 7})
    assert store.get_run(created.info.run_id).data.params == {"seed": "7"}
    with pytest.raises(tracklite.InvalidValueError, match="6000"):
        store.start_run(params={"long": "p" * 6001})
    with pytest.raises(tracklite.InvalidValueError, match="must be a dict"):
        store.start_run(params=[("a", 1)])


def test_nested_and_fetched(store: tracklite.Store):
    parent = store.start_run(run_name="parent")
    child = store.start_run(parent_run_id=parent.run_id)
    assert child.fetch().data.tags["mlflow.parentRunId"] == parent.run_id
    child.flush()
    assert "child" not in repr(parent) and parent.run_id in repr(parent)
    child.end()
    parent.end()


def test_experiments(store: tracklite.Store):
    exp_id = store.create_experiment("e", tags={"team": "cv"})
    store.set_experiment_tag(exp_id, "n", 1)
    store.delete_experiment_tag(exp_id, "team")
    store.rename_experiment(exp_id, "e2")
    exp = store.get_experiment(exp_id)
    assert (exp.name, exp.tags) == ("e2", {"n": "1"})
    assert store.experiment_id_for("e2") == exp_id
    assert {e.name for e in store.list_experiments()} == {"Default", "e2"}
    page = store.search_experiments(filter_string="name = 'e2'")
    assert isinstance(page, PagedList) and [e.experiment_id for e in page] == [exp_id]
    store.delete_experiment(exp_id)
    assert [e.name for e in store.list_experiments(ViewType.DELETED_ONLY)] == ["e2"]
    store.restore_experiment(exp_id)
    assert store.get_experiment(exp_id).lifecycle_stage == "active"


def test_search_runs_over_all_experiments(store: tracklite.Store):
    a = store.start_run(experiment="a")
    a.log_metric("acc", 0.5)
    a.end()
    b = store.start_run(experiment="b")
    b.log_metric("acc", 0.7)
    b.end()
    found = store.search_runs(filter_string="metrics.acc > 0.6")
    assert [r.info.run_id for r in found] == [b.run_id] and found.token is None
    ordered = store.search_runs(order_by="metrics.acc ASC")
    assert [r.info.run_id for r in ordered] == [a.run_id, b.run_id]
    assert store.search_runs(a.experiment_id)[0].info.run_id == a.run_id
    store.delete_run(a.run_id)
    assert [r.info.run_id for r in store.search_runs()] == [b.run_id]
    store.restore_run(a.run_id)
    assert len(store.search_runs(view_type="all")) == 2


def test_artifacts_and_inputs(store: tracklite.Store, tmp_path: Path):
    folder = tmp_path / "files"
    folder.mkdir()
    f = folder / "weights.bin"
    f.write_bytes(b"w")
    with store.start_run() as run:
        run.log_artifact(f, "model")
        run.log_artifacts(folder, "all")
        run.log_text("t", "t.txt")
        run.log_dict({"a": [1]}, "d.json")
        run.log_input({"name": "d", "digest": "1", "source_type": "local", "source": "/d"})
    assert store.read_artifact(run.run_id, "t.txt") == b"t"
    assert store.read_artifact(run.run_id, "model/weights.bin") == b"w"
    assert [x.path for x in store.list_artifacts(run.run_id, "all")] == ["all/weights.bin"]
    assert Path(store.artifact_dir(run.run_id)).is_dir()
    out = store.download_artifacts(run.run_id, "d.json", tmp_path / "out")
    assert Path(out).read_text().startswith("{")
    assert store.get_run(run.run_id).inputs.dataset_inputs[0].dataset.name == "d"


def test_store_properties_and_maintenance(store: tracklite.Store, store_path: Path):
    assert Path(store.path) == store_path.resolve()
    assert Path(store.artifact_root).parent == store_path.resolve()
    assert repr(store) == f"tracklite.Store({store.path!r})"
    run = store.start_run()
    run.log_metric("m", 1.0)
    run.end()
    store.delete_run(run.run_id)
    store.flush()
    assert isinstance(store.check(), dict)
    assert run.run_id in str(store.gc())
    assert isinstance(store.compact(), dict)
    with pytest.raises(tracklite.NotFoundError):
        store.get_run(run.run_id)


def test_the_top_level_names_of_runs_are_unambiguous(store: tracklite.Store):
    # As in MLflow: ActiveRun at the top level, the record in entities, no
    # top-level Run; the native handle has a name of its own.
    assert "RunHandle" in tracklite.__all__ and "ActiveRun" in tracklite.__all__
    assert "Run" not in tracklite.__all__ and not hasattr(tracklite, "Run")
    with pytest.raises(AttributeError, match="tracklite.RunHandle"):
        tracklite.Run  # noqa: B018
    with store.start_run() as run:
        assert repr(run).startswith("<tracklite.RunHandle ")
        assert isinstance(run.fetch(), tracklite.entities.Run)
        assert not isinstance(run, tracklite.entities.Run)


def test_read_only_store_reads_and_refuses_changes(tmp_path):
    path = tmp_path / "store"
    store = tracklite.Store(path)
    with store.start_run(run_name="ro") as run:
        run.log_param("lr", 0.1)
        run.log_metric("loss", 0.5, step=1)
    del store
    before = sorted(p.name for p in path.iterdir())

    ro = tracklite.Store(path, read_only=True)
    assert ro.read_only
    assert ro.get_run(run.run_id).data.params["lr"] == "0.1"
    assert list(ro.metric_history(run.run_id, "loss").values) == [0.5]
    with pytest.raises(tracklite.InvalidStateError, match="read-only"):
        ro.set_tag(run.run_id, "k", "v")
    del ro
    assert sorted(p.name for p in path.iterdir()) == before


def test_read_only_open_of_a_missing_store_creates_nothing(tmp_path):
    with pytest.raises(tracklite.TrackliteError, match="no tracklite store"):
        tracklite.Store(tmp_path / "nowhere", read_only=True)
    assert not (tmp_path / "nowhere").exists()
