"""What every reader shares: the :class:`Source` contract, input errors, row construction.

A reader turns one input (a file, a Hugging Face dataset) into a *stream* of
:class:`~ccneg_core.record.SourceRow`, numbered from 0 in input order. It never raises
for a bad row: the row comes out with ``error`` set (a reason code of
:mod:`ccneg_build.verify`) so that it is counted and kept in ``rejected/``. It raises
:class:`InputError` only when the input as a whole cannot be read, before any row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from ccneg_core.record import SourceRow, make_id
from ccneg_build.sources.text import DEFAULT_ENCODING, file_encoding, open_text
from ccneg_build.verify import check_caption


class InputError(Exception):
    """The input cannot be read at all (missing, unreadable, unknown format): exit code 2."""


@dataclass
class Source:
    """A readable input: its name in ``source`` columns, its format and how to stream it."""

    name: str
    format: str
    path: Path | None = None
    #: rows in the input when cheaply known (for the progress bar), else None
    total_rows: int | None = None
    #: facts for the manifest: sha256, bytes, dataset id, split, columns, ...
    facts: dict[str, Any] = field(default_factory=dict)

    def iter_rows(self) -> Iterator[SourceRow]:  # pragma: no cover - overridden
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What the manifest records about this input (never secrets)."""
        return {"name": self.name, "format": self.format, **self.facts}


def make_row(
    source: str,
    index: int,
    caption: str | None,
    url: str | None = None,
    image: dict[str, Any] | None = None,
    labels: Sequence[str] | None = None,
) -> SourceRow:
    """Build a row, applying the caption sanity checks every reader shares."""
    problem = check_caption(caption)
    error, detail = problem if problem else (None, None)
    return SourceRow(
        id=make_id(source, index, caption),
        source=source,
        source_row=index,
        caption=caption,
        url=url or None,
        image=image,
        labels=tuple(labels) if labels is not None else None,
        error=error,
        error_detail=detail,
    )


def bad_row(source: str, index: int, reason: str, detail: str, caption: str | None = None,
            url: str | None = None) -> SourceRow:
    """A row the reader could not make sense of (wrong columns, bad bytes, ...), with what it could read."""
    return SourceRow(
        id=make_id(source, index, caption),
        source=source,
        source_row=index,
        caption=caption,
        url=url or None,
        error=reason,
        error_detail=detail,
    )


def file_facts(path: Path, count_lines: bool) -> dict[str, Any]:
    """sha256, size and (optionally) line count of a file, in one streaming pass.

    A text file in UTF-16 or UTF-32 (by its byte order mark) also gets ``encoding``, and its
    lines are counted in a second pass over the decoded text.
    """
    encoding = file_encoding(path) if count_lines else DEFAULT_ENCODING
    if encoding != DEFAULT_ENCODING:
        facts = file_facts(path, count_lines=False)
        with open_text(path) as text:
            facts["lines"] = sum(1 for _ in text)
        return {**facts, "encoding": encoding}
    digest = hashlib.sha256()
    lines = 0
    last = b""
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            if count_lines:
                lines += chunk.count(b"\n")
            last = chunk[-1:]
    if count_lines and size and last != b"\n":
        lines += 1
    facts: dict[str, Any] = {"sha256": digest.hexdigest(), "bytes": size}
    if count_lines:
        facts["lines"] = lines
    return facts


def open_checked(path: Path) -> None:
    """Fail with one clear line when a path is missing, a folder or unreadable."""
    if not path.exists():
        raise InputError(f"input {path}: no such file; give a caption file or hf:ORG/NAME")
    if path.is_dir():
        raise InputError(f"input {path}: is a folder; give one caption file")
    try:
        with path.open("rb") as handle:
            first = handle.read(1)
    except OSError as exc:
        raise InputError(f"input {path}: cannot be read ({exc.strerror or exc}); check its permissions") from None
    if not first:
        raise InputError(f"input {path}: the file is empty; nothing to build")


#: The ``--caption-column``, ``--url-column``, ``--image-column`` and ``--labels-column`` values.
ColumnFlags = tuple[Optional[str], Optional[str], Optional[str], Optional[str]]
