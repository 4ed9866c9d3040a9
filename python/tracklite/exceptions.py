"""MLflow's exception names for tracklite's errors.

Code written for MLflow catches ``mlflow.exceptions.MlflowException``;
here that name is :class:`tracklite.errors.TrackliteError` itself, the
base of every error tracklite raises, so ``except MlflowException`` catches
them all. ``error_code`` holds MLflow's name for the kind of error, such as
``"RESOURCE_DOES_NOT_EXIST"``.
"""

from __future__ import annotations

from .errors import (
    AlreadyExistsError,
    FormatError,
    InvalidFilterError,
    InvalidStateError,
    InvalidValueError,
    NotFoundError,
    ParamChangedError,
    RunDeletedError,
    StoreIOError,
    TrackliteError,
)

#: The base of every tracklite error, under MLflow's name.
MlflowException = TrackliteError

__all__ = [
    "AlreadyExistsError",
    "FormatError",
    "InvalidFilterError",
    "InvalidStateError",
    "InvalidValueError",
    "MlflowException",
    "NotFoundError",
    "ParamChangedError",
    "RunDeletedError",
    "StoreIOError",
    "TrackliteError",
]
