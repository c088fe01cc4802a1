"""A ccneg-build output folder: ``OUT/data/{split}-*.parquet`` in the record schema.

Distractor images written by the trainer's miner are joined when present:
``OUT/distractors/assignments.parquet`` (``id``, ``distractor_ids``, ``distractor_scores``) and
``OUT/distractors/images.parquet`` (``image_id``, ``image``); the first distractor is used. A
``distractor_ids`` column in the data itself is accepted too; its ids are looked up in
``distractors/images.parquet`` when that exists, else among the sample ids of the same split.
"""

from __future__ import annotations

import os
from typing import Any

import pyarrow.parquet as pq

from ccneg_bench.datasets.base import EvalDataset, Sample
from ccneg_bench.datasets.parquet_tables import ParquetImageTable
from ccneg_core.dataset import first_distractors, is_dataset_folder, read_split, split_files
from ccneg_core.layout import DISTRACTOR_DIR, POOL_IMAGES_FILE

META_COLUMNS = ("id", "caption", "negated_caption", "negation_cue", "num_relations", "negation_type", "distractor_ids")
REQUIRED_COLUMNS = ("id", "caption", "negated_caption", "image")


#: kept under its old name for ``ccneg_bench.datasets``
is_ccneg_folder = is_dataset_folder


def _first(value: Any) -> str | None:
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value or None


def _distractor_table(folder: str) -> ParquetImageTable | None:
    path = os.path.join(folder, DISTRACTOR_DIR, POOL_IMAGES_FILE)
    if not os.path.exists(path):
        return None
    ids = pq.read_table(path, columns=["image_id"]).column("image_id").to_pylist()
    return ParquetImageTable([path], ids, column="image", root=os.path.join(folder, DISTRACTOR_DIR))


def load_ccneg_folder(folder: str, split: str = "eval") -> EvalDataset:
    """Load one split of a ccneg-build folder (samples in memory, images left on disk).

    The split's rows are those of ``data/{split}-*.parquet`` (:mod:`ccneg_core.dataset`).
    """
    files = split_files(folder, split)
    meta = read_split(folder, split, META_COLUMNS, required=REQUIRED_COLUMNS).to_pydict()
    mined = first_distractors(folder)
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
    images = ParquetImageTable([str(f) for f in files], list(meta["id"]), column="image", root=folder)
    dataset = EvalDataset(spec=os.path.abspath(folder), split=split, samples=samples, images=images)
    if any(s.distractor_id for s in samples):
        dataset.attach_distractors(_distractor_table(folder) or images)
    else:
        dataset.attach_distractors(None)
    return dataset
