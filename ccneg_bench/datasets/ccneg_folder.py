"""A ccneg-build output folder: ``OUT/data/{split}-*.parquet`` in the record schema.

Distractor images written by the trainer's miner are joined when present:
``OUT/distractors/assignments.parquet`` (``id``, ``distractor_ids``, ``distractor_scores``) and
``OUT/distractors/images.parquet`` (``image_id``, ``image``); the first distractor is used. A
``distractor_ids`` column in the data itself is accepted too; its ids are looked up in
``distractors/images.parquet`` when that exists, else among the sample ids of the same split.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ccneg_bench.datasets.base import EvalDataset, Sample
from ccneg_bench.datasets.parquet_tables import ParquetImageTable

META_COLUMNS = ("id", "caption", "negated_caption", "negation_cue", "num_relations", "negation_type", "distractor_ids")


def is_ccneg_folder(path: str) -> bool:
    return os.path.isdir(os.path.join(path, "data")) and bool(glob.glob(os.path.join(path, "data", "*.parquet")))


def available_splits(folder: str) -> list[str]:
    names = {Path(f).name.split("-")[0] for f in glob.glob(os.path.join(folder, "data", "*.parquet"))}
    return sorted(names)


def _first(value: Any) -> str | None:
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value or None


def _read_meta(files: list[str]) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {name: [] for name in META_COLUMNS}
    for path in files:
        try:
            present = set(pq.read_schema(path).names)
        except (OSError, pa.ArrowException) as err:
            raise ValueError(f"{path}: unreadable Parquet shard ({err}); rebuild it or move it out of data/") from None
        if not {"id", "caption", "negated_caption", "image"} <= present:
            raise ValueError(
                f"{path}: missing required columns "
                f"{sorted({'id', 'caption', 'negated_caption', 'image'} - present)} (not a ccneg-build shard?)"
            )
        try:
            table = pq.read_table(path, columns=[c for c in META_COLUMNS if c in present])
        except (OSError, pa.ArrowException) as err:
            raise ValueError(f"{path}: unreadable Parquet shard ({err}); rebuild it or move it out of data/") from None
        rows = table.num_rows
        for name in META_COLUMNS:
            columns[name].extend(table.column(name).to_pylist() if name in present else [None] * rows)
    return columns


def _assignments(folder: str) -> dict[str, str]:
    path = os.path.join(folder, "distractors", "assignments.parquet")
    if not os.path.exists(path):
        return {}
    table = pq.read_table(path, columns=["id", "distractor_ids"])
    return {i: d for i, ids in zip(table.column("id").to_pylist(), table.column("distractor_ids").to_pylist())
            if (d := _first(ids))}


def _distractor_table(folder: str) -> ParquetImageTable | None:
    path = os.path.join(folder, "distractors", "images.parquet")
    if not os.path.exists(path):
        return None
    ids = pq.read_table(path, columns=["image_id"]).column("image_id").to_pylist()
    return ParquetImageTable([path], ids, column="image", root=os.path.join(folder, "distractors"))


def load_ccneg_folder(folder: str, split: str = "eval") -> EvalDataset:
    """Load one split of a ccneg-build folder (samples in memory, images left on disk)."""
    files = sorted(glob.glob(os.path.join(folder, "data", f"{split}-*.parquet")))
    if not files:
        raise ValueError(
            f"{folder}: no data/{split}-*.parquet files; available splits: "
            f"{', '.join(available_splits(folder)) or 'none'} (choose one with --split)"
        )
    meta = _read_meta(files)
    mined = _assignments(folder)
    samples = []
    for row, sample_id in enumerate(meta["id"]):
        distractor = mined.get(sample_id) or _first(meta["distractor_ids"][row])
        relations = meta["num_relations"][row]
        samples.append(Sample(
            id=sample_id,
            caption=meta["caption"][row] or "",
            negated_caption=meta["negated_caption"][row] or "",
            negation_cue=meta["negation_cue"][row],
            num_relations=int(relations) if relations is not None else None,
            negation_type=meta["negation_type"][row],
            distractor_id=distractor,
        ))
    images = ParquetImageTable(files, list(meta["id"]), column="image", root=folder)
    dataset = EvalDataset(spec=os.path.abspath(folder), split=split, samples=samples, images=images)
    if any(s.distractor_id for s in samples):
        dataset.attach_distractors(_distractor_table(folder) or images)
    else:
        dataset.attach_distractors(None)
    return dataset
