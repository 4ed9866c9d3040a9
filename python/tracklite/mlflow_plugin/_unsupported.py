"""Every method of MLflow's store interface that a tracklite store does not
implement raises a clear ``MlflowException`` (``NOT_IMPLEMENTED``).

MLflow's base class does not enforce its abstract methods, and many of
its bodies return None or raise a bare ``NotImplementedError``; a store
that inherited them would answer a GenAI call with None, or the server
with an internal error. :func:`install` walks the interface of the
installed MLflow (mixins included, so methods of later MLflow versions are
covered too) and gives the store a raising method for each one it neither
defines nor may inherit."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from mlflow.store.tracking.abstract_store import AbstractStore

from ._errors import not_supported

#: Methods of the base class whose bodies are right for a tracklite store:
#: they delegate to the methods it implements (log_batch, get_metric_history,
#: get_experiment, search_runs' _search_runs, list_scorers and log_spans,
#: which raise) or run MLflow's async-logging queue.
INHERITED = frozenset(
    {
        "end_async_logging",
        "filter_active_experiment_ids",
        "flush_async_logging",
        "get_metric_history_bulk_interval_from_steps",
        "list_scorers_across_experiments",
        "log_batch_async",
        "log_metric_async",
        "log_param_async",
        "log_spans_async",
        "search_runs",
        "set_model_versions_tags",
        "set_tag_async",
        "shut_down_async_logging",
    }
)

#: What the error message calls a family of methods.
_FEATURES = (
    ("trace", "Tracing (traces, spans, assessments)"),
    ("span", "Tracing (traces, spans, assessments)"),
    ("assessment", "Tracing (traces, spans, assessments)"),
    ("session", "Tracing (traces, spans, assessments)"),
    ("dataset", "GenAI evaluation datasets"),
    ("scor", "GenAI scorers"),
    ("label_schema", "GenAI label schemas"),
    ("review_queue", "GenAI review queues"),
    ("issue", "GenAI issues"),
    ("prompt", "Prompts"),
    ("gateway", "The AI gateway"),
    ("endpoint", "The AI gateway"),
    ("secret", "The AI gateway"),
    ("budget", "The AI gateway"),
    ("guardrail", "The AI gateway"),
    ("mcp", "The MCP server registry"),
)


def feature(name: str) -> str:
    for part, what in _FEATURES:
        if part in name:
            return f"{what} ({name})"
    return name


def interface_methods(base: type = AbstractStore) -> dict[str, Any]:
    """The public methods of one of MLflow's store interfaces (by default
    the tracking store's), by name."""
    return {
        name: member
        for name, member in inspect.getmembers(base)
        if not name.startswith("__")
        and (inspect.isfunction(member) or inspect.iscoroutinefunction(member))
        and not (name.startswith("_") and name not in ("_search_runs",))
    }


def _stub(
    name: str, original: Callable[..., Any], error: Callable[[str], Exception]
) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(original):

        async def async_unsupported(self: Any, *args: Any, **kwargs: Any) -> Any:
            raise error(name)

        stub: Callable[..., Any] = async_unsupported
    else:

        def unsupported(self: Any, *args: Any, **kwargs: Any) -> Any:
            raise error(name)

        stub = unsupported
    functools.update_wrapper(stub, original)
    # Its own doc, not MLflow's: the stub does none of what that describes.
    stub.__doc__ = (
        f"Not kept by a tracklite store: raises MLflow's error saying so ({feature(name)})."
    )
    stub.__tracklite_unsupported__ = True  # type: ignore[attr-defined]
    return stub


def is_stub(method: Any) -> bool:
    return bool(getattr(method, "__tracklite_unsupported__", False))


def _tracking_error(name: str) -> Exception:
    return not_supported(feature(name))


def install(
    cls: type,
    base: type = AbstractStore,
    inherited: frozenset[str] = INHERITED,
    error: Callable[[str], Exception] = _tracking_error,
) -> None:
    """Gives ``cls`` a method raising ``error(name)`` for every method of
    the interface ``base`` that it does not define itself (in a class of
    its own package) or inherit on purpose (``inherited``)."""
    own = {
        name
        for klass in cls.__mro__
        if klass.__module__.startswith("tracklite.")
        for name in vars(klass)
    }
    for name, original in interface_methods(base).items():
        if name in own or name in inherited:
            continue
        setattr(cls, name, _stub(name, original, error))
