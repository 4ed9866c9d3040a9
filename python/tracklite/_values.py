"""Conversions of caller values into what the native module takes, with
MLflow's rules and clear errors for values it would refuse."""

from __future__ import annotations

import math
import operator
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from .entities import RunStatus, ViewType
from .errors import InvalidValueError

#: ``mlflow.data.context``: the input tag naming a dataset's role.
DATASET_CONTEXT_TAG = "mlflow.data.context"
#: MLflow's tag for a run's description.
NOTE_TAG = "mlflow.note.content"
PARENT_RUN_TAG = "mlflow.parentRunId"
RUN_NAME_TAG = "mlflow.runName"

if TYPE_CHECKING:
    from ._native import DatasetInputDict

_VIEWS = {ViewType.ACTIVE_ONLY: "active", ViewType.DELETED_ONLY: "deleted", ViewType.ALL: "all"}


def now_ms() -> int:
    return int(time.time() * 1000)


def type_name(x: object) -> str:
    return type(x).__name__


def view(view_type: int | str) -> str:
    """The native spelling of a view type given as ``ViewType.*`` or a name."""
    if isinstance(view_type, str):
        view_type = ViewType.from_string(view_type)
    try:
        return _VIEWS[view_type]
    except (KeyError, TypeError):
        ViewType.to_string(view_type)  # raises the error that explains
        raise


def status(status: str | int) -> str:
    """A run status name, given as a name or as ``RunStatus.*``."""
    if isinstance(status, str):
        RunStatus.from_string(status)  # checks the name
        return status
    return RunStatus.to_string(status)


def integer(x: Any, what: str) -> int:
    """An int from an int, a numpy integer, or a float with no fraction.
    NaN, infinities, fractions and non-numbers are refused."""
    try:
        return operator.index(x)
    except TypeError:
        pass
    if isinstance(x, float) or hasattr(x, "__float__"):
        try:
            f = float(x)
        except (TypeError, ValueError):
            f = math.nan
        if math.isfinite(f) and f.is_integer():
            return int(f)
    raise InvalidValueError(f"{what} must be an integer, not {x!r} ({type_name(x)})")


def timestamp(x: Any) -> int:
    """A timestamp in ms; None or 0 mean now, as in MLflow."""
    if not x:
        return now_ms()
    if isinstance(x, float) and math.isfinite(x):
        return int(x)  # MLflow takes float timestamps and stores their integer part
    return integer(x, "a metric timestamp")


def step(x: Any) -> int:
    return 0 if x is None else integer(x, "a metric step")


def metric_value(key: Any, value: Any) -> float:
    """A metric value as a float: numbers, numpy scalars and anything with
    ``__float__``; NaN and infinities are legal."""
    if isinstance(value, (str, bytes)) or value is None:
        raise InvalidValueError(
            f"got invalid value {value!r} for metric {key!r}: "
            "a metric value must be a number (64-bit float)"
        )
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError) as e:
        raise InvalidValueError(
            f"got invalid value {value!r} ({type_name(value)}) for metric {key!r}: "
            "a metric value must be a number (64-bit float)"
        ) from e


def key(k: Any, what: str) -> str:
    if not isinstance(k, str):
        raise InvalidValueError(f"{what} keys must be str, not {k!r} ({type_name(k)})")
    return k


def text(value: Any) -> str:
    """A param or tag value: ``str(value)``, as MLflow stores it."""
    return value if isinstance(value, str) else str(value)


def str_dict(d: Mapping[Any, Any] | None, what: str) -> dict[str, str]:
    """Keys checked to be str, values turned into str."""
    if d is None:
        return {}
    if not isinstance(d, Mapping):
        raise InvalidValueError(f"{what} must be a dict, not {type_name(d)}")
    return {key(k, what): text(v) for k, v in d.items()}


def metric_tuple(m: Any) -> tuple[str, float, int, int]:
    """``(key, value, timestamp, step)`` from any object with those
    attributes (tracklite's or MLflow's Metric) or a 4-tuple."""
    if isinstance(m, tuple):
        if len(m) != 4:
            raise InvalidValueError(f"a metric tuple must be (key, value, timestamp, step): {m!r}")
        k, v, ts, st = m
    else:
        try:
            k, v = m.key, m.value
        except AttributeError:
            raise InvalidValueError(
                f"a metric must have key, value, timestamp and step; got {type_name(m)}"
            ) from None
        ts, st = getattr(m, "timestamp", None), getattr(m, "step", None)
    k = key(k, "metric")
    return (k, metric_value(k, v), timestamp(ts), step(st))


def pair(obj: Any, what: str) -> tuple[str, str]:
    """``(key, str(value))`` from an object with key and value, or a pair."""
    if isinstance(obj, tuple) and len(obj) == 2:
        k, v = obj
    else:
        try:
            k, v = obj.key, obj.value
        except AttributeError:
            raise InvalidValueError(
                f"a {what} must have key and value; got {type_name(obj)}"
            ) from None
    return key(k, what), text(v)


def chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _json_text(x: Any) -> str | None:
    if x is None or isinstance(x, str):
        return x
    import json

    for name in ("to_json", "to_dict"):
        f = getattr(x, name, None)
        if callable(f):
            out = f()
            return out if isinstance(out, str) else json.dumps(out, default=str)
    return json.dumps(x, default=str)


def dataset(obj: Any) -> dict[str, Any]:
    """A dataset as the native module takes it, from a dict, tracklite's
    :class:`~tracklite.entities.Dataset`, or any object with ``name``,
    ``digest``, ``source_type``, ``source`` (and optionally ``schema`` and
    ``profile``), MLflow's datasets included."""
    if isinstance(obj, Mapping):
        fields = dict(obj)
    else:
        entity = getattr(obj, "_to_mlflow_entity", None)  # MLflow's dataset objects
        if callable(entity):
            obj = entity()
        source = getattr(obj, "source", None)
        source_type = getattr(obj, "source_type", None)
        get_type = getattr(source, "_get_source_type", None)
        if source_type is None and callable(get_type):
            source_type = get_type()
        fields = {
            "name": getattr(obj, "name", None),
            "digest": getattr(obj, "digest", None),
            "source_type": source_type,
            "source": source,
            "schema": getattr(obj, "schema", None),
            "profile": getattr(obj, "profile", None),
        }
    out: dict[str, Any] = {}
    for name in ("name", "digest", "source_type", "source"):
        v = fields.get(name)
        if name == "source":
            v = _json_text(v)
        if not isinstance(v, str):
            raise InvalidValueError(f"a dataset needs a str {name!r}; got {v!r} ({type_name(v)})")
        out[name] = v
    for name in ("schema", "profile"):
        out[name] = _json_text(fields.get(name))
    return out


def dataset_input(
    ds: Any, context: str | None = None, tags: Mapping[str, Any] | None = None
) -> DatasetInputDict:
    """A native dataset input: the dataset, and its tags with the context."""
    input_tags = str_dict(tags, "dataset input tags")
    if context:
        input_tags[DATASET_CONTEXT_TAG] = text(context)
    return cast("DatasetInputDict", {"dataset": dataset(ds), "tags": input_tags})


def dataset_input_from_entity(di: Any) -> DatasetInputDict:
    """A native dataset input from an object with ``dataset`` and ``tags``
    (a list of key/value objects or a dict)."""
    tags = getattr(di, "tags", None) or {}
    if not isinstance(tags, Mapping):
        tags = dict(pair(t, "input tag") for t in tags)
    d = {"dataset": dataset(di.dataset), "tags": str_dict(tags, "dataset input tags")}
    return cast("DatasetInputDict", d)
