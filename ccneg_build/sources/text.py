"""Text inputs (TSV, JSON Lines, CSV): the encoding, and undecodable bytes that cost only their row.

A file that starts with a byte order mark is read in the encoding the mark names: UTF-8
(the mark some editors and Excel write), UTF-16 or UTF-32, either byte order (spreadsheet
programs export "Unicode text" as UTF-16 with a mark). Any other file is UTF-8.

Bytes that do not decode never stop the reading: the error handler :data:`UNDECODABLE` turns
each such byte ``b`` into the lone surrogate ``U+DC00 + b``, which no valid decoding ever
produces. A reader then rejects the row that holds one as ``bad_encoding``
(:func:`undecodable_detail`) and keeps its text with U+FFFD in place of the bad bytes
(:func:`readable`), so the rejected row shows what it said.
"""

from __future__ import annotations

import codecs
import io
import re
from pathlib import Path

#: Byte order marks and their encodings, longest first (UTF-32-LE's starts with UTF-16-LE's).
BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
DEFAULT_ENCODING = "utf-8"
#: The error handler that keeps undecodable bytes as lone surrogates U+DC00..U+DCFF (and
#: encodes them back to the same bytes).
UNDECODABLE = "ccneg-undecodable"
_ESCAPED = re.compile("[\udc00-\udcff]+")


def _undecodable(error: UnicodeError) -> tuple[str | bytes, int]:
    if isinstance(error, UnicodeDecodeError):
        return "".join(chr(0xDC00 + byte) for byte in error.object[error.start:error.end]), error.end
    if isinstance(error, UnicodeEncodeError):
        chars = error.object[error.start:error.end]
        if all("\udc00" <= ch <= "\udcff" for ch in chars):
            return bytes(ord(ch) - 0xDC00 for ch in chars), error.end
    raise error


codecs.register_error(UNDECODABLE, _undecodable)


def sniff_encoding(head: bytes) -> tuple[str, int]:
    """The encoding a file's first bytes announce, and the length of its byte order mark."""
    for mark, encoding in BYTE_ORDER_MARKS:
        if head.startswith(mark):
            return encoding, len(mark)
    return DEFAULT_ENCODING, 0


def file_encoding(path: Path) -> str:
    """The encoding of a text file: the one its byte order mark names, else UTF-8."""
    with Path(path).open("rb") as handle:
        return sniff_encoding(handle.read(4))[0]


def open_text(path: Path, newline: str = "\n") -> io.TextIOWrapper:
    """The file as text after its byte order mark; undecodable bytes come out as U+DCxx.

    ``newline="\\n"`` splits lines at LF only, as the line-based readers want; the CSV reader
    passes ``""``.
    """
    raw = Path(path).open("rb")
    try:
        encoding, mark = sniff_encoding(raw.read(4))
        raw.seek(mark)
    except OSError:
        raw.close()
        raise
    return io.TextIOWrapper(raw, encoding=encoding, errors=UNDECODABLE, newline=newline)


def undecodable_at(text: str) -> int | None:
    """The index of the first undecodable byte in ``text``, or None when it decoded cleanly."""
    match = _ESCAPED.search(text)
    return match.start() if match else None


def readable(text: str) -> str:
    """``text`` with U+FFFD in place of each run of undecodable bytes."""
    return _ESCAPED.sub("\ufffd", text)


def undecodable_detail(where: str, text: str, encoding: str) -> str | None:
    """``"line 3: invalid UTF-8 at byte 12"`` for a text holding undecodable bytes, else None.

    The byte is counted from the start of ``text`` in the file's encoding.
    """
    index = undecodable_at(text)
    if index is None:
        return None
    offset = len(text[:index].encode(encoding, UNDECODABLE))
    return f"{where}: invalid {encoding.upper()} at byte {offset}"
