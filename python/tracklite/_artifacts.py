"""Turning in-memory objects (text, dicts, figures) into artifact files."""

from __future__ import annotations

import json
import os
import posixpath
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .errors import InvalidValueError


def dict_bytes(dictionary: Any, artifact_file: str) -> bytes:
    """The dict as YAML when the file ends in .yaml/.yml and PyYAML is
    installed, else as indented JSON (also valid YAML). Values JSON cannot
    hold are written as their ``str()``."""
    ext = os.path.splitext(artifact_file)[1].lower()
    if ext in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            pass
        else:
            out: str = yaml.safe_dump(dictionary, indent=2, default_flow_style=False)
            return out.encode("utf-8")
    return json.dumps(dictionary, indent=2, default=str).encode("utf-8")


def text_bytes(text: Any) -> bytes:
    if not isinstance(text, str):
        raise InvalidValueError(f"log_text takes a str, not {type(text).__name__}")
    return text.encode("utf-8")


@contextmanager
def temp_artifact(artifact_file: str) -> Iterator[tuple[str, str | None]]:
    """A path, in a fresh temporary folder, named as the artifact's file,
    and the artifact folder to log it into: ``(local_path, artifact_path)``."""
    if not isinstance(artifact_file, str) or not artifact_file:
        raise InvalidValueError(f"artifact_file must be a non-empty str, not {artifact_file!r}")
    folder, name = posixpath.split(artifact_file)
    if not name:
        raise InvalidValueError(f"artifact_file {artifact_file!r} names a folder, not a file")
    with tempfile.TemporaryDirectory(prefix="tracklite-") as tmp:
        yield os.path.join(tmp, name), (folder or None)


def _module_of(obj: Any) -> str:
    return type(obj).__module__ or ""


def save_figure(figure: Any, path: str, save_kwargs: dict[str, Any] | None = None) -> None:
    """Saves a matplotlib or plotly figure to ``path``; the format follows
    the file's extension (plotly: ``.html`` as a page, others as images)."""
    kwargs = dict(save_kwargs or {})
    module = _module_of(figure)
    if module.startswith("matplotlib"):
        figure.savefig(path, **kwargs)
    elif module.startswith("plotly"):
        if path.lower().endswith(".html"):
            figure.write_html(path, **kwargs)
        else:
            figure.write_image(path, **kwargs)
    elif callable(getattr(figure, "savefig", None)):
        figure.savefig(path, **kwargs)
    else:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            hint = "; matplotlib is not installed (pip install matplotlib)"
        else:
            hint = ""
        raise InvalidValueError(
            f"log_figure takes a matplotlib or plotly figure, not {type(figure).__name__}{hint}"
        )
