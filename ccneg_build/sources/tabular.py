"""Column-based inputs: Parquet, JSON Lines and CSV, with configurable column names.

Columns are named by ``--caption-column``, ``--url-column``, ``--image-column`` and
``--labels-column``; when a name is not given, the first usual name present is used
(``caption``, ``text``, ...). Every format is streamed: Parquet by record batches, JSONL
and CSV line by line, as UTF-8 or UTF-16/32 with a byte order mark (:mod:`.text`); a row
with undecodable bytes is rejected with its text kept.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from ccneg_core.record import SourceRow
from ccneg_build.sources.base import ColumnFlags, InputError, Source, bad_row, make_row
from ccneg_build.sources.text import open_text, readable, undecodable_at, undecodable_detail

CAPTION_CANDIDATES = ("caption", "text", "TEXT", "alt_text", "sentence", "Caption")
URL_CANDIDATES = ("url", "URL", "image_url", "img_url")
LABEL_CANDIDATES = ("labels",)
PARQUET_BATCH_ROWS = 1024


class Columns:
    """The resolved column names of one input (caption required, the rest optional)."""

    def __init__(self, caption: str, url: str | None, image: str | None, labels: str | None):
        self.caption, self.url, self.image, self.labels = caption, url, image, labels

    @classmethod
    def resolve(cls, available: Iterable[str], source: str, caption: str | None, url: str | None,
                image: str | None, labels: str | None) -> "Columns":
        """Pick the named columns, or usual defaults; fail clearly if the caption is missing."""
        names = list(available)
        present = set(names)
        for flag, name in (("--caption-column", caption), ("--url-column", url),
                           ("--image-column", image), ("--labels-column", labels)):
            if name is not None and name not in present:
                raise InputError(f"input {source}: no column {name!r} ({flag}); columns are {names}")
        caption = caption or next((c for c in CAPTION_CANDIDATES if c in present), None)
        if caption is None:
            raise InputError(
                f"input {source}: no caption column found among {names}; name it with --caption-column"
            )
        url = url or next((c for c in URL_CANDIDATES if c in present), None)
        labels = labels or next((c for c in LABEL_CANDIDATES if c in present), None)
        return cls(caption, url, image, labels)

    def needed(self) -> list[str]:
        return [c for c in (self.caption, self.url, self.image, self.labels) if c]


def row_from_record(source: str, index: int, record: Mapping[str, Any], columns: Columns) -> SourceRow:
    """Turn one mapping (a Parquet/JSON/CSV/HF row) into a SourceRow, never raising."""
    caption = record.get(columns.caption)
    if caption is not None and not isinstance(caption, str):
        return bad_row(source, index, "bad_columns",
                       f"row {index}: column {columns.caption!r} holds {type(caption).__name__}, expected text")
    url = record.get(columns.url) if columns.url else None
    image = _image_value(record.get(columns.image)) if columns.image else None
    labels = _labels_value(record.get(columns.labels)) if columns.labels else None
    if caption is not None:
        caption = caption.strip()
    return make_row(source, index, caption, url=str(url) if url else None, image=image, labels=labels)


def _image_value(value: Any) -> dict[str, Any] | None:
    """Normalise an image cell to the Hugging Face struct {bytes, path}."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {"bytes": value.get("bytes"), "path": value.get("path")}
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": bytes(value), "path": None}
    return {"bytes": None, "path": str(value)}


def _labels_value(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(part) for part in value]


class ParquetSource(Source):
    """Streams a Parquet file by record batches, reading only the needed columns."""

    columns: Columns

    def prepare(self, caption: str | None, url: str | None, image: str | None, labels: str | None) -> None:
        import pyarrow.parquet as pq

        try:
            handle = pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise InputError(f"input {self.path}: not a readable Parquet file ({exc})") from None
        self.columns = Columns.resolve(handle.schema_arrow.names, self.name, caption, url, image, labels)
        self.total_rows = handle.metadata.num_rows

    def iter_rows(self) -> Iterator[SourceRow]:
        import pyarrow.parquet as pq

        handle = pq.ParquetFile(self.path)
        index = 0
        for batch in handle.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=self.columns.needed()):
            for record in batch.to_pylist():
                yield row_from_record(self.name, index, record, self.columns)
                index += 1


