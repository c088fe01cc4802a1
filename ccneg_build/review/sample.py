"""A seeded sample of rows from a built folder, read without loading the whole dataset.

The sample is the ``n`` rows with the lowest ``blake2b(seed, id)``: it depends only on the
ids and the seed (not on file order, shards or ``--rows-per-file``), a larger ``n`` extends a
smaller sample instead of replacing it, and two reviewers with the same seed see the same
rows. Reading takes two passes: ids only (a bounded heap), then only the row groups that
hold a chosen row, so images of unchosen rows are never read.

Folders written before a column existed (``visual_score``, ...) read fine: missing columns
come back as ``None``.
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ccneg_core import dataset
from ccneg_core.layout import REJECTED_DIR

#: ``--split`` values: the published splits, every accepted row, or the rejected rows.
REVIEW_SPLITS = ("accepted", "train", "eval", "rejected")


class ReviewInputError(ValueError):
    """OUT is not a readable built folder, or has no rows of the split; the message says what to do."""


@dataclass(frozen=True)
class Located:
    """Where one row lives: file, row group, index inside the group."""

    path: Path
    group: int
    index: int


def split_files(out: Path, split: str) -> list[Path]:
    """The Parquet files of ``split`` in a built folder (raises :class:`ReviewInputError`)."""
    out = Path(out)
    if not out.is_dir():
        raise ReviewInputError(f"{out}: no such folder (give the --out folder of a ccneg-build run)")
    if split not in REVIEW_SPLITS:
        raise ReviewInputError(f"--split {split!r}: choose one of {', '.join(REVIEW_SPLITS)}")
    if not dataset.is_dataset_folder(out):
        raise ReviewInputError(f"{out}: no Parquet files for split {split!r} (no data/*.parquet: is it a "
                               "ccneg-build folder?)")
    try:
        if split == "rejected":
            files = dataset.rejected_files(out)
            if not files:
                raise ReviewInputError(f"{out}: no Parquet files for split 'rejected' (no {REJECTED_DIR}/*.parquet)")
            return files
        present = dataset.split_names(out)
        if split != "accepted" and split not in present:
            raise ReviewInputError(f"{out}: no Parquet files for split {split!r} (splits present: {', '.join(present)})")
        return dataset.split_files(out, None if split == "accepted" else split)
    except dataset.DatasetFolderError as error:
        raise ReviewInputError(str(error)) from None


def sample_key(seed: int, row_id: str) -> bytes:
    """The sort key that defines the sample: lowest keys first."""
    return hashlib.blake2b(f"ccneg-review\x1f{seed}\x1f{row_id}".encode(), digest_size=8).digest()


def _open(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as err:
        raise ReviewInputError(f"{path}: unreadable Parquet file ({err}); rebuild the folder") from None


def _locate_ids(files: list[Path]) -> Iterator[tuple[str, Located]]:
    for path in files:
        handle = _open(path)
        if "id" not in handle.schema_arrow.names:
            raise ReviewInputError(f"{path}: no 'id' column (not a ccneg-build file?)")
        for group in range(handle.num_row_groups):
            ids = handle.read_row_group(group, columns=["id"]).column("id").to_pylist()
            for index, row_id in enumerate(ids):
                if row_id is not None:
                    yield row_id, Located(path, group, index)


def sample_rows(out: Path, split: str, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Up to ``n`` rows of ``split``, in sample order, each a dict of every stored column."""
    files = split_files(out, split)
    chosen = heapq.nsmallest(n, ((sample_key(seed, row_id), row_id, where) for row_id, where in _locate_ids(files)),
                             key=lambda item: item[0])
    by_group: dict[tuple[Path, int], list[tuple[int, int]]] = {}
    for order, (_key, _row_id, where) in enumerate(chosen):
        by_group.setdefault((where.path, where.group), []).append((where.index, order))
    rows: list[dict[str, Any] | None] = [None] * len(chosen)
    for (path, group), wanted in by_group.items():
        table = _open(path).read_row_group(group)
        for index, order in wanted:
            row = table.slice(index, 1).to_pylist()[0]
            row.setdefault("split", "rejected" if split == "rejected" else None)
            rows[order] = row
    return [row for row in rows if row is not None]


def read_column_values(out: Path, split: str, columns: list[str]) -> Iterator[dict[str, Any]]:
    """Every row of ``split`` with only ``columns`` (absent ones as ``None``): for joining judgments."""
    for path in split_files(out, split):
        handle = _open(path)
        present = [c for c in columns if c in handle.schema_arrow.names]
        for batch in handle.iter_batches(columns=present, batch_size=4096):
            for row in batch.to_pylist():
                yield {c: row.get(c) for c in columns}
