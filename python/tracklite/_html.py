"""HTML for notebooks: the ``_repr_html_`` of runs, experiments, lists of
them and metric histories.

Every string that comes from a user (names, params, tags, ids) goes
through :func:`html.escape`, so a run named ``<script>`` shows as text.
Tables are bounded: past :data:`MAX_ROWS` rows (or :data:`MAX_ITEMS`
params, tags or metrics of one run) the rest is counted, not drawn.
"""

from __future__ import annotations

import datetime
import html
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._store import MetricHistory
    from .entities import Experiment, Run

#: Rows of a run list or a metric history drawn before "… N more".
MAX_ROWS = 20
#: Params, tags or metrics of one run drawn before "… N more".
MAX_ITEMS = 30
#: Params and metrics shown as columns of a run list.
MAX_COLUMNS = 8

_STYLE = (
    "<style>.tracklite-table td,.tracklite-table th"
    "{text-align:left;padding:2px 8px;vertical-align:top}</style>"
)


def esc(value: Any) -> str:
    """``value`` as text, escaped for HTML (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def when(ms: int | None) -> str:
    """A time in ms since the epoch as UTC ``YYYY-MM-DD HH:MM:SS``."""
    if ms is None:
        return ""
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def number(x: float) -> str:
    """A metric value, short: 6 significant digits, NaN and ±inf by name."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.6g}"


def more(hidden: int, what: str) -> str:
    """ "… N more <what>", or nothing when none are hidden."""
    return f"<p><em>… {hidden} more {esc(what)}</em></p>" if hidden > 0 else ""


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table; ``header`` is escaped here, cells must be escaped already."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="tracklite-table"><tr>{head}</tr>{body}</table>'


def _pairs(title: str, items: dict[str, Any], fmt: Any = esc) -> str:
    if not items:
        return ""
    keys = sorted(items)
    shown = [(esc(k), fmt(items[k])) for k in keys[:MAX_ITEMS]]
    return (
        f"<h4>{esc(title)} ({len(keys)})</h4>"
        + table(("key", "value"), shown)
        + more(len(keys) - MAX_ITEMS, title.lower())
    )


def run_html(run: Run) -> str:
    """A run: its info, then its metrics (latest values), params and tags."""
    info = run.info
    name = info.run_name or info.run_id
    rows = [
        ("run_id", esc(info.run_id)),
        ("experiment_id", esc(info.experiment_id)),
        ("status", esc(info.status)),
        ("start_time", esc(when(info.start_time))),
        ("end_time", esc(when(info.end_time))),
        ("lifecycle_stage", esc(info.lifecycle_stage)),
        ("artifact_uri", esc(info.artifact_uri)),
    ]
    if info.user_id:
        rows.insert(3, ("user_id", esc(info.user_id)))
    return (
        f"<div>{_STYLE}<h3>Run {esc(name)}</h3>"
        + table(("field", "value"), rows)
        + _pairs("Metrics", run.data.metrics, number)
        + _pairs("Params", run.data.params)
        + _pairs("Tags", run.data.tags)
        + "</div>"
    )


def experiment_html(experiment: Experiment) -> str:
    """An experiment: its info, then its tags."""
    rows = [
        ("experiment_id", esc(experiment.experiment_id)),
        ("lifecycle_stage", esc(experiment.lifecycle_stage)),
        ("artifact_location", esc(experiment.artifact_location)),
        ("creation_time", esc(when(experiment.creation_time))),
        ("last_update_time", esc(when(experiment.last_update_time))),
    ]
    return (
        f"<div>{_STYLE}<h3>Experiment {esc(experiment.name)}</h3>"
        + table(("field", "value"), rows)
        + _pairs("Tags", experiment.tags)
        + "</div>"
    )


def _first_keys(dicts: Iterable[dict[str, Any]]) -> tuple[list[str], int]:
    """The first :data:`MAX_COLUMNS` keys (in order of first appearance)
    and how many others there are."""
    keys = list(dict.fromkeys(k for d in dicts for k in d))
    return keys[:MAX_COLUMNS], max(0, len(keys) - MAX_COLUMNS)


def runs_html(runs: Sequence[Run]) -> str:
    """A table of runs: one row each, with their first metrics and params."""
    shown = list(runs[:MAX_ROWS])
    metric_keys, metrics_hidden = _first_keys(r.data.metrics for r in runs)
    param_keys, params_hidden = _first_keys(r.data.params for r in runs)
    header = ["run", "run_id", "status", "start_time"]
    header += [f"metrics.{k}" for k in metric_keys] + [f"params.{k}" for k in param_keys]
    rows = []
    for r in shown:
        metrics, params = r.data.metrics, r.data.params
        rows.append(
            [esc(r.info.run_name), esc(r.info.run_id), esc(r.info.status)]
            + [esc(when(r.info.start_time))]
            + [number(metrics[k]) if k in metrics else "" for k in metric_keys]
            + [esc(params.get(k)) for k in param_keys]
        )
    note = ""
    if metrics_hidden or params_hidden:
        note = (
            f"<p><em>{metrics_hidden} more metric and {params_hidden} more param "
            "columns not shown</em></p>"
        )
    return (
        f"<div>{_STYLE}<p>{len(runs)} run{'s' if len(runs) != 1 else ''}</p>"
        + table(header, rows)
        + more(len(runs) - len(shown), "runs")
        + note
        + "</div>"
    )


def experiments_html(experiments: Sequence[Experiment]) -> str:
    """A table of experiments, one row each."""
    shown = experiments[:MAX_ROWS]
    rows = [
        (esc(e.experiment_id), esc(e.name), esc(e.lifecycle_stage), esc(when(e.creation_time)))
        for e in shown
    ]
    return (
        f"<div>{_STYLE}<p>{len(experiments)} experiment{'s' if len(experiments) != 1 else ''}</p>"
        + table(("experiment_id", "name", "lifecycle_stage", "creation_time"), rows)
        + more(len(experiments) - len(shown), "experiments")
        + "</div>"
    )


def history_html(history: MetricHistory) -> str:
    """A metric history: its size and range, then its first and last
    points (the middle is elided past :data:`MAX_ROWS` points)."""
    n = len(history.values)
    if n == 0:
        return "<div><p>an empty metric history</p></div>"
    steps = history.steps.tolist()
    stamps = history.timestamps.tolist()
    values = history.values.tolist()
    finite = [x for x in values if not (math.isnan(x) or math.isinf(x))]
    summary = f"{n} point{'s' if n != 1 else ''}, steps {steps[0]}…{steps[-1]}"
    if finite:
        summary += f", min {number(min(finite))}, max {number(max(finite))}"
    summary += f", last {number(values[-1])}"

    def row(i: int) -> list[str]:
        return [esc(steps[i]), esc(when(stamps[i])), number(values[i])]

    if n <= MAX_ROWS:
        rows = [row(i) for i in range(n)]
    else:
        half = MAX_ROWS // 2
        gap = [f"<em>… {n - 2 * half} more points</em>", "", ""]
        rows = [row(i) for i in range(half)] + [gap] + [row(i) for i in range(n - half, n)]
    return f"<div>{_STYLE}<p>{summary}</p>" + table(("step", "time", "value"), rows) + "</div>"


def list_html(items: Sequence[Any]) -> str | None:
    """A list of runs or of experiments as a table; None for anything
    else (the notebook then shows the plain ``repr``)."""
    from .entities import Experiment, Run

    if items and all(isinstance(x, Run) for x in items):
        return runs_html(items)
    if items and all(isinstance(x, Experiment) for x in items):
        return experiments_html(items)
    return None
