"""log_image and log_table: the files and tags MLflow writes, read back
from disk (and through MLflow's own reader where MLflow is installed)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import tracklite
from tracklite import _image


def _artifact(run_id: str, path: str) -> Path:
    return Path(tracklite.MlflowClient().store.artifact_dir(run_id)) / path


def _png_pixels(data: bytes) -> tuple[int, int, int, bytes]:
    """Width, height, colour type and raw scanlines of a PNG from our encoder."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8
    return width, height, color, zlib.decompress(idat)


def test_png_encoder_writes_the_pixels_it_is_given() -> None:
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    width, height, color, raw = _png_pixels(_image.png_bytes(rgb))
    assert (width, height, color) == (3, 2, 2)
    assert raw == b"\x00" + rgb[0].tobytes() + b"\x00" + rgb[1].tobytes()


def test_png_encoder_output_opens_in_pillow() -> None:
    image_mod = pytest.importorskip("PIL.Image")
    for shape in [(4, 5), (4, 5, 3), (4, 5, 4)]:
        pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
        path = Path(os.environ["TRACKLITE_STORE"]).parent / "x.png"
        path.write_bytes(_image.png_bytes(pixels))
        with image_mod.open(path) as im:
            assert np.array_equal(np.asarray(im), pixels)


def test_log_image_of_a_float_array_as_a_file() -> None:
    image = np.zeros((8, 6, 3))
    image[:, :, 0] = 1.0  # pure red
    with tracklite.start_run() as run:
        tracklite.log_image(image, "plots/red.png")
    path = _artifact(run.info.run_id, "plots/red.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pil = pytest.importorskip("PIL.Image")
    with pil.open(path) as im:
        assert im.size == (6, 8)
        assert im.getpixel((0, 0))[:3] == (255, 0, 0)


def test_log_image_refuses_bad_arrays_with_their_values() -> None:
    with tracklite.start_run():
        with pytest.raises(tracklite.InvalidValueError, match="from -1 to 300"):
            tracklite.log_image(np.array([[-1, 300]]), "x.png")
        with pytest.raises(tracklite.InvalidValueError, match="channel count 2"):
            tracklite.log_image(np.zeros((2, 2, 2)), "x.png")
        with pytest.raises(tracklite.InvalidValueError, match="2-D or 3-D"):
            tracklite.log_image(np.zeros(4), "x.png")
        with pytest.raises(tracklite.InvalidValueError, match="not both"):
            tracklite.log_image(np.zeros((2, 2)), "x.png", key="k")
        with pytest.raises(tracklite.InvalidValueError, match="unsupported image type list"):
            tracklite.log_image([[0, 1]], "x.png")
        with pytest.warns(UserWarning, match="rescaled"):
            tracklite.log_image(np.array([[0.0, 2.0]]), "rescaled.png")


def test_log_image_by_key_and_step_writes_mlflows_files() -> None:
    pytest.importorskip("PIL")
    with tracklite.start_run() as run:
        for step in range(2):
            tracklite.log_image(np.full((300, 600, 3), 0.5), key="val/sample", step=step)
    run_id = run.info.run_id
    names = sorted(os.listdir(_artifact(run_id, "images")))
    assert len(names) == 4
    steps = sorted(n.split("+")[2] for n in names if n.endswith(".png"))
    assert steps == ["0", "1"]
    assert all(n.startswith("val~sample+step+") for n in names)
    from PIL import Image

    thumb = next(n for n in names if n.endswith("+compressed.webp"))
    with Image.open(_artifact(run_id, "images/" + thumb)) as im:
        assert im.size == (256, 128)
    assert tracklite.get_run(run_id).data.tags["mlflow.loggedImages"] == "True"


def test_log_image_without_pillow_writes_png_and_explains_the_rest(tmp_path: Path) -> None:
    script = """
import sys
sys.modules["PIL"] = None  # as if Pillow were not installed
import numpy as np, tracklite
with tracklite.start_run() as run:
    tracklite.log_image(np.eye(4), "eye.png")
    for call in (lambda: tracklite.log_image(np.eye(4), "eye.jpg"),
                 lambda: tracklite.log_image(np.eye(4), key="k")):
        try:
            call()
        except tracklite.InvalidValueError as e:
            print("ERROR", e)
print(run.info.run_id)
"""
    env = dict(os.environ, TRACKLITE_STORE=str(tmp_path / "s"))
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    errors = [line for line in out.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 2 and all("pip install Pillow" in e for e in errors)
    run_id = out.split()[-1]
    store = tracklite.Store(tmp_path / "s")
    width, height, color, _ = _png_pixels(store.read_artifact(run_id, "eye.png"))
    assert (width, height, color) == (4, 4, 0)


def test_log_table_writes_mlflows_json_and_appends() -> None:
    with tracklite.start_run() as run:
        tracklite.log_table({"text": ["a", "b"], "score": [0.5, float("nan")]}, "eval.json")
        tracklite.log_table({"text": ["c"], "extra": [1]}, "eval.json")
    run_id = run.info.run_id
    table = json.loads(_artifact(run_id, "eval.json").read_text())
    assert table == {
        "columns": ["text", "score", "extra"],
        "data": [["a", 0.5, None], ["b", None, None], ["c", None, 1]],
    }
    tags = tracklite.get_run(run_id).data.tags
    assert json.loads(tags["mlflow.loggedArtifacts"]) == [{"path": "eval.json", "type": "table"}]


def test_log_table_of_a_dataframe_matches_pandas_split_format() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": [1, 2], "y": ["p", "q"]})
    with tracklite.start_run() as run:
        tracklite.MlflowClient().log_table(run.info.run_id, frame, "t/frame.json")
    written = json.loads(_artifact(run.info.run_id, "t/frame.json").read_text())
    assert written == json.loads(frame.to_json(orient="split", index=False))
    with pytest.raises(tracklite.InvalidValueError, match="as .json"):
        tracklite.log_table(frame, "frame.csv", run_id=run.info.run_id)


def test_log_table_saves_image_cells_as_mlflow_does() -> None:
    image_mod = pytest.importorskip("PIL.Image")
    pictures = [image_mod.new("RGB", (512, 64), color) for color in ("red", "blue")]
    with tracklite.start_run() as run:
        tracklite.log_table({"label": ["r", "b"], "picture": pictures}, "eval/pics.json")
        with pytest.raises(tracklite.InvalidValueError, match="'mixed' of the table mixes"):
            tracklite.log_table({"mixed": [pictures[0], "text"]}, "eval/bad.json")
    run_id = run.info.run_id
    table = json.loads(_artifact(run_id, "eval/pics.json").read_text())
    assert table["columns"] == ["label", "picture"]
    cells = [row[1] for row in table["data"]]
    for cell in cells:
        assert cell["type"] == "image"
        assert cell["filepath"].startswith("table_images/eval/pics/")
        assert cell["compressed_filepath"] == cell["filepath"][: -len(".png")] + ".webp"
        with image_mod.open(_artifact(run_id, cell["compressed_filepath"])) as thumb:
            assert thumb.size == (256, 32)
    with image_mod.open(_artifact(run_id, cells[1]["filepath"])) as im:
        assert im.size == (512, 64) and im.getpixel((0, 0)) == (0, 0, 255)
