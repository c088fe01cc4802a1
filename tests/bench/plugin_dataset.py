"""A dataset kind added by a plug-in: ``lines:FILE`` reads ``image|caption|negated caption`` lines.

What a third party writes to add a benchmark format: one module with an ``open_dataset(path,
split, options)`` function and one line in ``ccneg_bench.datasets.DATASETS``. Image paths are
relative to the file's folder unless ``--image-root`` says otherwise.
"""

from __future__ import annotations

import os

from ccneg_bench.datasets.base import DatasetOptions, EvalDataset, Sample
from ccneg_bench.datasets.image_files import FileImageTable


def open_dataset(path: str, split: str, options: DatasetOptions) -> EvalDataset:
    root = options.image_root or os.path.dirname(os.path.abspath(path))
    samples, paths = [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            image, caption, negated = line.rstrip("\n").split("|")
            samples.append(Sample(id=f"line-{number}", caption=caption, negated_caption=negated))
            paths.append(os.path.join(root, image))
    dataset = EvalDataset(spec=f"lines:{os.path.abspath(path)}", split=split, samples=samples,
                          images=FileImageTable(paths, [s.id for s in samples]), name="lines")
    dataset.attach_distractors(None)
    return dataset
