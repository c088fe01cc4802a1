"""``export-official``: any ccneg dataset folder -> the released CC-Neg layout.

Writes ``DIR/ccneg_preprocessed.pt`` and ``DIR/ccneg_images/cc3m_subset_images_extracted_final/
<key>.jpg`` so code written for the release (``data["image_paths"][i]``,
``data["annotations"][i]["sop_data"]["negative-prompt"]``, "the last N rows are eval")
reads it unchanged. Rows are ordered train first, then eval, because the release's
loaders find the eval split by position; the number of eval rows is printed and stored in
``DIR/ccneg_export.json`` (the release's own loaders assume 40,000: set their
``num_ccneg_eval_samples`` to it).

A folder made by ``import-official`` is given back as it came: original order, original
annotation fields (``MIDs``, ``confidence_scores``, ...), original image bytes and, with
``--image-path-prefix`` set to the original prefix, the original path strings; a field
edited since the import is written as edited. Other datasets get the fields the format
has (empty ``MIDs`` / ``confidence_scores``) and their row id as ``key``.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pyarrow.parquet as pq

from ccneg_core.image_decode import ImageRejected, decode_image
from ccneg_core.dataset import DatasetFolderError, IncompleteDatasetError, data_files, published_path
from ccneg_core.layout import split_of_file
from ccneg_build.official.importer import ANNOTATIONS_FILE, EXTRAS_FILE, OFFICIAL_DIR, from_json_safe
from ccneg_core.released_format import (
    IMAGE_SUBDIR,
    RELEASED_FILE,
    annotation_from_record,
    overlay,
    record_fields,
    relative_image_path,
    save_released,
)
from ccneg_build.splits import EVAL, TRAIN
from ccneg_core.writer import atomic_write_bytes, atomic_write_json

EXPORT_INFO = "ccneg_export.json"
_SPLIT_ORDER = {TRAIN: 0, EVAL: 1}


class ExportError(ValueError):
    """The folder cannot be exported; the message says why and what to do."""


@dataclass
class ExportReport:
    rows: int = 0
    eval_rows: int = 0
    skipped_no_image: int = 0
    reencoded: int = 0
    preserved_from_import: int = 0
    files: list[str] = field(default_factory=list)


@dataclass
class _Row:
    order: tuple
    annotation: dict[str, Any]
    relative_path: str
    split: str


def _data_files(folder: Path) -> list[Path]:
    """The folder's data files, train before eval (a row's split is its file's, as everywhere)."""
    try:
        files = data_files(folder)
    except IncompleteDatasetError as error:
        raise ExportError(str(error)) from None
    except DatasetFolderError as error:
        raise ExportError(f"{error} (or of import-official)") from None
    return sorted(files, key=lambda f: (_SPLIT_ORDER.get(split_of_file(f) or "", 2), f.name))


def _imported(folder: Path) -> tuple[dict[str, tuple[int, str, dict[str, Any]]], dict[str, Any]]:
    """Original (index, image path, annotation) by id, and the file's extra entries, if imported."""
    path = published_path(folder, f"{OFFICIAL_DIR}/{ANNOTATIONS_FILE}")
    if path is None:
        return {}, {}
    originals = {}
    for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
        for row in batch.to_pylist():
            originals[row["id"]] = (row["index"], row["image_path"], json.loads(row["annotation"]))
    extras_path = published_path(folder, f"{OFFICIAL_DIR}/{EXTRAS_FILE}")
    extras = from_json_safe(json.loads(extras_path.read_text(encoding="utf-8"))) if extras_path is not None else {}
    return originals, extras


def _records(files: list[Path]) -> Iterator[tuple[int, int, dict[str, Any]]]:
    for file_number, path in enumerate(files):
        position = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=256):
            for record in batch.to_pylist():
                yield file_number, position, record
                position += 1


def _as_jpeg(data: bytes) -> tuple[bytes, bool]:
    """JPEG bytes for a ``.jpg`` name: JPEG input is kept as is, anything else converted
    (decoded by the shared safe decoder, so transparency becomes white as everywhere else)."""
    if data[:3] == b"\xff\xd8\xff":
        return data, False
    buffer = io.BytesIO()
    decode_image(data).save(buffer, "JPEG", quality=95)
    return buffer.getvalue(), True


