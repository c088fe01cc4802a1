"""What the download step keeps of an image: checks, optional resize, re-encode, sha256.

Pure bytes in, bytes out (no network, no disk). The download-specific checks live here: the
declared content type is checked before any decoding and the byte size before opening. The
decoding itself (pixel limit from the header, full decode, RGB conversion, reason codes) is
the shared decoder's, :mod:`ccneg_core.image_decode`, so a built image fails with the same
codes as one that is scored or trained on.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image

from ccneg_core.image_decode import NOT_AN_IMAGE, ImageRejected, load_pixels, open_checked, to_rgb
from ccneg_build.options.images import GENERIC_CONTENT_TYPES, KEEPABLE_FORMATS, ImageOptions

_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


@dataclass(frozen=True)
class StoredImage:
    """The bytes we keep for a row and what we know about them."""

    data: bytes
    sha256: str
    width: int
    height: int
    format: str  # "JPEG", "PNG", "WEBP", "GIF"

    @property
    def extension(self) -> str:
        return _EXTENSIONS.get(self.format, "bin")

    @property
    def mime_type(self) -> str:
        return _MIME.get(self.format, "application/octet-stream")


def check_content_type(content_type: str | None) -> None:
    """Refuse a response whose declared type cannot be an image (an HTML error page, ...)."""
    if not content_type:
        return  # unknown: let the decoder decide
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime.startswith("image/") or mime in GENERIC_CONTENT_TYPES:
        return
    raise ImageRejected(NOT_AN_IMAGE, f"content type {mime!r} is not an image type")


def target_size(width: int, height: int, shorter: int | None) -> tuple[int, int]:
    """The size after resizing the shorter side to ``shorter`` pixels; never enlarges."""
    if shorter is None or min(width, height) <= shorter:
        return width, height
    scale = shorter / min(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def prepare_image(data: bytes, content_type: str | None, options: ImageOptions) -> StoredImage:
    """Check ``data`` and return the bytes to store (original or re-encoded).

    Raises :class:`ImageRejected` with ``not_an_image``, ``too_large``,
    ``decompression_bomb`` or ``corrupt_image``.
    """
    check_content_type(content_type)
    if len(data) > options.max_bytes:
        raise ImageRejected("too_large", f"{len(data)} bytes is more than the limit of {options.max_bytes}")
    image = open_checked(data, options.max_pixels)
    try:
        size = target_size(image.width, image.height, options.resize_shorter)
        resized = size != image.size
        if resized and image.format == "JPEG":
            # let the JPEG decoder scale down by 1/2, 1/4 or 1/8 while decoding (never below ``size``)
            image.draft("RGB" if image.mode not in ("L", "RGB") else image.mode, size)
        load_pixels(image)
        keep_original = options.encode == "keep" and not resized and image.format in KEEPABLE_FORMATS
        if keep_original:
            stored, fmt, (width, height) = data, str(image.format), image.size
        else:
            stored, fmt = _reencode(image, size, options)
            width, height = size
    finally:
        image.close()
    return StoredImage(stored, hashlib.sha256(stored).hexdigest(), width, height, fmt)


def _reencode(image: Image.Image, size: tuple[int, int], options: ImageOptions) -> tuple[bytes, str]:
    """Resize (high-quality filter) and encode in the configured format."""
    fmt = _output_format(image.format, options.encode)
    frame = image
    if fmt == "JPEG" or image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        # the shared RGB conversion (white under transparency, 16-bit rescaled); only a format
        # that keeps alpha gets RGBA for a mode with an alpha channel
        frame = image.convert("RGBA") if fmt != "JPEG" and "A" in image.mode else to_rgb(image)
    if size != frame.size:
        if frame.mode == "P":
            frame = frame.convert("RGBA")
        frame = frame.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    buffer = io.BytesIO()
    if fmt == "JPEG":
        frame.save(buffer, "JPEG", quality=options.quality, optimize=True)
    elif fmt == "WEBP":
        frame.save(buffer, "WEBP", quality=options.quality)
    else:
        frame.save(buffer, fmt)
    return buffer.getvalue(), fmt


def _output_format(source_format: str | None, encode: str) -> str:
    if encode != "keep":
        return encode.upper()
    return source_format if source_format in KEEPABLE_FORMATS else "JPEG"
