"""Google's Conceptual Captions TSV files: plain (caption, url) and Image Labels.

Both have no header. The plain file has two columns ``caption<TAB>url``; the Image Labels
file adds ``labels`` (comma-separated), ``MIDs`` and ``confidence_scores``. The text is
UTF-8, or UTF-16/32 with a byte order mark (:mod:`.text`); an undecodable line costs only
that line, which is rejected with its text kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from ccneg_core.record import SourceRow
from ccneg_build.sources.base import ColumnFlags, InputError, Source, bad_row, make_row
from ccneg_build.sources.text import open_text, readable, undecodable_detail

COLUMNS = {"cc3m": 2, "cc3m-labels": 5}


class CC3MSource(Source):
    """Streams a CC3M-style TSV; ``format`` is ``cc3m`` or ``cc3m-labels``."""

    def iter_rows(self) -> Iterator[SourceRow]:
        expected = COLUMNS[self.format]
        assert self.path is not None
        with open_text(Path(self.path)) as text:
            for index, line in enumerate(text):
                yield self._parse(index, line.rstrip("\r\n"), expected, text.encoding)

    def _parse(self, index: int, line: str, expected: int, encoding: str) -> SourceRow:
        fields = line.split("\t")
        undecodable = undecodable_detail(f"line {index + 1}", line, encoding)
        if undecodable is not None:
            return bad_row(self.name, index, "bad_encoding", undecodable, caption=readable(fields[0]).strip(),
                           url=readable(fields[1]).strip() if len(fields) > 1 else None)
        if len(fields) != expected:
            return bad_row(
                self.name,
                index,
                "bad_columns",
                f"line {index + 1}: {len(fields)} tab-separated columns, expected {expected} ({self.format})",
                caption=fields[0] if fields else None,
            )
        caption, url = fields[0].strip(), fields[1].strip()
        labels = None
        if self.format == "cc3m-labels":
            labels = [label.strip() for label in fields[2].split(",") if label.strip()]
        return make_row(self.name, index, caption, url=url, labels=labels)


def sniff_columns(path: Path, sample_lines: int = 20) -> int | None:
    """The most common tab-separated column count among the first lines, if any."""
    counts: dict[int, int] = {}
    with open_text(path) as text:
        for _, line in zip(range(sample_lines), text):
            n = line.rstrip("\r\n").count("\t") + 1
            counts[n] = counts.get(n, 0) + 1
    if not counts:
        return None
    return max(counts, key=lambda n: counts[n])


def open_file(path: Path, fmt: str, facts: dict[str, Any], columns: ColumnFlags) -> Source:
    """``cc3m`` / ``cc3m-labels``: Google's TSV with fixed columns (the format registry's entry)."""
    named = [flag for flag, value in zip(("--caption-column", "--url-column", "--image-column",
                                          "--labels-column"), columns) if value]
    if named:
        raise InputError(f"input {path}: {', '.join(named)} applies to Parquet/JSONL/CSV/hf inputs, "
                         f"not to a {fmt} TSV with fixed columns")
    source = CC3MSource(name=path.name, format=fmt, path=path, facts=facts)
    source.total_rows = facts["lines"]
    return source
