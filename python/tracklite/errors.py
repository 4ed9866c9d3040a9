"""The exceptions tracklite raises.

Every error of the store is a :class:`TrackliteError`. Each class also
derives from the built-in exception a Python caller would expect
(``ValueError`` for a bad value, ``LookupError`` for a missing entity,
``OSError`` for a failed file operation), and carries ``error_code``: the
name MLflow gives that kind of error, so that the MLflow plugin can turn
one into an ``MlflowException`` with the right code.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExistsError",
    "ExportError",
    "FormatError",
    "InvalidFilterError",
    "InvalidStateError",
    "RunDeletedError",
    "InvalidValueError",
    "MlflowNotInstalledError",
    "NotFoundError",
    "ParamChangedError",
    "StoreIOError",
    "TrackliteError",
]


class TrackliteError(Exception):
    """Base class of every error tracklite raises."""

    #: MLflow's name for this kind of error (``databricks_pb2`` codes).
    error_code: str = "INTERNAL_ERROR"

    @property
    def message(self) -> str:
        """The error's message, as given when it was raised."""
        return str(self.args[0]) if self.args else ""


class InvalidValueError(TrackliteError, ValueError):
    """A value broke one of MLflow's rules: a key, a length, a batch size,
    an id, a status."""

    error_code = "INVALID_PARAMETER_VALUE"


class InvalidFilterError(InvalidValueError):
    """A search filter or order_by clause that does not parse, or asks for
    something MLflow's search does not allow."""


class ParamChangedError(InvalidValueError):
    """A param logged again with another value: params are immutable."""


class NotFoundError(TrackliteError, LookupError):
    """An experiment, run, tag or artifact that does not exist."""

    error_code = "RESOURCE_DOES_NOT_EXIST"


class AlreadyExistsError(TrackliteError):
    """A unique name, such as an experiment's, that is already taken."""

    error_code = "RESOURCE_ALREADY_EXISTS"


class InvalidStateError(TrackliteError):
    """The operation is not allowed in the entity's current state, such as
    logging to a deleted run or through a closed writer."""

    error_code = "INVALID_STATE"


class RunDeletedError(InvalidStateError):
    """A change to, or logging into, a deleted run; restore it first.
    Its error code is MLflow's for a write to a run that is not active."""

    error_code = "INVALID_PARAMETER_VALUE"


class FormatError(TrackliteError):
    """The store's files are damaged, are not a tracklite store, or were
    written by a newer tracklite."""

    error_code = "INTERNAL_ERROR"


class StoreIOError(TrackliteError, OSError):
    """A file or database operation of the store failed."""

    error_code = "INTERNAL_ERROR"


class ExportError(TrackliteError):
    """An export to an MLflow tracking server could not be made as a whole:
    the target URL is invalid, the selection names nothing, or the server
    could not be reached. A run that fails alone is listed in the export's
    summary instead."""

    error_code = "INTERNAL_ERROR"


class MlflowNotInstalledError(TrackliteError, ImportError):
    """A call that runs MLflow itself (``autolog``, a model flavor such as
    ``tracklite.sklearn.log_model``) made where MLflow is not installed;
    ``pip install "tracklite[mlflow]"`` brings it."""

    error_code = "INTERNAL_ERROR"
