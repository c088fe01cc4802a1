"""The released CC-Neg files (``ccneg_preprocessed.pt`` plus the image folder) as an eval dataset.

A thin adapter: reading the file, ids, texts, labels and the split all come from
:mod:`ccneg_core.released_format`, the one reading of the release that
``ccneg-build import-official`` also uses. Scoring the release folder and scoring the folder
``import-official`` made from it therefore give the same samples, ids and predictions. The
stored image paths point at the authors' machine; they are re-rooted to the folder the file
sits in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ccneg_bench.datasets.base import DatasetOptions, EvalDataset, ImageTable, Sample, digest, even_chunks
from ccneg_core.released_format import (
    RELEASED_FILE,
    ReleasedFormatError,
    image_location,
    load_released as load_released_file,
    released_rows,
    split_range,
)


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


def load_released(folder: str, split: str = "eval", eval_size: int | None = None) -> EvalDataset:
    """Load ``split`` (``eval``: the last ``eval_size`` rows, default 40,000; ``train``; ``all``)."""
    root = Path(os.path.abspath(folder))
    try:
        data = load_released_file(root / RELEASED_FILE)
        start, stop = split_range(len(data["annotations"]), split, eval_size)
    except ReleasedFormatError as error:
        raise ValueError(str(error)) from None
    samples, paths = [], []
    for row in released_rows(data, start, stop):
        fields = row.fields
        samples.append(Sample(id=row.id, caption=fields["caption"] or "", negated_caption=fields["negated_caption"] or "",
                              negation_cue=fields["negation_cue"], num_relations=fields["num_relations"],
                              negation_type=fields["negation_type"]))
        location = image_location(root, row.image_path)
        paths.append(os.path.relpath(location, root) if location.is_relative_to(root) else str(location))
    dataset = EvalDataset(spec=str(root), split=split, samples=samples,
                          images=PathImageTable(paths, [s.id for s in samples], str(root)))
    dataset.attach_distractors(None)
    dataset.notes["released_range"] = [start, stop]
    return dataset


def open_dataset(path: str, split: str, options: DatasetOptions) -> EvalDataset:
    """``released:DIR`` (the dataset registry's entry)."""
    return load_released(path, split=split, eval_size=options.eval_size)
