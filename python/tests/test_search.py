"""Fluent search_runs: MLflow's DataFrame columns, filters and order."""

from __future__ import annotations

import math
import sys
import time

import pytest

import tracklite as mlflow
from tracklite.entities import ViewType

pd = pytest.importorskip("pandas")


@pytest.fixture
def runs():
    """Three finished runs and one still running, in experiment "search"."""
    exp = mlflow.set_experiment("search")
    specs = [
        ("adam-small", {"optimizer": "adam", "lr": 0.01}, {"acc": 0.91, "loss": 0.3}, "cv"),
        ("adam-large", {"optimizer": "adam", "lr": 0.1}, {"acc": 0.95}, "nlp"),
        ("sgd", {"optimizer": "sgd", "lr": 0.1}, {"acc": 0.80, "loss": 0.6}, None),
    ]
    ids = {}
    for name, params, metrics, team in specs:
        with mlflow.start_run(run_name=name) as run:
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
            if team:
                mlflow.set_tag("team", team)
        ids[name] = run.info.run_id
        time.sleep(0.002)  # distinct start times (ms): a definite newest-first order
    running = mlflow.start_run(run_name="running")
    mlflow.log_metric("acc", float("nan"))
    ids["running"] = running.info.run_id
    yield exp.experiment_id, ids
    mlflow.end_run()


def test_dataframe_columns_and_types(runs):
    exp_id, ids = runs
    df = mlflow.search_runs()
    assert list(df.columns[:6]) == [
        "run_id",
        "experiment_id",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
    ]
    rest = set(df.columns[6:])
    assert {"metrics.acc", "metrics.loss", "params.optimizer", "params.lr"} <= rest
    assert {"tags.team", "tags.mlflow.runName", "tags.mlflow.user"} <= rest
    # metrics, then params, then tags
    kinds = [c.split(".")[0] for c in df.columns[6:]]
    assert kinds == sorted(kinds, key=["metrics", "params", "tags"].index)

    assert len(df) == 4 and set(df["run_id"]) == set(ids.values())
    assert set(df["experiment_id"]) == {exp_id}
    assert str(df["start_time"].dtype).startswith("datetime64") and "UTC" in str(
        df["start_time"].dtype
    )
    row = df.set_index("run_id")
    assert row.loc[ids["running"], "status"] == "RUNNING"
    assert pd.isna(row.loc[ids["running"], "end_time"])
    assert row.loc[ids["sgd"], "status"] == "FINISHED"
    assert row.loc[ids["sgd"], "end_time"] >= row.loc[ids["sgd"], "start_time"]
    # missing values: NaN for metrics, None (NaN in pandas' str columns) for the rest
    assert math.isnan(row.loc[ids["adam-large"], "metrics.loss"])
    assert pd.isna(row.loc[ids["sgd"], "tags.team"])
    assert row.loc[ids["adam-small"], "params.lr"] == "0.01"
    assert row.loc[ids["adam-small"], "artifact_uri"].endswith(ids["adam-small"] + "/artifacts")


def test_default_order_is_newest_first(runs):
    _, ids = runs
    df = mlflow.search_runs()
    assert list(df["run_id"]) == [ids["running"], ids["sgd"], ids["adam-large"], ids["adam-small"]]


