"""Images stored in Parquet (HF ``Image`` struct column): ccneg-build shards, distractor pools."""

from __future__ import annotations

import os
from typing import Any

import pyarrow.parquet as pq

from ccneg_bench.datasets.base import ImageTable, digest


class ParquetImageTable(ImageTable):
    """Row-aligned image references from one column of some Parquet files.

    Chunks never cross a row group, and a worker keeps the last row group it read, so each row
    group's image bytes are read once while memory stays bounded by one row group.
    """

    def __init__(self, files: list[str], ids: list[str], column: str = "image", root: str | None = None) -> None:
        self.files = [os.path.abspath(f) for f in files]
        self.ids = ids
        self.column = column
        self.root = root
        self._groups: list[tuple[int, int, int, int]] = []  # (file index, row group, first row, rows)
        first = 0
        for f_index, path in enumerate(self.files):
            meta = pq.ParquetFile(path).metadata
            for group in range(meta.num_row_groups):
                rows = meta.row_group(group).num_rows
                self._groups.append((f_index, group, first, rows))
                first += rows
        if first != len(ids):
            raise ValueError(f"{files}: {first} image rows but {len(ids)} ids")
        self._cached: tuple[tuple[int, int], list[Any]] | None = None

    def chunks(self, size: int) -> list[tuple[int, int]]:
        out = []
        for _, _, first, rows in self._groups:
            out.extend((s, min(s + size, first + rows)) for s in range(first, first + rows, max(1, size)))
        return out

    def _group_refs(self, position: int) -> list[Any]:
        f_index, group, _, _ = self._groups[position]
        key = (f_index, group)
        if self._cached is None or self._cached[0] != key:
            table = pq.ParquetFile(self.files[f_index]).read_row_group(group, columns=[self.column])
            self._cached = (key, table.column(0).to_pylist())
        return self._cached[1]

    def read_refs(self, start: int, stop: int) -> list[Any]:
        refs: list[Any] = []
        for position, (_, _, first, rows) in enumerate(self._groups):
            if first + rows <= start or first >= stop:
                continue
            group = self._group_refs(position)
            refs.extend(group[max(start, first) - first: min(stop, first + rows) - first])
        return refs

    def fingerprint(self) -> str:
        stats = [(p, os.path.getsize(p), os.stat(p).st_mtime_ns) for p in self.files]
        return digest([stats, self.column])

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cached"] = None
        return state
