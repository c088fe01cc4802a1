"""Pure checks and preparation of downloaded image bytes: no network, no disk.

Order matters for safety: the content type is checked before any decoding, the pixel
count is read from the header *before* the pixels are decoded (a 20,000 x 20,000 PNG can
be a few kilobytes on the wire and 400 megapixels in memory), and only then is the image
fully decoded, which also catches truncated files.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from ccneg_build.images.options import GENERIC_CONTENT_TYPES, KEEPABLE_FORMATS, ImageOptions

_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


class ImageRejected(Exception):
    """An image that cannot be kept: ``reason`` is a code of ``IMAGE_REASONS``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


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
    raise ImageRejected("not_an_image", f"content type {mime!r} is not an image type")


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
    image = _open_header(data, options)
    try:
        size = target_size(image.width, image.height, options.resize_shorter)
        resized = size != image.size
        if resized and image.format == "JPEG":
            # let the JPEG decoder scale down by 1/2, 1/4 or 1/8 while decoding (never below ``size``)
            image.draft("RGB" if image.mode not in ("L", "RGB") else image.mode, size)
        _decode_fully(image)
        keep_original = options.encode == "keep" and not resized and image.format in KEEPABLE_FORMATS
        if keep_original:
            stored, fmt, (width, height) = data, str(image.format), image.size
        else:
            stored, fmt = _reencode(image, size, options)
            width, height = size
    finally:
        image.close()
    return StoredImage(stored, hashlib.sha256(stored).hexdigest(), width, height, fmt)


def _open_header(data: bytes, options: ImageOptions) -> Image.Image:
    """Open without decoding pixels, and apply the pixel-count guard."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        detail = f"the header declares more than the limit of {options.max_pixels} pixels ({error})"
        raise ImageRejected("decompression_bomb", detail) from None
    except UnidentifiedImageError:
        raise ImageRejected("not_an_image", "the bytes are not in any known image format") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageRejected("corrupt_image", f"the image header is broken ({error})") from None
    width, height = image.size
    if width * height > options.max_pixels:
        image.close()
        raise ImageRejected(
            "decompression_bomb",
            f"{width} x {height} = {width * height} pixels is more than the limit of {options.max_pixels}",
        )
    if width < 1 or height < 1:
        image.close()
        raise ImageRejected("corrupt_image", f"the image is {width} x {height} pixels")
    return image


def _decode_fully(image: Image.Image) -> None:
    """Decode every pixel of the first frame: truncated or corrupt files fail here."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise ImageRejected("corrupt_image", f"the image cannot be decoded ({error})") from None


def _reencode(image: Image.Image, size: tuple[int, int], options: ImageOptions) -> tuple[bytes, str]:
    """Resize (high-quality filter) and encode in the configured format."""
    fmt = _output_format(image.format, options.encode)
    frame = image
    if fmt == "JPEG" or image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        frame = _flatten(image) if fmt == "JPEG" else image.convert("RGBA")
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


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparent areas become white, not black."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
