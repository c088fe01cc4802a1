"""Safe image decoding for evaluation: one bad image becomes an error code, never a crash.

Why a module of its own: every dataset kind (Parquet bytes, released files on disk, Hub rows)
hands images over as *references* (``{"bytes": ..., "path": ...}``); decoding happens in
DataLoader workers, and whatever goes wrong there (missing file, truncated JPEG,
decompression bomb, odd modes such as CMYK, palette or 16-bit) must come back as a per-sample
reason code so that the run goes on and the result file can list the sample.
"""

from __future__ import annotations

import io
import os
import warnings
from typing import Any

from PIL import Image, ImageFile

#: Reason codes a sample's image can fail with (stored in results and predictions).
IMAGE_ERRORS = (
    "image_missing",  # no bytes and no readable path
    "image_unreadable",  # PIL cannot identify or decode the bytes (corrupt, truncated)
    "image_too_large",  # decompression bomb: more pixels than ``max_pixels``
    "image_empty",  # zero-sized image
)

#: Default pixel limit (about 8k x 11k). Larger images are treated as decompression bombs.
DEFAULT_MAX_PIXELS = 89_478_485

# Never accept partial JPEGs silently: a truncated file must be reported, not padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageDecodeError(Exception):
    """An image could not be turned into RGB pixels; ``code`` is one of :data:`IMAGE_ERRORS`."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def _open_bytes(ref: Any, root: str | None) -> tuple[bytes | None, str]:
    """Return (raw bytes or None, a short description of where they came from)."""
    if ref is None:
        return None, "no image reference"
    if isinstance(ref, (bytes, bytearray)):
        return bytes(ref), "inline bytes"
    if isinstance(ref, str):
        ref = {"bytes": None, "path": ref}
    data = ref.get("bytes")
    if data:
        return bytes(data), "inline bytes"
    path = ref.get("path")
    if not path:
        return None, "no bytes and no path"
    if root and not os.path.isabs(path):
        path = os.path.join(root, path)
    try:
        with open(path, "rb") as handle:
            return handle.read(), path
    except OSError as err:
        return None, f"{path}: {err.strerror or err}"


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB the way a researcher expects.

    Palette images with transparency and LA/RGBA are composited on white (instead of showing
    the arbitrary colour hidden under transparent pixels); 16/32-bit greyscale (``I;16``,
    ``I``, ``F``) is rescaled from its real range instead of being clipped to white.
    """
    if image.mode == "RGB":
        return image
    if image.mode == "P":
        image = image.convert("RGBA") if "transparency" in image.info else image.convert("RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        import numpy as np

        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) / (high - low) * 255.0 if high > low else np.zeros_like(array)
        image = Image.fromarray(scaled.round().astype("uint8"))
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


#: source modes that decode to RGB without any judgement call (not reported)
PLAIN_MODES = ("RGB", "L")


def conversion_note(mode: str) -> str | None:
    """A per-sample note code for images stored in an unusual mode (``converted_cmyk``, ...)."""
    if mode in PLAIN_MODES:
        return None
    if mode.startswith("I;16") or mode in ("I", "F"):
        return "converted_16bit"
    return f"converted_{mode.lower().replace(';', '')}"


def decode_image(ref: Any, root: str | None = None, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode one image reference to an RGB PIL image or raise :class:`ImageDecodeError`.

    ``ref`` is the HF ``Image`` struct (``{"bytes", "path"}``), raw bytes, or a path; relative
    paths are resolved against ``root``. The pixel limit is checked from the header before any
    pixel is decoded, so a bomb costs nothing.
    """
    return decode_image_with_note(ref, root, max_pixels)[0]


def decode_image_with_note(
    ref: Any, root: str | None = None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[Image.Image, str | None]:
    """:func:`decode_image` plus a note code when the source mode needed a conversion
    (CMYK, palette, 16-bit, alpha, ...), so that runs can count and list such samples."""
    data, origin = _open_bytes(ref, root)
    if data is None:
        raise ImageDecodeError("image_missing", origin)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise ImageDecodeError(
                    "image_too_large", f"{origin}: {width}x{height} exceeds {max_pixels} pixels"
                )
            if width == 0 or height == 0:
                raise ImageDecodeError("image_empty", f"{origin}: {width}x{height}")
            image.load()
            return to_rgb(image), conversion_note(image.mode)
    except ImageDecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageDecodeError("image_too_large", f"{origin}: {err}") from None
    except Exception as err:  # PIL raises many types (OSError, SyntaxError, ValueError, ...)
        raise ImageDecodeError("image_unreadable", f"{origin}: {type(err).__name__}: {err}") from None


def crop_box(image: Image.Image, box: Any) -> Image.Image:
    """Cut the region ``(x, y, width, height)`` out of ``image`` (CREPE scores region crops).

    PIL fills any part of the box outside the image with black, as torchvision's ``crop`` does
    on PIL images, so boxes that overhang the border score like the official code's.
    """
    x, y, width, height = (int(v) for v in box)
    return image.crop((x, y, x + width, y + height))