def test_order_by_metric_puts_missing_and_nan_last(runs):
    _, ids = runs
    df = mlflow.search_runs(order_by=["metrics.acc DESC"])
    assert list(df["run_id"]) == [ids["adam-large"], ids["adam-small"], ids["sgd"], ids["running"]]
    df = mlflow.search_runs(order_by=["metrics.loss ASC"])
    assert list(df["run_id"][:2]) == [ids["adam-small"], ids["sgd"]]
    df = mlflow.search_runs(order_by=["params.lr DESC", "attributes.run_name ASC"])
    assert list(df["tags.mlflow.runName"][:3]) == ["adam-large", "sgd", "adam-small"]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.acc > 0.9", {"adam-small", "adam-large"}),
        ("metrics.acc >= 0.95 AND params.optimizer = 'adam'", {"adam-large"}),
        ("params.optimizer != 'adam'", {"sgd"}),
        ("params.lr = '0.1'", {"adam-large", "sgd"}),
        ("tags.team LIKE 'c%'", {"adam-small"}),
        ("tags.team ILIKE 'NLP'", {"adam-large"}),
        ("tags.team IS NULL", {"sgd", "running"}),
        ("attributes.status = 'RUNNING'", {"running"}),
        ("attributes.run_name = 'sgd'", {"sgd"}),
        ("run_name LIKE 'adam-%'", {"adam-small", "adam-large"}),
        ("metrics.`acc` < 0.85", {"sgd"}),
        ('params."optimizer" = "sgd"', {"sgd"}),
    ],
)
def test_filters(runs, filter_string, expected):
    _, ids = runs
    names = {v: k for k, v in ids.items()}
    df = mlflow.search_runs(filter_string=filter_string)
    assert {names[r] for r in df["run_id"]} == expected


def test_run_id_in_filter(runs):
    _, ids = runs
    wanted = [ids["sgd"], ids["adam-small"]]
    quoted = ", ".join(f"'{i}'" for i in wanted)
    df = mlflow.search_runs(filter_string=f"attributes.run_id IN ({quoted})")
    assert set(df["run_id"]) == set(wanted)


def test_max_results_and_list_output(runs):
    _, ids = runs
    assert len(mlflow.search_runs(max_results=2)) == 2
    listed = mlflow.search_runs(output_format="list", max_results=3)
    assert len(listed) == 3 and all(isinstance(r, mlflow.entities.Run) for r in listed)
    assert listed[0].info.run_id == ids["running"]


def test_view_types(runs):
    _, ids = runs
    mlflow.delete_run(ids["sgd"])
    assert ids["sgd"] not in set(mlflow.search_runs()["run_id"])
    deleted = mlflow.search_runs(run_view_type=ViewType.DELETED_ONLY)
    assert list(deleted["run_id"]) == [ids["sgd"]]
    assert len(mlflow.search_runs(run_view_type=ViewType.ALL)) == 4


def test_experiment_selection(runs):
    exp_id, ids = runs
    mlflow.end_run()
    other = mlflow.create_experiment("other")
    with mlflow.start_run(experiment_id=other) as run:
        pass
    assert list(mlflow.search_runs(experiment_ids=[other])["run_id"]) == [run.info.run_id]
    assert list(mlflow.search_runs(experiment_names=["other"])["run_id"]) == [run.info.run_id]
    assert len(mlflow.search_runs(experiment_ids=[exp_id, other])) == 5
    assert len(mlflow.search_runs(search_all_experiments=True)) == 5
    assert len(mlflow.search_runs()) == 4  # the active experiment only
    assert mlflow.search_runs(experiment_names=["missing"]).empty
    with pytest.raises(mlflow.InvalidValueError):
        mlflow.search_runs(experiment_ids=[exp_id], experiment_names=["other"])


def test_empty_result_has_the_info_columns():
    mlflow.set_experiment("empty")
    df = mlflow.search_runs()
    assert df.empty
    assert list(df.columns) == [
        "run_id",
        "experiment_id",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
    ]


def test_bad_filter_and_order_raise_clear_errors(runs):
    with pytest.raises(mlflow.InvalidFilterError) as e:
        mlflow.search_runs(filter_string="metrics.acc >> 1")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(mlflow.InvalidFilterError):
        mlflow.search_runs(filter_string="metrics.acc > 0.5 OR params.x = 'y'")
    with pytest.raises(mlflow.InvalidFilterError):
        mlflow.search_runs(order_by=["metrics.acc SIDEWAYS"])
    with pytest.raises(mlflow.InvalidValueError, match="output_format"):
        mlflow.search_runs(output_format="arrow")


def test_without_pandas_the_list_still_works(runs, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    assert len(mlflow.search_runs(output_format="list")) == 4
    with pytest.raises(ImportError, match="output_format='list'"):
        mlflow.search_runs()
