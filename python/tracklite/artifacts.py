"""Reading artifacts back, as ``mlflow.artifacts`` does.

An artifact is named by ``run_id`` and ``artifact_path``, or by a URI:
``runs:/<run_id>/<path>``, or the local location that
``get_artifact_uri()`` returns (a path or a ``file:`` URI)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Any
from urllib.parse import unquote, urlparse

from . import _tracking
from .entities import FileInfo
from .errors import InvalidValueError, NotFoundError

__all__ = ["download_artifacts", "list_artifacts", "load_dict", "load_text"]


def _parse_runs_uri(uri: str) -> tuple[str, str | None]:
    """(run_id, path) of ``runs:/<run_id>/<path>``."""
    rest = uri[len("runs:") :].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise InvalidValueError(f"artifact URI {uri!r} names no run: use runs:/<run_id>/<path>")
    return run_id, (path.strip("/") or None)


def _local_path(uri: str) -> str:
    if uri.startswith("file:"):
        return unquote(urlparse(uri).path)
    return uri


def _target(
    artifact_uri: str | None, run_id: str | None, artifact_path: str | None
) -> tuple[str | None, str | None]:
    """(run_id, path) of a run's artifact, or (None, local path)."""
    if artifact_uri is not None:
        if run_id is not None or artifact_path is not None:
            raise InvalidValueError("give artifact_uri, or run_id and artifact_path, not both")
        if artifact_uri.startswith("runs:"):
            return _parse_runs_uri(artifact_uri)
        return None, _local_path(artifact_uri)
    if run_id is None:
        raise InvalidValueError("give artifact_uri, or run_id (and artifact_path)")
    return run_id, artifact_path


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | os.PathLike[str] | None = None,
    tracking_uri: str | None = None,
) -> str:
    """Copies an artifact (a file or a folder) to ``dst_path`` (a new
    temporary folder by default) and returns the local path of the copy."""
    rid, path = _target(artifact_uri, run_id, artifact_path)
    if rid is not None:
        store = _tracking.open_store(tracking_uri)
        return store.download_artifacts(rid, path, dst_path)
    assert path is not None
    if not os.path.exists(path):
        raise NotFoundError(f"artifact {path!r} does not exist")
    dest = tempfile.mkdtemp(prefix="tracklite-") if dst_path is None else os.fspath(dst_path)
    os.makedirs(dest, exist_ok=True)
    out = os.path.join(dest, os.path.basename(os.path.normpath(path)))
    if os.path.isdir(path):
        shutil.copytree(path, out, dirs_exist_ok=True)
    else:
        shutil.copyfile(path, out)
    return out


def list_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    tracking_uri: str | None = None,
) -> list[FileInfo]:
    """The files and folders directly under a run's artifact folder."""
    rid, path = _target(artifact_uri, run_id, artifact_path)
    if rid is None:
        raise InvalidValueError("list_artifacts takes a runs:/ URI or a run_id")
    return _tracking.open_store(tracking_uri).list_artifacts(rid, path)


def _read(artifact_uri: str) -> bytes:
    rid, path = _target(artifact_uri, None, None)
    if rid is not None:
        if path is None:
            raise InvalidValueError(f"artifact URI {artifact_uri!r} names no file")
        return _tracking.open_store().read_artifact(rid, path)
    assert path is not None
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise NotFoundError(f"artifact {path!r} does not exist") from None


def load_text(artifact_uri: str) -> str:
    """The contents of a text artifact."""
    return _read(artifact_uri).decode("utf-8")


def load_dict(artifact_uri: str) -> Any:
    """A JSON artifact (or YAML, for .yaml/.yml files, with PyYAML) as a dict."""
    data = _read(artifact_uri)
    if artifact_uri.lower().endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError:
            pass
        else:
            return yaml.safe_load(data)
    try:
        return json.loads(data)
    except ValueError as e:
        raise InvalidValueError(f"artifact {artifact_uri!r} is not JSON: {e}") from e
