"""Safe pieces of self-contained HTML pages: escaping, inline images, one page shell.

Captions, objects and model names are untrusted text (CC3M alt text, LLM output), so every
value enters a page through :func:`esc` (element text and attribute values) or
:func:`json_for_script` (data for the page's script), never as markup. The shell adds a
Content-Security-Policy that allows no network request at all and only the page's own
script (by hash), so a page opened from ``file://`` loads nothing from anywhere and an
injected ``<script>`` could not run even if escaping were ever missed.

Images are embedded as downscaled JPEG ``data:`` URIs, decoded with the same safe decoder
that scoring uses (pixel limit checked from the header, any failure a reason code).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
from dataclasses import dataclass
from typing import Any
from ccneg_core.image_decode import MISSING, ImageRejected, decode_image

#: Longest side of an inline image, in pixels: enough to judge a row, small enough for 50 rows.
THUMBNAIL_SIDE = 256
THUMBNAIL_QUALITY = 80


def esc(value: Any) -> str:
    """Text (or ``None`` -> empty) escaped for element content and quoted attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def json_for_script(value: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&``
    or line separators survive literally, so ``</script>`` in a caption cannot close the tag."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


@dataclass(frozen=True)
class InlineImage:
    """A downscaled image as a ``data:`` URI, or why there is none (a reason code and detail)."""

    uri: str | None
    error: str | None = None
    detail: str | None = None


def inline_image(ref: Any, root: str | None = None, side: int = THUMBNAIL_SIDE) -> InlineImage:
    """Decode an image reference (``{"bytes", "path"}``, bytes or a path) into a small JPEG URI.

    A missing or broken image never raises: it comes back with the decoder's reason code
    (one of :data:`ccneg_core.image_decode.DECODE_REASONS`).
    """
    if ref is None or (isinstance(ref, dict) and not ref.get("bytes") and not ref.get("path")):
        return InlineImage(None, MISSING, "the row has no image")
    try:
        image = decode_image(ref, root)
    except ImageRejected as err:
        return InlineImage(None, err.reason, err.detail)
    image.thumbnail((side, side))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=THUMBNAIL_QUALITY)
    return InlineImage(data_uri(buffer.getvalue(), "image/jpeg"))


def data_uri(data: bytes, mime: str) -> str:
    """``data:<mime>;base64,...`` for bytes (a PNG plot, a JPEG thumbnail)."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def image_tag(image: InlineImage, alt: str) -> str:
    """An ``<img>`` for an inline image, or a visible note saying why there is none."""
    if image.uri:
        return f'<img src="{image.uri}" alt="{esc(alt)}">'
    return f'<div class="noimage" title="{esc(image.detail)}">no image ({esc(image.error)})</div>'


def _script_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def page(title: str, body: str, style: str = "", script: str = "") -> str:
    """A complete HTML document: nothing external, only ``script`` may run (allowed by hash).

    ``body`` must already be escaped markup; ``title`` is escaped here.
    """
    scripts = _script_hash(script) if script else "'none'"
    policy = (f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src {scripts}; "
              "base-uri 'none'; form-action 'none'")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{policy}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{esc(title)}</title>\n<style>{style}</style>\n</head>\n<body>\n{body}\n"
        + (f"<script>{script}</script>\n" if script else "")
        + "</body>\n</html>\n"
    )


#: Styles both kinds of page share (review rows, report tables).
BASE_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2433;background:#f4f5f7}
header{position:sticky;top:0;z-index:2;background:#1d2433;color:#fff;padding:10px 18px}
header h1{font-size:17px;margin:0 0 2px}
header p{margin:0;color:#c9cfdb;font-size:13px}
main{max-width:1100px;margin:0 auto;padding:14px 18px 60px}
img{display:block;max-width:100%;height:auto;border-radius:4px}
.noimage{width:160px;height:110px;display:flex;align-items:center;justify-content:center;
  background:#e3e6ec;color:#5b6473;font-size:12px;border-radius:4px;text-align:center}
mark{background:#ffd84d;padding:0 2px;border-radius:2px}
code{font-size:12.5px;background:#eceef2;padding:0 3px;border-radius:3px}
table{border-collapse:collapse;background:#fff}
th,td{border:1px solid #d9dde4;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eceef2}
"""
