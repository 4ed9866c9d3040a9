"""Metric histories for MLflow: pages of one history, and the sampled
histories of several runs that MLflow's UI draws its charts from. A
history is read once from the store as numpy columns and cut or sampled
there, without building a Python object per point that is not returned."""

from __future__ import annotations

import base64
import bisect
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from mlflow.entities import Metric
from mlflow.entities.metric import MetricWithRunId
from mlflow.store.entities.paged_list import PagedList

from .._native import metric_objects
from ._errors import invalid

Columns = tuple[Any, Any, Any]  # steps, timestamps, values (numpy arrays)
# (ordinal, dataset_name, dataset_digest) of the points that name a dataset,
# by ordinal (the point's position in the history); see
# ``Store.metric_dataset_links``.
Links = Sequence[tuple[int, str, str]]


def _metrics(key: str, cols: Columns, index: Any) -> list[Metric]:
    steps, timestamps, values = (np.ascontiguousarray(c[index]) for c in cols)
    return metric_objects(Metric, key, steps, timestamps, values)


def encode_offset(offset: int) -> str:
    raw = json.dumps({"history_offset": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_offset(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["history_offset"]
    except (ValueError, KeyError, TypeError):
        raise invalid(f"invalid metric history page token {token!r}") from None
    if not isinstance(offset, int) or offset < 0:
        raise invalid(f"invalid metric history page token {token!r}")
    return offset


def _linked(key: str, cols: Columns, start: int, end: int, links: Links) -> list[Metric]:
    """The points ``start`` to ``end`` of a history; those that name a
    dataset carry its name and digest, as MLflow's file store reads them."""
    out = _metrics(key, cols, slice(start, end))
    # Links are sorted by ordinal: (n,) sorts before every link of ordinal n.
    first, last = bisect.bisect_left(links, (start,)), bisect.bisect_left(links, (end,))
    for ordinal, name, digest in links[first:last]:
        m = out[ordinal - start]
        out[ordinal - start] = Metric(
            key, m.value, m.timestamp, m.step, dataset_name=name, dataset_digest=digest
        )
    return out


def page(
    key: str,
    cols: Columns,
    max_results: int | None,
    page_token: str | None,
    links: Links = (),
) -> PagedList[Metric]:
    """One page of a history in the order logged: all of it when
    ``max_results`` is None (MLflow's unpaged call), else up to
    ``max_results`` points from the token's offset, with the token of the
    next page when more remain. The points that ``links`` names carry
    their dataset."""
    total = len(cols[0])
    start = 0 if page_token is None else decode_offset(page_token)
    if max_results is None:
        return PagedList(_linked(key, cols, start, max(start, total), links), None)
    if max_results < 1:
        raise invalid(f"max_results must be a positive integer, not {max_results!r}")
    end = min(total, start + max_results)
    token = encode_offset(end) if end < total else None
    return PagedList(_linked(key, cols, start, max(start, end), links), token)


def _by_step(cols: Columns) -> Columns:
    """The columns ordered by (step, timestamp), stably."""
    order = np.lexsort((cols[1], cols[0]))
    return (cols[0][order], cols[1][order], cols[2][order])


def evenly_spaced(total: int, count: int) -> Any:
    """At most ``count`` indices into ``total`` items, evenly spread, the
    first and last always included."""
    if total <= count:
        return np.arange(total)
    if count == 1:
        return np.array([total - 1])
    return np.unique(np.rint(np.linspace(0, total - 1, count)).astype(np.int64))


def sampled_steps(
    histories: Sequence[Columns], max_results: int, start_step: int | None, end_step: int | None
) -> Any:
    """The steps to show of several runs' histories in ``[start_step,
    end_step]``: about ``max_results`` of the steps logged, evenly spread,
    plus each run's first and last step in range, so that no curve loses
    its ends."""
    if (start_step is None) != (end_step is None):
        raise invalid("give both start_step and end_step, or neither")
    max_results = max(1, int(max_results))
    present = [h[0] for h in histories if len(h[0])]
    if not present:
        return np.array([], dtype=np.int64)
    all_steps = np.unique(np.concatenate(present))
    if start_step is None or end_step is None:  # both, as checked above
        start_step, end_step = 0, int(all_steps[-1])
    in_range = all_steps[(all_steps >= start_step) & (all_steps <= end_step)]
    if len(in_range) > max_results:
        idx = (np.arange(max_results) * (len(in_range) / max_results)).astype(np.int64)
        chosen = np.union1d(in_range[idx], in_range[-1:])
    else:
        chosen = in_range
    ends = [
        s
        for steps in present
        for s in (int(steps.min()), int(steps.max()))
        if start_step <= s <= end_step
    ]
    return np.union1d(chosen, np.array(ends, dtype=np.int64))


def interval(
    key: str,
    run_ids: Sequence[str],
    histories: Sequence[Columns],
    max_results: int,
    start_step: int | None,
    end_step: int | None,
) -> list[MetricWithRunId]:
    """MLflow's ``get_metric_history_bulk_interval``: each run's points at
    the sampled steps, ordered by (step, timestamp), at most about
    ``max_results`` per run (evenly spread when many points share steps)."""
    steps = sampled_steps(histories, max_results, start_step, end_step)
    per_run = max(max(1, int(max_results)), len(steps))
    out: list[MetricWithRunId] = []
    for run_id, cols in zip(run_ids, histories):
        ordered = _by_step(cols)
        keep = np.flatnonzero(np.isin(ordered[0], steps))
        keep = keep[evenly_spaced(len(keep), per_run)]
        out.extend(MetricWithRunId(m, run_id) for m in _metrics(key, ordered, keep))
    return out


def bulk(
    key: str, run_ids: Sequence[str], histories: Sequence[Columns], max_results: int
) -> list[MetricWithRunId]:
    """MLflow's ``get_metric_history_bulk``: the runs' points in run id
    order, each run's by (timestamp, step, value), ``max_results`` in all."""
    out: list[MetricWithRunId] = []
    for run_id, cols in sorted(zip(run_ids, histories), key=lambda rc: rc[0]):
        order = np.lexsort((cols[2], cols[0], cols[1]))
        for m in _metrics(key, cols, order[: max(0, max_results - len(out))]):
            out.append(MetricWithRunId(m, run_id))
        if len(out) >= max_results:
            break
    return out
