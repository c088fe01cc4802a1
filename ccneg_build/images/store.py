"""The resumable store of finished downloads, one folder per shard of the run.

Outcomes (images and failures alike) are buffered in memory and written every
``flush_every`` results as a small Parquet *part*, to a temporary name first and then
renamed, so a part on disk is always complete. A run killed at any moment loses at most
the unflushed results; a rerun loads the parts and fetches only what is missing, so no
stored image is downloaded twice. Failures are stored too: a rerun gives the same rows
the same reasons instead of hammering dead servers again.

Once the shard's rows are safely in the dataset, :meth:`ImageStore.discard` frees the
space (the images live on in the Parquet ``image`` column).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from ccneg_build.images.prepare import StoredImage
from ccneg_build.images.fetch import ImageFailure, ImageOutcome
from ccneg_core.writer import atomic_output

STORE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("url", pa.string()),
        pa.field("bytes", pa.binary()),
        pa.field("sha256", pa.string()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("format", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("detail", pa.string()),
        pa.field("attempts", pa.int32()),
    ]
)

_PART_PREFIX = "part-"


class ImageStore:
    """Finished download outcomes of one shard, persisted in atomic Parquet parts."""

    def __init__(self, directory: Path, flush_every: int = 64) -> None:
        self.directory = Path(directory)
        self.flush_every = max(1, flush_every)
        self._pending: list[ImageOutcome] = []
        self._next_part = 1 + max((_part_number(p) for p in iter_parts(self.directory)), default=-1)

    def load(self) -> dict[str, ImageOutcome]:
        """Every outcome stored so far, by row id (unreadable parts are ignored and redone)."""
        found: dict[str, ImageOutcome] = {}
        if not self.directory.is_dir():
            return found
        for path in iter_parts(self.directory):
            self._next_part = max(self._next_part, _part_number(path) + 1)
            try:
                table = pq.read_table(path, schema=STORE_SCHEMA)
            except (OSError, pa.ArrowInvalid):
                continue  # cannot happen with atomic renames; a damaged disk just refetches
            for row in table.to_pylist():
                found[row["id"]] = _outcome_from_row(row)
        return found

    def add(self, outcome: ImageOutcome) -> None:
        self._pending.append(outcome)
        if len(self._pending) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Write the buffered outcomes as one new part (temporary name, then rename)."""
        if not self._pending:
            return
        table = pa.Table.from_pylist([_row_of(o) for o in self._pending], schema=STORE_SCHEMA)
        with atomic_output(self.directory / f"{_PART_PREFIX}{self._next_part:06d}.parquet") as temporary:
            pq.write_table(table, temporary)
        self._next_part += 1
        self._pending.clear()

    def discard(self) -> None:
        """Delete the store (call only after the shard's rows are committed)."""
        shutil.rmtree(self.directory, ignore_errors=True)


def stored_ids(directory: Path) -> set[str]:
    """Ids whose outcome is on disk in ``directory`` (used by tests and progress reports)."""
    return set(ImageStore(directory).load())


def _part_number(path: Path) -> int:
    try:
        return int(path.stem[len(_PART_PREFIX) :])
    except ValueError:
        return 0


def _row_of(outcome: ImageOutcome) -> dict:
    image, failure = outcome.image, outcome.failure
    return {
        "id": outcome.id,
        "url": outcome.url,
        "bytes": image.data if image else None,
        "sha256": image.sha256 if image else None,
        "width": image.width if image else None,
        "height": image.height if image else None,
        "format": image.format if image else None,
        "reason": failure.reason if failure else None,
        "detail": failure.detail if failure else None,
        "attempts": outcome.attempts,
    }


def _outcome_from_row(row: dict) -> ImageOutcome:
    if row["bytes"] is not None:
        image = StoredImage(row["bytes"], row["sha256"], row["width"], row["height"], row["format"])
        return ImageOutcome(row["id"], row["url"], image, None, row["attempts"])
    failure = ImageFailure(row["reason"] or "connection_error", row["detail"] or "")
    return ImageOutcome(row["id"], row["url"], None, failure, row["attempts"])


def iter_parts(directory: Path) -> Iterable[Path]:
    return sorted(Path(directory).glob(f"{_PART_PREFIX}*.parquet"))