def export_official(folder: Path, to: Path, image_path_prefix: str | None = None,
                    overwrite: bool = False) -> ExportReport:
    """Write the dataset in ``folder`` to ``to`` in the released layout."""
    folder, to = Path(folder), Path(to)
    target = to / RELEASED_FILE
    if target.exists() and not overwrite:
        raise ExportError(f"{target} exists; pass --overwrite to replace it or choose another --to folder")
    files = _data_files(folder)
    originals, extras = _imported(folder)
    prefix = image_path_prefix if image_path_prefix is not None else str(to.resolve()) + "/"
    report = ExportReport()
    rows: list[_Row] = []
    for file_number, position, record in _records(files):
        image = record.get("image") or {}
        if not image.get("bytes"):
            report.skipped_no_image += 1
            continue
        split = split_of_file(files[file_number]) or TRAIN
        rows.append(_export_row(record, split, originals.get(record["id"]), file_number, position, to, report))
    rows.sort(key=lambda r: r.order)
    ordered = [r for r in rows if r.split != EVAL] + [r for r in rows if r.split == EVAL]
    untouched = bool(originals) and [r.order for r in ordered] == sorted(r.order for r in ordered) \
        and len(ordered) == len(originals)
    data: dict[str, Any] = {
        "image_paths": [prefix + r.relative_path for r in ordered],
        "annotations": [r.annotation for r in ordered],
    }
    if untouched and extras:
        data.update(extras)  # the release's own extra entries, e.g. num_ops
    else:
        data["num_ops"] = _num_ops(ordered)
    save_released(target, data)
    report.rows = len(ordered)
    report.eval_rows = sum(1 for r in ordered if r.split == EVAL)
    info = {"rows": report.rows, "eval_rows_last": report.eval_rows,
            "rule": f"the last {report.eval_rows} rows are the eval split; the others are train",
            "image_path_prefix": prefix, "source_folder": str(folder)}
    atomic_write_json(to / EXPORT_INFO, info)
    report.files = [RELEASED_FILE, EXPORT_INFO, IMAGE_SUBDIR + "/"]
    return report


def _export_row(record: dict[str, Any], split: str, original: tuple[int, str, dict[str, Any]] | None,
                file_number: int, position: int, to: Path, report: ExportReport) -> _Row:
    if original is not None:
        index, original_path, annotation = original
        key = str((annotation.get("json") or {}).get("key") or record["id"])
        baseline = annotation_from_record(record_fields(annotation), key)
        merged = overlay(annotation, baseline, annotation_from_record(record, key))
        relative = relative_image_path(original_path)
        order: tuple = (0, index)
        report.preserved_from_import += 1
    else:
        key = record["id"]
        merged = annotation_from_record(record, key)
        relative = f"{IMAGE_SUBDIR}/{key}.jpg"
        order = (_SPLIT_ORDER.get(split, 2), file_number, position)
    try:
        data, converted = _as_jpeg(record["image"]["bytes"]) if not relative.lower().endswith((".png", ".webp", ".gif")) \
            else (record["image"]["bytes"], False)
    except ImageRejected as rejected:
        raise ExportError(f"row {record['id']}: its image cannot be converted to JPEG ({rejected}); "
                          "rebuild the dataset or drop the row") from None
    report.reencoded += converted
    destination = to / relative
    if not destination.is_file() or destination.read_bytes() != data:
        atomic_write_bytes(destination, data)
    return _Row(order=order, annotation=merged, relative_path=relative, split=split)


def _num_ops(rows: list[_Row]) -> dict[int, list[int]]:
    """Number of object-predicate pairs -> row indices, as some release loaders expect."""
    groups: dict[int, list[int]] = {}
    for index, row in enumerate(rows):
        sop = row.annotation.get("sop_data") or {}
        pairs = (sop.get("sop_decomposition") or {}).get("object-predicate-pairs") or []
        groups.setdefault(len(pairs), []).append(index)
    return dict(sorted(groups.items()))

