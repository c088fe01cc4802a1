"""The released CC-Neg files: ``ccneg_preprocessed.pt`` plus the image folder.

The ``.pt`` is a pickled dict of plain containers, so it loads with ``weights_only=True``: no
code is ever unpickled. The evaluation split is the last 40,000 samples (the first 188,246 are
for training), as in the paper's release. The stored image paths point at the authors'
machine; they are re-rooted to the folder the file sits in. The released loaders strip commas
from the negated caption; so does this one, so that scores match theirs.
"""

from __future__ import annotations

import os
import re
from typing import Any

import torch

from ccneg_bench.datasets.base import EvalDataset, ImageTable, Sample, digest, even_chunks
from ccneg_bench.models.checkpoints import CheckpointError, load_weights_file

RELEASED_FILE = "ccneg_preprocessed.pt"
RELEASED_EVAL_SIZE = 40_000
IMAGE_SUBDIR = os.path.join("ccneg_images", "cc3m_subset_images_extracted_final")
_CUES = re.compile(r"\b(not|no|without|never)\b", re.IGNORECASE)
_TYPES = {"not": "relation", "without": "without", "no": "absence", "never": "verbal"}


class PathImageTable(ImageTable):
    """Images as files on disk, one path per row (relative to ``root``)."""

    def __init__(self, paths: list[str], ids: list[str], root: str) -> None:
        self.paths = paths
        self.ids = ids
        self.root = root

    def chunks(self, size: int) -> list[tuple[int, int]]:
        return even_chunks(len(self.paths), size)

    def read_refs(self, start: int, stop: int) -> list[Any]:
        return [{"bytes": None, "path": p} for p in self.paths[start:stop]]

    def fingerprint(self) -> str:
        return digest([self.root, self.paths])


def is_released_folder(path: str) -> bool:
    return os.path.isfile(os.path.join(path, RELEASED_FILE))


def reroot(original: str, folder: str) -> str:
    """Map an author-machine path to ``folder``: keep what follows ``ccneg_images/``."""
    normal = original.replace("\\", "/")
    marker = "ccneg_images/"
    if marker in normal:
        return normal[normal.index(marker):]
    return os.path.join(IMAGE_SUBDIR, os.path.basename(normal))


def added_cue(caption: str, negated: str) -> str | None:
    """The negation word the negated caption adds (not in the caption), if any."""
    before = {m.lower() for m in _CUES.findall(caption)}
    for match in _CUES.findall(negated):
        if match.lower() not in before:
            return match.lower()
    return None


def load_released(folder: str, split: str = "eval", eval_size: int = RELEASED_EVAL_SIZE) -> EvalDataset:
    """Load the released files; ``split`` is ``eval`` (last ``eval_size``), ``train`` or ``all``."""
    path = os.path.join(folder, RELEASED_FILE)
    try:
        data = load_weights_file(path)
    except CheckpointError as err:
        raise ValueError(str(err)) from None
    if not isinstance(data, dict) or "annotations" not in data or "image_paths" not in data:
        raise ValueError(f"{path}: expected a dict with 'image_paths' and 'annotations'")
    paths, annotations = list(data["image_paths"]), list(data["annotations"])
    if len(paths) != len(annotations):
        raise ValueError(f"{path}: {len(paths)} image paths but {len(annotations)} annotations")
    total = len(annotations)
    ranges = {"eval": (max(0, total - eval_size), total), "test": (max(0, total - eval_size), total),
              "train": (0, max(0, total - eval_size)), "all": (0, total)}
    if split not in ranges:
        raise ValueError(f"released CC-Neg has splits eval (last {eval_size}), train and all, not {split!r}")
    start, stop = ranges[split]
    samples, rel_paths, ids = [], [], []
    for index in range(start, stop):
        ann: dict[str, Any] = annotations[index]
        sop = ann.get("sop_data") or {}
        caption = ann.get("caption") or (ann.get("json") or {}).get("caption") or ""
        negated = (sop.get("negative-prompt") or "").replace(",", "")
        pairs = (sop.get("sop_decomposition") or {}).get("object-predicate-pairs") or []
        key = str((ann.get("json") or {}).get("key") or index)
        cue = added_cue(caption, negated)
        samples.append(Sample(id=key, caption=caption, negated_caption=negated, negation_cue=cue,
                              num_relations=len(pairs) or None, negation_type=_TYPES.get(cue or "")))
        rel_paths.append(reroot(str(paths[index]), folder))
        ids.append(key)
    dataset = EvalDataset(spec=os.path.abspath(folder), split=split, samples=samples,
                          images=PathImageTable(rel_paths, ids, os.path.abspath(folder)))
    dataset.attach_distractors(None)
    dataset.notes["released_range"] = [start, stop]
    return dataset
