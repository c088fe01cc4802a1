"""The one safe image decoder of ccneg: image reference -> bytes -> checked pixels -> RGB.

Why one module: the build (downloads, ``import-official``, the review page, ``--verify-visual``),
the benchmark (DataLoader workers) and training all turn untrusted image bytes into pixels.
Each had its own copy with its own reason codes and pixel limit; a sample then failed as
``corrupt_image`` in a reject file and as something else in a result file. Everything that
decodes an image imports this module, so there is one set of reason codes
(:data:`DECODE_REASONS`) and one default pixel limit (:data:`DEFAULT_MAX_PIXELS`).

Order matters for safety: the pixel count is read from the header *before* any pixel is
decoded (a 20,000 x 20,000 PNG can be a few kilobytes and 400 megapixels in memory), then
every pixel is decoded, which refuses truncated files, and only then is the mode converted.

Everything here is plain data in, plain data out (no torch, no open handles kept), so it runs
in DataLoader worker processes and in build workers alike.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from typing import Any

from PIL import Image, ImageFile, UnidentifiedImageError

#: no image bytes: the reference is empty, or the file it names cannot be read
MISSING = "missing_image"
#: the bytes are in no known image format
NOT_AN_IMAGE = "not_an_image"
#: truncated, broken or zero-sized
CORRUPT = "corrupt_image"
#: more pixels than the limit, read from the header (nothing decoded)
BOMB = "decompression_bomb"

#: Every reason a decode can fail with; reject files (build) and result files (bench) use
#: these codes, and docs/format.md and docs/bench.md list them.
DECODE_REASONS: dict[str, str] = {
    MISSING: "the image is missing: no bytes, or the file it names cannot be read",
    NOT_AN_IMAGE: "the bytes (or a download's content type) are not an image",
    CORRUPT: "the image is truncated, zero-sized or cannot be decoded",
    BOMB: "the image has more pixels than allowed (decompression-bomb guard, read from the header)",
}

#: The one default pixel limit (width x height), about 8k x 11k. It is Pillow's own
#: ``MAX_IMAGE_PIXELS``, so every image that the reference tools built on Pillow open without a
#: warning is decoded here too (a benchmark never loses a sample the official code scores),
#: while a bomb costs no memory. Pillow itself refuses anything over twice this number.
DEFAULT_MAX_PIXELS = 89_478_485

#: Bumped whenever the codes or the conversion change, so caches of decoded results are not reused.
DECODER_VERSION = 2

#: Source modes that become RGB without a judgement call (no conversion note).
PLAIN_MODES = ("RGB", "L")

# Never accept partial files silently: a truncated image must be reported, not padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageRejected(Exception):
    """An image that cannot be used: ``reason`` is a code of :data:`DECODE_REASONS` (or, from the
    download step, one of its own codes), ``detail`` says what was wrong in words."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def decoder_fingerprint(max_pixels: int = DEFAULT_MAX_PIXELS) -> str:
    """A short tag of everything that decides a decode's outcome (for cache keys)."""
    return hashlib.sha256(f"decoder-{DECODER_VERSION}-{max_pixels}".encode()).hexdigest()[:12]


def reference_parts(ref: Any) -> tuple[bytes | None, str | None]:
    """(inline bytes, path) of an image reference in any of its forms.

    The forms: the ``datasets`` Image struct ``{"bytes", "path"}`` (extra keys such as a crop
    box are ignored), raw bytes, a path string, or None.
    """
    if ref is None:
        return None, None
    if isinstance(ref, (bytes, bytearray, memoryview)):
        return bytes(ref), None
    if isinstance(ref, (str, os.PathLike)):
        return None, os.fspath(ref)
    data, path = ref.get("bytes"), ref.get("path")
    return (bytes(data) if data else None), (path or None)


def read_image_bytes(ref: Any, root: str | os.PathLike | None = None) -> tuple[bytes, str]:
    """The bytes of an image reference and where they came from (for messages).

    Inline bytes win over a path; a relative path is resolved against ``root`` (the dataset
    folder). Raises :class:`ImageRejected` (``missing_image``) when there are no bytes.
    """
    data, path = reference_parts(ref)
    if data:
        return data, "inline bytes"
    if not path:
        raise ImageRejected(MISSING, "no image reference" if ref is None else "no bytes and no path")
    if root and not os.path.isabs(path):
        path = os.path.join(root, path)
    try:
        with open(path, "rb") as handle:
            return handle.read(), path
    except OSError as err:
        raise ImageRejected(MISSING, f"{path}: {err.strerror or err}") from None


def _where(origin: str, text: str) -> str:
    return f"{origin}: {text}" if origin else text


def open_checked(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, origin: str = "") -> Image.Image:
    """Open ``data`` without decoding pixels and apply the pixel limit from the header.

    Raises :class:`ImageRejected` with ``not_an_image``, ``decompression_bomb`` or ``corrupt_image``.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        detail = f"the header declares more than the limit of {max_pixels} pixels ({error})"
        raise ImageRejected(BOMB, _where(origin, detail)) from None
    except UnidentifiedImageError:
        raise ImageRejected(NOT_AN_IMAGE, _where(origin, "the bytes are not in any known image format")) from None
    except Exception as error:  # Pillow's plugins raise many types on broken headers
        raise ImageRejected(CORRUPT, _where(origin, f"the image header is broken ({error})")) from None
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        detail = f"{width} x {height} = {width * height} pixels is more than the limit of {max_pixels}"
        raise ImageRejected(BOMB, _where(origin, detail))
    if width < 1 or height < 1:
        image.close()
        raise ImageRejected(CORRUPT, _where(origin, f"the image is {width} x {height} pixels"))
    return image


def load_pixels(image: Image.Image, origin: str = "") -> None:
    """Decode every pixel of the first frame: truncated or corrupt files fail here."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
    except Exception as error:  # OSError, SyntaxError, ValueError, EOFError, struct.error, ...
        raise ImageRejected(CORRUPT, _where(origin, f"the image cannot be decoded ({type(error).__name__}: {error})")) from None


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB the way a researcher expects.

    Palette images with transparency and LA/RGBA/PA are composited on white (instead of showing
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


def conversion_note(mode: str) -> str | None:
    """A per-sample note code for images stored in an unusual mode (``converted_cmyk``, ...)."""
    if mode in PLAIN_MODES:
        return None
    if mode.startswith("I;16") or mode in ("I", "F"):
        return "converted_16bit"
    return f"converted_{mode.lower().replace(';', '')}"


def decode_image_with_note(
    ref: Any, root: str | os.PathLike | None = None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[Image.Image, str | None]:
    """Decode one image reference to an RGB image, plus a note code when the source mode needed
    a conversion (CMYK, palette, 16-bit, alpha, ...), so that runs can count and list such samples.

    Raises :class:`ImageRejected` with one of :data:`DECODE_REASONS`.
    """
    data, origin = read_image_bytes(ref, root)
    image = open_checked(data, max_pixels, origin)
    load_pixels(image, origin)
    return to_rgb(image), conversion_note(image.mode)


def decode_image(ref: Any, root: str | os.PathLike | None = None, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode one image reference to an RGB image or raise :class:`ImageRejected`.

    ``ref`` is the ``datasets`` Image struct (``{"bytes", "path"}``), raw bytes, or a path;
    relative paths are resolved against ``root``.
    """
    return decode_image_with_note(ref, root, max_pixels)[0]
