"""Datasets to record as run inputs: ``from_pandas`` and ``from_numpy``,
as in ``mlflow.data``::

    dataset = mlflow.data.from_pandas(df, source="data/iris.csv", targets="species")
    mlflow.log_input(dataset, context="training")

A dataset here is a description (name, digest, source, schema, profile),
not a copy of the data: the store records the description only. Digests
are tracklite's own fingerprint of the data (8 hex digits), not MLflow's.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from .errors import InvalidValueError

__all__ = ["LoggedDataset", "from_numpy", "from_pandas"]

#: Rows that go into a digest: enough to tell datasets apart, cheap on big ones.
_DIGEST_ROWS = 10_000


class LoggedDataset:
    """A dataset's description, accepted by ``log_input``; ``data`` and
    ``targets`` keep what it was made from."""

    def __init__(
        self,
        name: str,
        digest: str,
        source_type: str,
        source: str,
        schema: str | None,
        profile: str | None,
        data: Any = None,
        targets: Any = None,
    ) -> None:
        self.name = name
        self.digest = digest
        self.source_type = source_type
        self.source = source
        self.schema = schema
        self.profile = profile
        self.data = data
        self.targets = targets

    @property
    def df(self) -> Any:
        """The DataFrame of a dataset made by :func:`from_pandas`."""
        return self.data

    def to_dict(self) -> dict[str, Any]:
        """The dataset's description as a dict: name, digest, source_type,
        source, schema, profile."""
        return {
            "name": self.name,
            "digest": self.digest,
            "source_type": self.source_type,
            "source": self.source,
            "schema": self.schema,
            "profile": self.profile,
        }

    def __repr__(self) -> str:
        return f"<LoggedDataset {self.name!r} digest={self.digest} from {self.source}>"


def _source(source: Any) -> tuple[str, str]:
    """(source_type, JSON source) for a path, a URI or nothing."""
    if source is None:
        return "code", json.dumps({})
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str):
        raise InvalidValueError(f"a dataset source must be a path or URI, not {source!r}")
    scheme = source.split("://", 1)[0].lower() if "://" in source else ""
    kind = {"": "local", "file": "local", "https": "http"}.get(scheme, scheme)
    return kind, json.dumps({"uri": source})


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.hexdigest()[:8]


_PANDAS_TYPES = {"i": "long", "u": "long", "f": "double", "b": "boolean", "M": "datetime"}


def from_pandas(
    df: Any,
    source: Any = None,
    targets: str | None = None,
    name: str | None = None,
    digest: str | None = None,
    predictions: str | None = None,
) -> LoggedDataset:
    """A dataset from a pandas DataFrame: its columns as the schema, its
    row and element counts as the profile."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InvalidValueError(f"from_pandas takes a DataFrame, not {type(df).__name__}")
    if targets is not None and targets not in df.columns:
        raise InvalidValueError(f"targets column {targets!r} is not in the DataFrame")
    source_type, source_json = _source(source)
    if digest is None:
        hashed = pd.util.hash_pandas_object(df.head(_DIGEST_ROWS), index=False)
        digest = _digest(hashed.to_numpy().tobytes(), repr(df.shape).encode())
    columns = [
        {"type": _PANDAS_TYPES.get(dtype.kind, "string"), "name": str(col), "required": True}
        for col, dtype in df.dtypes.items()
    ]
    profile = {"num_rows": int(df.shape[0]), "num_elements": int(df.size)}
    return LoggedDataset(
        name or "dataset",
        digest,
        source_type,
        source_json,
        json.dumps({"mlflow_colspec": columns}),
        json.dumps(profile),
        df,
        targets,
    )


def from_numpy(
    features: Any,
    source: Any = None,
    targets: Any = None,
    name: str | None = None,
    digest: str | None = None,
) -> LoggedDataset:
    """A dataset from numpy arrays (features, and optionally targets):
    their dtypes and shapes as the schema and profile."""
    import numpy as np

    arrays = {"features": np.asarray(features)}
    if targets is not None:
        arrays["targets"] = np.asarray(targets)
    source_type, source_json = _source(source)
    if digest is None:
        digest = _digest(
            *(
                np.ascontiguousarray(a[:_DIGEST_ROWS]).tobytes() + repr(a.shape).encode()
                for a in arrays.values()
            )
        )
    schema = {
        k: {"type": "tensor", "dtype": str(a.dtype), "shape": [-1, *a.shape[1:]]}
        for k, a in arrays.items()
    }
    profile: dict[str, Any] = {}
    for k, a in arrays.items():
        profile[f"{k}_shape"] = list(a.shape)
        profile[f"{k}_size"] = int(a.size)
        profile[f"{k}_nbytes"] = int(a.nbytes)
    return LoggedDataset(
        name or "dataset",
        digest,
        source_type,
        source_json,
        json.dumps({"mlflow_tensorspec": schema}),
        json.dumps(profile),
        arrays["features"],
        targets,
    )