class JsonLinesSource(Source):
    """Streams one JSON object per line; a line that does not parse costs only that line."""

    columns: Columns

    def prepare(self, caption: str | None, url: str | None, image: str | None, labels: str | None) -> None:
        first = self._first_object()
        self.columns = Columns.resolve(first.keys(), self.name, caption, url, image, labels)

    def _first_object(self) -> dict[str, Any]:
        assert self.path is not None
        with open_text(Path(self.path)) as text:
            for line in text:
                try:
                    value = json.loads(readable(line))
                except ValueError:
                    continue
                if isinstance(value, dict):
                    return value
        raise InputError(f"input {self.path}: no JSON object found on any line; is it JSON Lines?")

    def iter_rows(self) -> Iterator[SourceRow]:
        assert self.path is not None
        with open_text(Path(self.path)) as text:
            for index, line in enumerate(text):
                yield self._parse(index, line, text.encoding)

    def _parse(self, index: int, text: str, encoding: str) -> SourceRow:
        undecodable = undecodable_detail(f"line {index + 1}", text.rstrip("\r\n"), encoding)
        if undecodable is not None:
            return self._undecodable(index, readable(text).strip(), undecodable)
        try:
            value = json.loads(text)
        except ValueError as exc:
            return bad_row(self.name, index, "bad_json", f"line {index + 1}: {exc}")
        if not isinstance(value, dict):
            return bad_row(self.name, index, "bad_json", f"line {index + 1}: a JSON {type(value).__name__}, expected an object")
        return row_from_record(self.name, index, value, self.columns)

    def _undecodable(self, index: int, line: str, detail: str) -> SourceRow:
        """A ``bad_encoding`` row keeping its caption and URL (or, unparsed, the whole line)."""
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            return bad_row(self.name, index, "bad_encoding", detail, caption=line)
        return bad_row(self.name, index, "bad_encoding", detail, caption=_text_cell(value.get(self.columns.caption)),
                       url=_text_cell(value.get(self.columns.url)) if self.columns.url else None)


class CsvSource(Source):
    """Streams a CSV file with a header row; rows with the wrong field count are rejected."""

    columns: Columns
    header: list[str]

    def prepare(self, caption: str | None, url: str | None, image: str | None, labels: str | None) -> None:
        with self._text() as text:
            try:
                self.header = next(csv.reader(text))
            except StopIteration:
                raise InputError(f"input {self.path}: empty CSV file (a header row is needed)") from None
            except csv.Error as exc:
                raise InputError(f"input {self.path}: unreadable CSV header ({exc})") from None
        self.columns = Columns.resolve(self.header, self.name, caption, url, image, labels)

    def _text(self) -> io.TextIOWrapper:
        assert self.path is not None
        return open_text(Path(self.path), newline="")  # the csv module splits lines itself

    def iter_rows(self) -> Iterator[SourceRow]:
        csv.field_size_limit(1 << 24)
        with self._text() as text:
            reader = csv.reader(text)
            next(reader, None)  # header
            index = 0
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield bad_row(self.name, index, "bad_columns", f"row {index}: unreadable CSV ({exc})")
                    index += 1
                    continue
                yield self._parse(index, fields, text.encoding)
                index += 1

    def _parse(self, index: int, fields: list[str], encoding: str) -> SourceRow:
        bad = next((i for i, value in enumerate(fields) if undecodable_at(value) is not None), None)
        if bad is not None:
            column = self.header[bad] if bad < len(self.header) else f"field {bad + 1}"
            cells = dict(zip(self.header, (readable(value) for value in fields)))
            return bad_row(self.name, index, "bad_encoding", f"row {index}: invalid {encoding.upper()} bytes in column "
                           f"{column!r}", caption=_text_cell(cells.get(self.columns.caption)),
                           url=_text_cell(cells.get(self.columns.url)) if self.columns.url else None)
        if len(fields) != len(self.header):
            return bad_row(self.name, index, "bad_columns",
                           f"row {index}: {len(fields)} fields, header has {len(self.header)}")
        return row_from_record(self.name, index, dict(zip(self.header, fields)), self.columns)


def _text_cell(value: Any) -> str | None:
    """A cell as text for a rejected row (stripped; None when it is not text)."""
    return value.strip() if isinstance(value, str) else None


def open_parquet(path: Path, fmt: str, facts: dict[str, Any], columns: ColumnFlags) -> Source:
    """``parquet`` (the format registry's entry)."""
    source = ParquetSource(name=path.name, format=fmt, path=path, facts=facts)
    source.prepare(*columns)
    return source


def open_jsonl(path: Path, fmt: str, facts: dict[str, Any], columns: ColumnFlags) -> Source:
    """``jsonl`` (the format registry's entry)."""
    source = JsonLinesSource(name=path.name, format=fmt, path=path, facts=facts)
    source.prepare(*columns)
    source.total_rows = facts["lines"]
    return source


def open_csv(path: Path, fmt: str, facts: dict[str, Any], columns: ColumnFlags) -> Source:
    """``csv`` (the format registry's entry)."""
    source = CsvSource(name=path.name, format=fmt, path=path, facts=facts)
    source.prepare(*columns)
    return source
