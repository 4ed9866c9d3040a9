"""``log_image`` and ``log_table``: images and tables as run artifacts,
in the files and tags MLflow writes, so that MLflow's UI shows them.

- ``log_image(image, artifact_file)`` writes the image file;
  ``log_image(image, key=..., step=...)`` writes MLflow's step images,
  ``images/<key>+step+<step>+timestamp+<ms>+<uuid>.png`` and a thumbnail
  (``...+compressed.webp``, at most 256 px) for the UI's image grid, and
  tags the run ``mlflow.loggedImages``.
- ``log_table(data, artifact_file)`` writes a ``.json`` file as pandas'
  ``to_json(orient="split", index=False)`` does: ``{"columns": [...],
  "data": [[...], ...]}``; logging again to the same file appends rows;
  the run's ``mlflow.loggedArtifacts`` tag lists the table. A column of
  PIL images is saved as MLflow saves it: each image as
  ``table_images/<table>/<uuid>.png`` with a ``.webp`` thumbnail, the
  cell holding ``{"type": "image", "filepath": ..., "compressed_filepath": ...}``.
"""

from __future__ import annotations

import json
import math
import posixpath
import re
import uuid
from typing import TYPE_CHECKING, Any

from . import _image
from . import _values as v
from .errors import InvalidValueError, NotFoundError

if TYPE_CHECKING:
    from ._store import Store

LOGGED_IMAGES_TAG = "mlflow.loggedImages"
LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"
#: The longest side of a step image's thumbnail, as MLflow makes it.
THUMBNAIL_SIZE = 256
_IMAGE_KEY = re.compile(r"^[a-zA-Z0-9_\-./ ]+$")
#: Characters MLflow refuses in a table's file name.
_TABLE_FORBIDDEN = "\"',:[]{}"


def _save_pil(store: Store, run_id: str, image: Any, artifact_file: str) -> None:
    from ._artifacts import temp_artifact

    with temp_artifact(artifact_file) as (path, folder):
        image.save(path)
        store._native.log_artifact(run_id, path, folder)


def _write_image(store: Store, run_id: str, image: Any, artifact_file: str) -> None:
    data = _image.image_bytes(image, artifact_file)
    if data is not None:
        store.log_bytes(run_id, data, artifact_file)
    else:
        _save_pil(store, run_id, _image.to_pil(image), artifact_file)


def _thumbnail(image: Any) -> Any:
    width, height = image.size
    if width > height:
        size = (THUMBNAIL_SIZE, int(height * THUMBNAIL_SIZE / width))
    else:
        size = (int(width * THUMBNAIL_SIZE / height), THUMBNAIL_SIZE)
    return image.resize(size)


def log_image(
    store: Store,
    run_id: str,
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
) -> None:
    """Logs a numpy array or PIL image: as ``artifact_file``, or as step
    ``step`` of the image series ``key`` (see the module's doc)."""
    if artifact_file is not None and (key, step, timestamp) != (None, None, None):
        raise InvalidValueError(
            "give artifact_file alone, or key (with step and timestamp), not both: "
            f"artifact_file={artifact_file!r}, key={key!r}"
        )
    if artifact_file is None and key is None:
        raise InvalidValueError(
            "give artifact_file (a static image file) or key (an image series by step)"
        )
    if artifact_file is not None:
        _write_image(store, run_id, image, artifact_file)
        return
    assert key is not None
    if not _IMAGE_KEY.match(key):
        raise InvalidValueError(
            f"invalid image key {key!r}: it may hold letters, digits, '_', '-', '.', ' ' and '/'"
        )
    if _image.image_bytes(image, "x.png") is not None:  # an array, and no Pillow
        raise InvalidValueError(
            "log_image with a key writes a .webp thumbnail for MLflow's UI, which needs "
            "Pillow: pip install Pillow (or give artifact_file='name.png' instead)"
        )
    pil = _image.to_pil(image)
    st = v.step(step)
    ts = v.timestamp(timestamp)
    base = f"images/{key.replace('/', '~')}+step+{st}+timestamp+{ts}+{uuid.uuid4()}"
    _save_pil(store, run_id, pil, base + ".png")
    _save_pil(store, run_id, _thumbnail(pil), base + "+compressed.webp")
    store.set_tag(run_id, LOGGED_IMAGES_TAG, "True")


