"""Google's Conceptual Captions TSV files: plain (caption, url) and Image Labels.

Both have no header. The plain file has two columns ``caption<TAB>url``; the Image Labels
file adds ``labels`` (comma-separated), ``MIDs`` and ``confidence_scores``. Lines are read
as bytes and decoded one by one, so one undecodable line costs only that line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ccneg_core.record import SourceRow
from ccneg_build.sources.base import Source, bad_row, make_row, strip_bom

COLUMNS = {"cc3m": 2, "cc3m-labels": 5}


class CC3MSource(Source):
    """Streams a CC3M-style TSV; ``format`` is ``cc3m`` or ``cc3m-labels``."""

    def iter_rows(self) -> Iterator[SourceRow]:
        expected = COLUMNS[self.format]
        assert self.path is not None
        with Path(self.path).open("rb") as handle:
            for index, raw in enumerate(handle):
                yield self._parse(index, strip_bom(raw) if index == 0 else raw, expected)

    def _parse(self, index: int, raw: bytes, expected: int) -> SourceRow:
        line = raw.rstrip(b"\r\n")
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return bad_row(self.name, index, "bad_encoding", f"line {index + 1}: invalid UTF-8 at byte {exc.start}")
        fields = text.split("\t")
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
    with path.open("rb") as handle:
        for _, raw in zip(range(sample_lines), handle):
            n = raw.rstrip(b"\r\n").count(b"\t") + 1
            counts[n] = counts.get(n, 0) + 1
    if not counts:
        return None
    return max(counts, key=lambda n: counts[n])
