"""Reading benchmark files row by row, where one bad row must never stop a run.

Every public benchmark ships as a CSV or JSON file written by someone else's script; a cell
can be empty, a list literal can be cut, an index can be out of range. Loaders turn such a row
into a :class:`RowProblem` (code + detail naming the file, row and field) that is kept in the
result file, and go on with the next row.
"""

from __future__ import annotations

import ast
import csv
import os
from typing import Iterable, Iterator, Sequence
from ccneg_bench.datasets.image_files import FileImageTable


class RowProblem(Exception):
    """Why a row could not become a sample (``code`` is stable, ``detail`` is for people)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    def record(self, sample_id: str) -> dict[str, str]:
        return {"id": sample_id, "code": self.code, "detail": self.detail}


def read_csv(path: str, required: Sequence[str]) -> tuple[list[str], Iterator[dict[str, str]]]:
    """(header, rows) of a comma-separated file with a header; missing columns raise ValueError."""
    try:
        handle = open(path, encoding="utf-8", newline="")
    except OSError as err:
        raise ValueError(f"{path}: cannot read ({err.strerror or err})") from None
    reader = csv.DictReader(handle)
    header = list(reader.fieldnames or [])
    missing = [c for c in required if c not in header]
    if missing:
        handle.close()
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; found: {', '.join(header) or 'no header'}")

    def rows() -> Iterator[dict[str, str]]:
        with handle:
            yield from reader

    return header, rows()


def read_header(path: str) -> list[str]:
    """The column names of a CSV file (to recognise its layout before reading it)."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return next(csv.reader(handle), [])
    except OSError as err:
        raise ValueError(f"{path}: cannot read ({err.strerror or err})") from None
    except (UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f"{path}: not a UTF-8 CSV file ({err})") from None


def cell(row: dict[str, str | None], column: str, where: str) -> str:
    """A non-empty text cell, or a ``missing_field`` problem."""
    value = row.get(column)
    if value is None or not str(value).strip():
        raise RowProblem("missing_field", f"{where}: column {column!r} is empty")
    return str(value)


def index_cell(row: dict[str, str | None], column: str, where: str, n_options: int) -> int:
    """An option index in ``[0, n_options)`` (``1`` and ``1.0`` both accepted, as pandas reads them)."""
    text = cell(row, column, where).strip()
    try:
        number = float(text)
    except ValueError:
        raise RowProblem("bad_index", f"{where}: column {column!r} is {text!r}, not an integer") from None
    if not number.is_integer() or not 0 <= number < n_options:
        raise RowProblem("bad_index", f"{where}: column {column!r} is {text!r}; expected 0..{n_options - 1}")
    return int(number)


def list_literal(text: str, where: str, column: str) -> list[str]:
    """A Python list literal of strings, parsed with ``ast.literal_eval`` (never ``eval``)."""
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError) as err:
        raise RowProblem("malformed_list", f"{where}: column {column!r} is not a Python list literal "
                                           f"({type(err).__name__}: {str(err)[:80]})") from None
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise RowProblem("malformed_list", f"{where}: column {column!r} must be a list of strings, "
                                           f"got {type(value).__name__}")
    if not value or not all(v.strip() for v in value):
        raise RowProblem("missing_field", f"{where}: column {column!r} holds an empty list or an empty string")
    return list(value)


def where(path: str, row: int) -> str:
    """How a problem names its row: the file name and the 0-based data row (as pandas counts)."""
    return f"{os.path.basename(path)} row {row}"


def numbered_rows(path: str, rows: Iterable[dict[str, str]], stem: str) -> Iterator[tuple[str, str, dict[str, str]]]:
    """Each data row with its sample id (``<stem>:<row>``, stable across runs) and its place."""
    for number, row in enumerate(rows):
        yield f"{stem}:{number}", where(path, number), row


class ImageIndex:
    """Unique image files in first-seen order; samples point at their row (each file encoded once)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.crops: list[tuple[int, int, int, int] | None] = []
        self._rows: dict[tuple[str, tuple[int, int, int, int] | None], int] = {}

    def row(self, path: str, crop: tuple[int, int, int, int] | None = None) -> int:
        key = (path, crop)
        if key not in self._rows:
            self._rows[key] = len(self.paths)
            self.paths.append(path)
            self.crops.append(crop)
        return self._rows[key]

    def table(self):  # -> FileImageTable (imported lazily: no cycle)

        ids = [os.path.basename(p) + (f"@{c}" if c else "") for p, c in zip(self.paths, self.crops)]
        return FileImageTable(self.paths, ids, self.crops)
