"""An input format added by a plug-in: ``lines``, one caption per line and nothing else.

What a third party writes to read another caption corpus: one module with an
``open_file(path, format, facts, columns)`` function returning a
:class:`~ccneg_build.sources.base.Source`, and one line in
``ccneg_build.sources.FILE_FORMATS``. Rows go through the shared reader checks
(:func:`~ccneg_build.sources.base.make_row`) like every other format's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ccneg_build.sources.base import ColumnFlags, Source, make_row
from ccneg_core.record import SourceRow


@dataclass
class LinesSource(Source):
    def iter_rows(self) -> Iterator[SourceRow]:
        with open(self.path, encoding="utf-8") as handle:
            for index, line in enumerate(handle):
                yield make_row(self.name, index, line.rstrip("\n"))


def open_file(path: Path, fmt: str, facts: dict[str, Any], columns: ColumnFlags) -> Source:
    source = LinesSource(name=path.name, format=fmt, path=path, facts=facts)
    source.total_rows = facts.get("lines")
    return source
