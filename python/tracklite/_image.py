"""Images as artifacts, for ``log_image``: numpy arrays and PIL images to
image files, with MLflow's rules for arrays.

An array is 2-D (grayscale) or 3-D with 1, 3 or 4 channels (grayscale,
RGB, RGBA); its values are integers in [0, 255] or floats (and booleans)
in [0, 1] (other floats are rescaled, with a warning), as in MLflow.
With Pillow installed, Pillow writes the file, in the format of its
extension. Without it, a ``.png`` is written
by the small encoder here (PNG needs only zlib); other formats then need
Pillow, and the error says so.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from typing import TYPE_CHECKING, Any

from .errors import InvalidValueError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# PNG colour types by channel count: grayscale, grayscale+alpha, RGB, RGBA.
_PNG_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PILLOW_HINT = "pip install Pillow"


def _pil_image_class() -> Any:
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image.Image


def is_pil_image(image: Any) -> bool:
    """Whether ``image`` is a PIL image (never, without Pillow)."""
    cls = _pil_image_class()
    return cls is not None and isinstance(image, cls)


def to_uint8(image: Any) -> npt.NDArray[np.uint8]:
    """An image array checked against MLflow's rules and converted to
    uint8, HxW or HxWxC (C in 3, 4; a single channel is squeezed)."""
    import numpy as np

    kinds = {"b": "bool", "i": "signed integer", "u": "unsigned integer", "f": "floating"}
    if image.dtype.kind not in kinds:
        raise InvalidValueError(
            f"invalid image array data type {image.dtype}: must be one of {list(kinds.values())}"
        )
    if image.ndim not in (2, 3):
        raise InvalidValueError(
            f"an image array must be 2-D or 3-D, but this one has shape {image.shape}"
        )
    if image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        raise InvalidValueError(
            f"invalid channel count {image.shape[2]} of an image of shape {image.shape}: "
            "must be 1, 3 or 4"
        )
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.size == 0:
        raise InvalidValueError(f"an image array must not be empty (shape {image.shape})")
    integer = image.dtype.kind in "iu"
    low_value, high_value = image.min(), image.max()
    if integer and (low_value < 0 or high_value > 255):
        raise InvalidValueError(
            "integer pixel values must be within [0, 255]; this image has values from "
            f"{low_value} to {high_value}"
        )
    if not integer and (low_value < 0 or high_value > 1):
        # MLflow's rule: floats outside [0, 1] are rescaled (min-max), with a warning.
        warnings.warn(
            f"float pixel values out of [0.0, 1.0] (from {low_value} to {high_value}): "
            "rescaled to [0.0, 1.0] by min-max scaling",
            stacklevel=4,
        )
        span = high_value - low_value
        image = (image - low_value) / span if span else np.zeros(image.shape)
    if not integer:
        image = image * 255
    return np.ascontiguousarray(image.astype(np.uint8))


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_bytes(pixels: npt.NDArray[np.uint8]) -> bytes:
    """A PNG file (8 bits per sample, no interlace) of a uint8 array HxW
    or HxWxC (C in 1..4). Each row is stored unfiltered (filter byte 0)."""
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    header = struct.pack(">IIBBBBB", width, height, 8, _PNG_COLOR_TYPE[channels], 0, 0, 0)
    rows = pixels.reshape(height, width * channels)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    return (
        _PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + _chunk(b"IEND", b"")
    )


def to_pil(image: Any) -> Any:
    """A numpy array or PIL image as a PIL image (needs Pillow)."""
    import numpy as np

    if isinstance(image, np.ndarray):
        from PIL import Image

        return Image.fromarray(to_uint8(image))
    return image


def image_bytes(image: Any, artifact_file: str) -> bytes | None:
    """The file for ``artifact_file`` written without Pillow (a PNG of a
    numpy array), or None when Pillow must write it. Raises a clear error
    when the image is of no known type, or Pillow is needed and missing."""
    import numpy as np

    pillow = _pil_image_class() is not None
    if isinstance(image, np.ndarray):
        if not pillow:
            if not artifact_file.lower().endswith(".png"):
                raise InvalidValueError(
                    f"cannot write {artifact_file!r} without Pillow: tracklite writes numpy "
                    f"images as .png by itself, other formats need Pillow ({_PILLOW_HINT})"
                )
            return png_bytes(to_uint8(image))
        return None
    if is_pil_image(image):
        return None
    hint = "" if pillow else f" (a PIL image needs Pillow: {_PILLOW_HINT})"
    raise InvalidValueError(
        f"unsupported image type {type(image).__name__}: log_image takes a numpy array "
        f"or a PIL image{hint}"
    )
