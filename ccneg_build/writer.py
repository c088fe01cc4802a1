"""Turning accepted and rejected rows into Arrow rows and Parquet files, atomically.

Two kinds of files are written:

* *parts*: one records file and one rejects file per processed shard, under
  ``OUT/.ccneg/parts/`` (working state, see :mod:`ccneg_build.runner`);
* the *published* files: ``OUT/data/{split}-NNNNN-of-NNNNN.parquet`` and
  ``OUT/rejected/rejected-NNNNN-of-NNNNN.parquet``, assembled from the parts in input
  order by :class:`SplitFileWriter`.

Every file goes to a temporary name first and is renamed into place, so a crash never
leaves a half-written file under a final name.
"""

from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ccneg_build import __version__
from ccneg_build.layout import shard_name
from ccneg_build.record import RECORD_SCHEMA, REJECT_SCHEMA, Negation, Rejection, SourceRow
from ccneg_build.verify import Verdict

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


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success make it ``path`` in one rename.

    Any writer can fill the temporary file (``torch.save``, ``np.savez``, safetensors,
    Parquet). Before the rename the file gets the mode a plain ``open`` would give it
    (0666 minus the umask, 0644 under umask 022): some writers create private 0600 files, and
    a results folder shared with colleagues must stay readable. On failure the temporary
    file is removed and nothing under ``path`` changes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    try:
        yield tmp
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


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


# ----------------------------------------------------------------------------- rows


def record_row(row: SourceRow, negation: Negation, verdict: Verdict) -> dict[str, Any]:
    """An accepted row as a dict in RECORD_SCHEMA order (``split`` is filled at publishing)."""
    relations = negation.decomposition.relations
    chosen = negation.chosen_relation
    image = row.image
    return {
        "id": row.id,
        "source": row.source,
        "source_row": row.source_row,
        "url": row.url,
        "image": image,
        "image_sha256": _image_sha256(image),
        "caption": row.caption,
        "negated_caption": negation.negated_caption,
        "exclusion_caption": negation.exclusion_caption,
        "subject": negation.decomposition.subject,
        "relations": [{"object": r.object, "predicate": r.predicate} for r in relations],
        "num_relations": len(relations),
        "negated_object": chosen.object,
        "negated_predicate": chosen.predicate,
        "negation_cue": verdict.negation_cue,
        "negation_type": verdict.negation_type,
        "labels": list(row.labels) if row.labels is not None else None,
        "generator": negation.generator.as_dict(),
        "prompt_version": negation.prompt_version,
        "split": None,
        "visual_score": None,
        "visual_model": None,
    }


def _image_sha256(image: dict[str, Any] | None) -> str | None:
    if not image:
        return None
    if image.get("sha256"):
        return str(image["sha256"])
    data = image.get("bytes")
    if data:
        import hashlib

        return hashlib.sha256(data).hexdigest()
    return None


def reject_row(row: SourceRow, rejection: Rejection) -> dict[str, Any]:
    """A rejected row as a dict in REJECT_SCHEMA order: enough to audit and retry it."""
    negation = rejection.negation
    generator = rejection.generator or (negation.generator if negation else None)
    return {
        "id": row.id,
        "source": row.source,
        "source_row": row.source_row,
        "url": row.url,
        "caption": row.caption,
        "reason": rejection.reason,
        "detail": rejection.detail,
        "stage": rejection.stage,
        "raw_response": rejection.raw_response or (negation.raw_response if negation else None),
        "negated_caption": negation.negated_caption if negation else None,
        "exclusion_caption": negation.exclusion_caption if negation else None,
        "generator": generator.as_dict() if generator else None,
    }


def read_rejection(row: SourceRow) -> Rejection:
    """The rejection of a row that its reader could not make sense of."""
    return Rejection(reason=row.error or "bad_row", detail=row.error_detail or "", stage="read")


def _image_struct(image: dict[str, Any] | None) -> dict[str, Any] | None:
    if image is None:
        return None
    return {"bytes": image.get("bytes"), "path": image.get("path")}


def records_table(rows: list[dict[str, Any]], schema: pa.Schema = RECORD_SCHEMA) -> pa.Table:
    cleaned = [{**r, "image": _image_struct(r.get("image"))} for r in rows]
    return pa.Table.from_pylist(cleaned, schema=schema)


def rejects_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=REJECT_SCHEMA)


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
    Hub's ``{split}-NNNNN-of-NNNNN`` convention. Each file is renamed into place when full.
    """

    def __init__(self, folder: Path, prefix: str, total_rows: int, rows_per_file: int, schema: pa.Schema):
        self.folder, self.prefix, self.schema = folder, prefix, schema
        self.rows_per_file = rows_per_file
        self.count = max(1, -(-total_rows // rows_per_file))
        self.files: list[dict[str, Any]] = []
        self._index = 0
        self._writer: pq.ParquetWriter | None = None
        self._rows_in_file = 0
        self._tmp: Path | None = None

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

    def close(self) -> list[dict[str, Any]]:
        """Finish the last file; write empty files for any planned but unused names."""
        if self._writer is not None:
            self._finish_file()
        while self._index < self.count:
            self._ensure_open()
            self._finish_file()
        return self.files

    def _ensure_open(self) -> None:
        if self._writer is None:
            final = self.folder / shard_name(self.prefix, self._index, self.count)
            self.folder.mkdir(parents=True, exist_ok=True)
            self._tmp = _temporary(final)
            self._writer = pq.ParquetWriter(self._tmp, self.schema, compression=COMPRESSION)
            self._rows_in_file = 0

    def _finish_file(self) -> None:
        assert self._writer is not None and self._tmp is not None
        self._writer.close()
        final = self.folder / shard_name(self.prefix, self._index, self.count)
        os.replace(self._tmp, final)
        self.files.append({"path": final.name, "rows": self._rows_in_file, "bytes": final.stat().st_size,
                           "sha256": file_sha256(final)})
        self._writer, self._tmp = None, None
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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    n = 0
    with tmp.open("w", encoding="utf-8") as handle:
        for row_id in ids:
            handle.write(row_id + "\n")
            n += 1
    os.replace(tmp, path)
    return n