def _cell(value: Any) -> Any:
    """A table cell as JSON holds it: NaN and ±inf as null, as pandas writes."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _cell(value.item())
    return value


def _table_from_dict(data: dict[str, Any]) -> dict[str, Any]:
    """Columns from a dict of lists (or of scalars: one row), as
    ``pandas.DataFrame(data)`` reads it."""
    columns = [str(c) for c in data]
    values = list(data.values())
    if all(isinstance(x, (str, bytes)) or not hasattr(x, "__len__") for x in values):
        return {"columns": columns, "data": [[_cell(x) for x in values]]}
    lists = [list(x) if hasattr(x, "__len__") else None for x in values]
    lengths = {len(x) for x in lists if x is not None}
    if len(lengths) > 1:
        raise InvalidValueError(
            f"the columns of a table must have the same length; these have {sorted(lengths)}"
        )
    n = lengths.pop()
    cols = [x if x is not None else [values[i]] * n for i, x in enumerate(lists)]
    return {"columns": columns, "data": [[_cell(c[r]) for c in cols] for r in range(n)]}


def _image_column(name: Any, cells: list[Any]) -> bool:
    """Whether a column holds images (all of its cells; a mix is refused)."""
    flags = [_image.is_pil_image(c) for c in cells]
    if any(flags) and not all(flags):
        raise InvalidValueError(
            f"column {name!r} of the table mixes images and other values: "
            "a column holds images only, or none"
        )
    return bool(cells) and all(flags)


def _table_image(store: Store, run_id: str, artifact_file: str, image: Any) -> dict[str, str]:
    """Saves an image of a table cell as MLflow does (a .png and a .webp
    thumbnail under ``table_images/<table>/``) and returns the cell."""
    table_name = posixpath.splitext(artifact_file)[0]
    base = posixpath.join("table_images", table_name, str(uuid.uuid4()))
    _save_pil(store, run_id, image, base + ".png")
    _save_pil(store, run_id, _thumbnail(image), base + ".webp")
    return {"type": "image", "filepath": base + ".png", "compressed_filepath": base + ".webp"}


def _table(store: Store, run_id: str, data: Any, artifact_file: str) -> dict[str, Any]:
    """The table as MLflow's JSON holds it, its image cells saved."""

    def save(image: Any) -> dict[str, str]:
        return _table_image(store, run_id, artifact_file, image)

    if isinstance(data, dict):
        table = _table_from_dict(data)
        for j, name in enumerate(table["columns"]):
            if _image_column(name, [row[j] for row in table["data"]]):
                for row in table["data"]:
                    row[j] = save(row[j])
        return table
    if type(data).__module__.startswith("pandas") and hasattr(data, "to_json"):
        images = [c for c in data.columns if _image_column(c, data[c].tolist())]
        if images:
            data = data.copy()
            for c in images:
                data[c] = data[c].map(save)
        out: dict[str, Any] = json.loads(
            data.to_json(orient="split", index=False, date_format="iso")
        )
        return {"columns": out["columns"], "data": out["data"]}
    raise InvalidValueError(
        f"log_table takes a dict of columns or a pandas DataFrame, not {type(data).__name__}"
    )


def _append(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Rows of ``new`` after those of ``old``; columns by name, a column
    one of them lacks is null there (as ``pandas.concat``)."""
    columns = list(old["columns"]) + [c for c in new["columns"] if c not in old["columns"]]

    def rows(t: dict[str, Any]) -> list[list[Any]]:
        where = {c: i for i, c in enumerate(t["columns"])}
        return [[r[where[c]] if c in where else None for c in columns] for r in t["data"]]

    return {"columns": columns, "data": rows(old) + rows(new)}


def log_table(store: Store, run_id: str, data: Any, artifact_file: str) -> None:
    """Logs a table (a dict of columns or a DataFrame) as JSON, appending
    to the file when it exists (see the module's doc)."""
    if not isinstance(artifact_file, str) or not artifact_file.endswith(".json"):
        raise InvalidValueError(
            f"invalid table file {artifact_file!r}: tracklite writes tables as .json"
        )
    bad = [c for c in _TABLE_FORBIDDEN if c in artifact_file]
    if bad:
        raise InvalidValueError(f"the table file {artifact_file!r} holds the forbidden {bad[0]!r}")
    table = _table(store, run_id, data, artifact_file)
    try:
        old = json.loads(store.read_artifact(run_id, posixpath.normpath(artifact_file)))
    except NotFoundError:
        old = None
    if old is not None:
        table = _append(old, table)
    try:
        body = json.dumps(table, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidValueError(f"the table for {artifact_file!r} is not JSON: {e}") from e
    store.log_bytes(run_id, body.encode("utf-8"), artifact_file)
    listed = json.loads(store.get_run(run_id).data.tags.get(LOGGED_ARTIFACTS_TAG, "[]"))
    entry = {"path": artifact_file, "type": "table"}
    if entry not in listed:
        listed.append(entry)
        store.set_tag(run_id, LOGGED_ARTIFACTS_TAG, json.dumps(listed))
