"""Notebook display: the HTML of runs, experiments, run lists and metric
histories (escaped, bounded), histories as DataFrames, and plots."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

import tracklite
from tracklite import _html


def _text(markup: str) -> str:
    """The visible text of some HTML: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


def _run_with_history(name: str, n: int, scale: float = 1.0) -> str:
    with tracklite.start_run(run_name=name) as run:
        tracklite.log_param("lr", 0.1 * scale)
        for step in range(n):
            tracklite.log_metric("loss", scale / (step + 1), step=step)
        tracklite.log_metric("acc", 0.5 * scale, step=n)
    return run.info.run_id


def test_run_html_shows_info_metrics_params_and_tags() -> None:
    run_id = _run_with_history("baseline", 3)
    run = tracklite.get_run(run_id)
    markup = run._repr_html_()
    text = _text(markup)
    assert "Run baseline" in text
    assert run_id in text
    assert "FINISHED" in text
    assert "loss" in text and "0.333333" in text  # the latest loss, 1/3
    assert "lr" in text and "0.1" in text
    assert "mlflow.runName" in text


def test_an_active_run_shows_what_is_stored_now() -> None:
    with tracklite.start_run(run_name="live") as run:
        tracklite.log_metric("loss", 0.25)
        assert "0.25" in _text(run._repr_html_())
    assert "FINISHED" in _text(run._repr_html_())


def test_user_strings_are_escaped_everywhere() -> None:
    evil = "<script>alert('x')</script>"
    tracklite.set_experiment(f"exp {evil}")
    with tracklite.start_run(run_name=evil) as active:
        tracklite.log_param("p", evil)
        tracklite.set_tag("t", evil)
        tracklite.log_metric("m", 1.0)
    run = tracklite.get_run(active.info.run_id)
    experiment = tracklite.get_experiment(run.info.experiment_id)
    listed = tracklite.search_runs(output_format="list")
    experiments = tracklite.search_experiments()
    for markup in (
        run._repr_html_(),
        experiment._repr_html_(),
        listed._repr_html_(),
        experiments._repr_html_(),
    ):
        assert "<script>" not in markup
        assert "&lt;script&gt;" in markup
        assert evil in _text(markup)


def test_a_long_run_list_is_cut_with_a_count_of_the_rest() -> None:
    for i in range(_html.MAX_ROWS + 5):
        with tracklite.start_run(run_name=f"r{i}"):
            tracklite.log_metric("x", float(i))
    runs = tracklite.search_runs(output_format="list")
    assert isinstance(runs, list)
    assert len(runs) == _html.MAX_ROWS + 5
    markup = runs._repr_html_()
    assert markup.count("<tr>") == _html.MAX_ROWS + 1  # the header, then MAX_ROWS runs
    assert "… 5 more runs" in _text(markup)
    assert f"{_html.MAX_ROWS + 5} runs" in _text(markup)


def test_client_pages_render_and_other_lists_do_not() -> None:
    _run_with_history("a", 2)
    exp_id = tracklite.get_experiment_by_name("Default").experiment_id
    page = tracklite.MlflowClient().search_runs([exp_id])
    assert "1 run" in _text(page._repr_html_() or "")
    assert tracklite.entities.PagedList([1, 2], None)._repr_html_() is None


def test_many_params_are_bounded() -> None:
    with tracklite.start_run() as active:
        tracklite.log_params({f"p{i:03d}": i for i in range(_html.MAX_ITEMS + 7)})
    markup = tracklite.get_run(active.info.run_id)._repr_html_()
    assert "… 7 more params" in _text(markup)
    assert "p000" in markup and f"p{_html.MAX_ITEMS + 6:03d}" not in markup


def test_a_metric_history_shows_its_summary_and_elides_the_middle(store: tracklite.Store) -> None:
    with store.start_run(run_name="long") as run:
        run.log_metric_array("loss", [float(i) for i in range(100)])
        assert "long" in _text(run._repr_html_())
    history = store.metric_history(run.run_id, "loss")
    text = _text(history._repr_html_())
    assert "100 points, steps 0…99, min 0, max 99, last 99" in text
    assert f"… {100 - 2 * (_html.MAX_ROWS // 2)} more points" in text
    assert "empty" in _text(store.metric_history(run.run_id, "missing")._repr_html_())


def test_a_history_as_a_dataframe(store: tracklite.Store) -> None:
    with store.start_run() as run:
        run.log_metric("loss", 0.5, step=3, timestamp=1_700_000_000_000)
        run.log_metric("loss", 0.25, step=4, timestamp=1_700_000_001_000)
    frame = store.metric_history(run.run_id, "loss").to_pandas()
    assert list(frame.columns) == ["step", "timestamp", "time", "value"]
    assert frame["step"].tolist() == [3, 4]
    assert frame["value"].tolist() == [0.5, 0.25]
    assert str(frame["time"][1]) == "2023-11-14 22:13:21+00:00"


def test_history_of_several_runs_and_keys() -> None:
    a = _run_with_history("a", 3)
    b = _run_with_history("b", 2)
    frame = tracklite.history([a, tracklite.get_run(b)], ["loss", "acc"])
    assert list(frame.columns) == [
        "run_id",
        "run_name",
        "key",
        "step",
        "timestamp",
        "time",
        "value",
    ]
    assert len(frame) == 3 + 1 + 2 + 1
    assert set(frame["run_name"]) == {"a", "b"}
    by_search = tracklite.history(tracklite.search_runs(), "loss")
    assert sorted(by_search["run_name"].unique()) == ["a", "b"]
    with pytest.raises(tracklite.InvalidValueError, match="not int"):
        tracklite.history(42, "loss")


def test_plot_draws_one_curve_per_run_labelled_by_name(tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    a = _run_with_history("first", 5)
    b = _run_with_history("second", 4, scale=2.0)
    ax = tracklite.plot([a, b], "loss")
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["first", "second"]
    assert list(lines[0].get_xdata()) == [0, 1, 2, 3, 4]
    assert list(lines[1].get_ydata()) == [2.0, 1.0, 2 / 3, 0.5]
    assert ax.get_ylabel() == "loss"
    ax.figure.savefig(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 1000
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_plot_several_keys_against_time_from_a_search_frame() -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _run_with_history("only", 3)
    _, ax = plt.subplots()
    out = tracklite.plot(tracklite.search_runs(), ["loss", "acc"], x="relative", ax=ax)
    assert out is ax
    assert [line.get_label() for line in ax.get_lines()] == ["loss", "acc"]
    assert ax.get_xlabel() == "seconds"
    with pytest.raises(tracklite.InvalidValueError, match="x must be one of"):
        tracklite.plot(tracklite.search_runs(), "loss", x="epoch")
    plt.close("all")
