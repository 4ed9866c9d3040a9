"""Errors of the store as MLflow's: every :class:`tracklite.TrackliteError`
leaving the plugin becomes an :class:`~mlflow.exceptions.MlflowException`
carrying the error's ``error_code``, so that MLflow's client, its server
(HTTP status) and user code see the codes they expect."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from mlflow.exceptions import MlflowException
from mlflow.protos import databricks_pb2

from ..errors import TrackliteError

F = TypeVar("F", bound=Callable[..., Any])


def to_mlflow(error: TrackliteError) -> MlflowException:
    """The MlflowException that stands for ``error``, with its code."""
    try:
        code = databricks_pb2.ErrorCode.Value(error.error_code)
    except ValueError:
        code = databricks_pb2.INTERNAL_ERROR
    out = MlflowException(error.message or type(error).__name__, error_code=code)
    out.__cause__ = error
    return out


def translated(method: F) -> F:
    """Runs ``method`` with tracklite's errors raised as MLflow's."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except TrackliteError as e:
            raise to_mlflow(e) from e

    return cast("F", wrapper)


def not_supported(what: str) -> MlflowException:
    """The error of a feature that a tracklite store does not keep."""
    return MlflowException(
        f"{what}: not supported by the tracklite tracking store, which keeps "
        "experiments, runs (params, tags, metrics, datasets, artifacts) and "
        "logged models. Use a database-backed MLflow store for this feature.",
        error_code=databricks_pb2.NOT_IMPLEMENTED,
    )


def invalid(message: str) -> MlflowException:
    return MlflowException(message, error_code=databricks_pb2.INVALID_PARAMETER_VALUE)
