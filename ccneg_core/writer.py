"""Atomic writes for every command, and the Parquet files of a built dataset.

:class:`PendingFile` is the one rename-into-place of the project; :func:`atomic_output` and
the ``atomic_write_*`` helpers wrap it, and build, bench and train write every file through
them. The row builders (accepted/rejected row -> dict -> Arrow table) belong to the record
schema in :mod:`ccneg_core.record`.

Two kinds of Parquet files are written:

* *parts*: one records file and one rejects file per processed shard, under
  ``OUT/.ccneg/parts/`` (working state, see :mod:`ccneg_build.shards`);
* the *published* files: ``OUT/data/{split}-NNNNN-of-NNNNN-{publication}.parquet`` and
  ``OUT/rejected/rejected-NNNNN-of-NNNNN-{publication}.parquet``, assembled from the parts in
  input order by :class:`SplitFileWriter` and staged in a
  :class:`~ccneg_build.publication.Publication`, which renames them all into place at once.

Every file goes to a temporary name first and is renamed into place, so a crash never
leaves a half-written file under a final name.
"""

from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ccneg_core import __version__
from ccneg_core.layout import shard_name

if TYPE_CHECKING:
    from ccneg_build.publication import Publication

COMPRESSION = "zstd"
#: Row groups small enough for the Hub viewer to page through image rows.
ROW_GROUP_ROWS = 1000


# ----------------------------------------------------------------------------- atomic files


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")


def _umask() -> int:
    """The process umask (read without changing it where the OS allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:  # fallback: os.umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


_UMASK_LOCK = threading.Lock()


class PendingFile:
    """A file written under a temporary name beside ``path`` until :meth:`commit` renames it.

    THE one rename-into-place of the project: every file ccneg writes goes through it (via
    :func:`atomic_output` or directly, for writers that stream into an open file over
    time), so a crash never leaves a half-written file under a final name. On commit the
    file is flushed to disk and gets the mode a plain ``open`` would give it (0666 minus
    the umask, 0644 under umask 022): some writers create private 0600 files, and a
    results folder shared with colleagues must stay readable. The temporary name starts
    with a dot and holds ``.tmp-``, which is how leftovers of a killed run are recognised.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = _temporary(self.path)

    def commit(self, to: Path | None = None) -> None:
        """Make the temporary file ``path`` in one rename (after an fsync and a chmod).

        ``to`` renames it to another name in the same folder instead (a publication learns its
        files' final names only when every file is written).
        """
        if to is not None:
            self.path = Path(to)
        with self.tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(self.tmp, 0o666 & ~_umask())
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        """Remove the temporary file, if any; ``path`` is left as it was."""
        self.tmp.unlink(missing_ok=True)


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success make it ``path`` in one rename.

    Any writer can fill the temporary file (``torch.save``, ``np.savez``, safetensors,
    Parquet); see :class:`PendingFile` for the mode and the flush. On failure the
    temporary file is removed and nothing under ``path`` changes.
    """
    pending = PendingFile(path)
    try:
        yield pending.tmp
        pending.commit()
    finally:
        pending.discard()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_text(path, json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def atomic_write_table(path: Path, table: pa.Table) -> None:
    """Write one Parquet file atomically (deterministic bytes for the same table)."""
    with atomic_output(path) as tmp:
        pq.write_table(table, tmp, compression=COMPRESSION, row_group_size=ROW_GROUP_ROWS)


# ----------------------------------------------------------------------------- published files


def hub_schema(schema: pa.Schema, image_column: str | None = "image") -> pa.Schema:
    """The schema plus the ``huggingface`` metadata that makes ``datasets`` decode images."""
    import datasets

    features = datasets.Features.from_arrow_schema(schema)
    if image_column and image_column in features:
        features[image_column] = datasets.Image()
    metadata = dict(schema.metadata or {})
    metadata[b"huggingface"] = json.dumps({"info": {"features": features.to_dict()}}).encode()
    metadata[b"ccneg_version"] = __version__.encode()
    return schema.with_metadata(metadata)


class SplitFileWriter:
    """Writes one split's rows, in order, into ``count`` files of at most ``rows_per_file``.

    The number of files is known in advance (from the counted rows), so names follow the
    Hub's ``{split}-NNNNN-of-NNNNN`` convention. Each full file is handed to ``publication``,
    which keeps it under a temporary name until the whole dataset is published.
    """

    def __init__(self, publication: "Publication", folder: str, prefix: str, total_rows: int, rows_per_file: int,
                 schema: pa.Schema, split: str):
        self.publication, self.folder, self.prefix, self.schema, self.split = publication, folder, prefix, schema, split
        self.rows_per_file = rows_per_file
        self.count = max(1, -(-total_rows // rows_per_file))
        self._index = 0
        self._writer: pq.ParquetWriter | None = None
        self._rows_in_file = 0
        self._pending: PendingFile | None = None

    def write(self, table: pa.Table) -> None:
        offset = 0
        while offset < table.num_rows:
            self._ensure_open()
            room = self.rows_per_file - self._rows_in_file
            piece = table.slice(offset, room)
            assert self._writer is not None
            self._writer.write_table(piece.cast(self.schema), row_group_size=ROW_GROUP_ROWS)
            self._rows_in_file += piece.num_rows
            offset += piece.num_rows
            if self._rows_in_file >= self.rows_per_file:
                self._finish_file()

    def close(self) -> None:
        """Finish the last file; write empty files for any planned but unused names."""
        if self._writer is not None:
            self._finish_file()
        while self._index < self.count:
            self._ensure_open()
            self._finish_file()

    def _name(self) -> str:
        return f"{self.folder}/{shard_name(self.prefix, self._index, self.count)}"

    def _ensure_open(self) -> None:
        if self._writer is None:
            self._pending = self.publication.stage(self._name())
            self._writer = pq.ParquetWriter(self._pending.tmp, self.schema, compression=COMPRESSION)
            self._rows_in_file = 0

    def _finish_file(self) -> None:
        assert self._writer is not None and self._pending is not None
        self._writer.close()
        self.publication.add(self._name(), self._pending, split=self.split, rows=self._rows_in_file)
        self._writer, self._pending = None, None
        self._index += 1


def file_sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_id_list(path: Path, ids: Iterable[str]) -> int:
    """Write one id per line (atomically); returns how many."""
    n = 0
    with atomic_output(path) as tmp, tmp.open("w", encoding="utf-8") as handle:
        for row_id in ids:
            handle.write(row_id + "\n")
            n += 1
    return n
