"""``OUT/negbench/``: the published records as NegBench's own CSV files, and their images as files.

For every split, from the published ``data/{split}-*.parquet`` (so the CSVs always hold exactly
the published rows, in their order):

* ``mcq_{split}.csv``: ``correct_answer, caption_0, caption_1, caption_2, caption_3,
  correct_answer_template, image_path``, the columns and order NegBench's fine-tuning
  generator writes and its loader (``CsvMCQDataset``) reads; options are in the records'
  shuffled order, so ``correct_answer`` is any of 0..3;
* ``retrieval_{split}.csv``: ``filepath, captions``, with ``captions`` a Python list literal
  (NegBench reads it with ``eval``), as its Retrieval-Neg files.

NegBench's code opens ``image_path`` / ``filepath`` as files, so a row's image bytes are written
to ``images/<first two hex digits of the id>/<id>.<ext>`` and the CSVs name them relative to
the CSV's folder (``ccneg-bench --dataset negbench:`` resolves them there; for NegBench's own
scripts, run them from ``OUT/negbench`` or prefix the paths). A row without image bytes names
its input image path, else its URL. Every file is claimed in the output folder's ledger before it
is written and written atomically, so ``--overwrite`` and republishing treat them like every
other published file; files of an earlier publication that this one did not write are removed.
"""

from __future__ import annotations

import csv
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Iterator, Sequence

import pyarrow.parquet as pq

from ccneg_core.layout import NEGBENCH_DIR, split_of_file
from ccneg_build.outdir import Ledger, remove_stale
from ccneg_core.writer import atomic_output, atomic_write_bytes, file_sha256

IMAGES_DIR = f"{NEGBENCH_DIR}/images"
#: NegBench's MCQ columns, in the order its generators write them.
MCQ_COLUMNS = ("correct_answer", "caption_0", "caption_1", "caption_2", "caption_3", "correct_answer_template",
               "image_path")
RETRIEVAL_COLUMNS = ("filepath", "captions")
_READ = ["id", "url", "image", "mcq_options", "correct_answer", "correct_answer_template", "retrieval_captions"]


def mcq_file(split: str) -> str:
    return f"{NEGBENCH_DIR}/mcq_{split}.csv"


def retrieval_file(split: str) -> str:
    return f"{NEGBENCH_DIR}/retrieval_{split}.csv"


def image_extension(data: bytes) -> str:
    """The usual file extension of an image's bytes (``img`` when unknown)."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:2] == b"BM":
        return "bmp"
    return "img"


def image_file(row_id: str, data: bytes) -> str:
    """Where a row's image is written, relative to the output folder."""
    return f"{IMAGES_DIR}/{row_id[:2]}/{row_id}.{image_extension(data)}"


def export_negbench(out: Path, data_files: Sequence[tuple[str, Path]]) -> dict[str, Any]:
    """Write ``OUT/negbench/`` from a publication's data files, given as (name, path to read) pairs
    (the staged files, before the switch); returns the file entries and counts.

    The CSVs keep NegBench's fixed names (its code opens ``mcq_{split}.csv`` by name), so they
    are not in the manifest's ``files`` (whose names carry the publication id) but in its
    ``negbench`` facts, with the same fields; each is replaced atomically. ``images`` counts the
    image files (listed in the ledger, not one by one in the manifest).
    """
    out = Path(out)
    by_split: dict[str, list[Path]] = {}
    for name, path in data_files:
        split = split_of_file(name)
        if split:
            by_split.setdefault(split, []).append(path)
    ledger = Ledger(out)
    files: list[dict[str, Any]] = []
    written_images: set[str] = set()
    image_bytes = 0
    for split, paths in sorted(by_split.items()):
        ledger.claim([mcq_file(split), retrieval_file(split)])
        with ExitStack() as stack:
            mcq_tmp = stack.enter_context(atomic_output(out / mcq_file(split)))
            retrieval_tmp = stack.enter_context(atomic_output(out / retrieval_file(split)))
            mcq = csv.writer(stack.enter_context(mcq_tmp.open("w", encoding="utf-8", newline="")), lineterminator="\n")
            retrieval = csv.writer(stack.enter_context(retrieval_tmp.open("w", encoding="utf-8", newline="")),
                                   lineterminator="\n")
            mcq.writerow(MCQ_COLUMNS)
            retrieval.writerow(RETRIEVAL_COLUMNS)
            rows = 0
            for table in _tables(paths):
                images = {image_file(row["id"], data): data for row in table
                          if (data := (row["image"] or {}).get("bytes"))}
                ledger.claim(images)
                for name, data in images.items():
                    atomic_write_bytes(out / name, data)
                    image_bytes += len(data)
                written_images.update(images)
                for row in table:
                    where = _image_reference(row)
                    mcq.writerow([row["correct_answer"], *row["mcq_options"], row["correct_answer_template"], where])
                    retrieval.writerow([where, repr(list(row["retrieval_captions"]))])
                    rows += 1
        for name in (mcq_file(split), retrieval_file(split)):
            files.append({"path": name, "split": split, "rows": rows, "bytes": (out / name).stat().st_size,
                          "sha256": file_sha256(out / name), "format": "csv"})
    keep = {f["path"] for f in files} | written_images
    remove_stale(out, NEGBENCH_DIR, keep)
    return {"files": files, "images": len(written_images), "image_bytes": image_bytes}


def _tables(paths: list[Path]) -> Iterator[list[dict[str, Any]]]:
    """The rows of each published file, one row group at a time (memory stays flat)."""
    for path in paths:
        handle = pq.ParquetFile(path)
        for index in range(handle.num_row_groups):
            yield handle.read_row_group(index, columns=_READ).to_pylist()


def _image_reference(row: dict[str, Any]) -> str:
    """What ``image_path`` / ``filepath`` says for a row (see the module doc)."""
    image = row["image"] or {}
    if image.get("bytes"):
        return image_file(row["id"], image["bytes"])[len(NEGBENCH_DIR) + 1:]
    return str(image.get("path") or row.get("url") or row["id"])
