"""CREPE's negate subset (``crepe:FILE.csv``): rank the true region caption among its foils.

A file such as ``prod_vg_hard_negs_negate_complexity_4.csv`` has ``image_id`` (a Visual Genome
image, ``{image_id}.jpg`` in ``VG_100K/`` or ``VG_100K_2/`` under ``--image-root``, default the
file's folder), the region box ``x``, ``y``, ``width``, ``height`` (the image is cropped to it
before the model's transform, as CREPE does by default), ``caption`` and ``hard_negs`` (a Python
list literal of foil captions, read with ``ast.literal_eval``). One result per file.
"""

from __future__ import annotations

import os

from ccneg_bench.datasets.base import DatasetOptions, EvalDataset, Sample
from ccneg_bench.datasets.rows import ImageIndex, RowProblem, cell, list_literal, numbered_rows, read_csv

VG_FOLDERS = ("VG_100K", "VG_100K_2")
BOX = ("x", "y", "width", "height")


def vg_image_path(image_id: str, root: str) -> str:
    """``root/VG_100K/<id>.jpg`` or ``root/VG_100K_2/<id>.jpg`` (or ``root/<id>.jpg``), whichever exists."""
    name = f"{image_id}.jpg"
    candidates = [os.path.join(root, folder, name) for folder in VG_FOLDERS] + [os.path.join(root, name)]
    return next((c for c in candidates if os.path.exists(c)), candidates[0])


def _box(row: dict[str, str], place: str) -> tuple[int, int, int, int]:
    values = []
    for column in BOX:
        text = cell(row, column, place).strip()
        try:
            number = float(text)
        except ValueError:
            raise RowProblem("bad_box", f"{place}: column {column!r} is {text!r}, not a number") from None
        values.append(int(number))
    if values[2] <= 0 or values[3] <= 0:
        raise RowProblem("bad_box", f"{place}: the region box has width {values[2]} and height {values[3]}")
    return values[0], values[1], values[2], values[3]


def load_crepe(path: str, image_root: str | None = None, split: str = "eval") -> EvalDataset:
    """Load one CREPE negate CSV."""
    if not os.path.isfile(path):
        raise ValueError(f"crepe:{path}: no such file (give a CREPE CSV such as prod_vg_hard_negs_negate_complexity_4.csv)")
    _, rows = read_csv(path, ["image_id", *BOX, "caption", "hard_negs"])
    root = image_root or os.path.dirname(os.path.abspath(path))
    stem = os.path.splitext(os.path.basename(path))[0]
    images = ImageIndex()
    samples: list[Sample] = []
    rejected: list[dict[str, str]] = []
    for sample_id, place, row in numbered_rows(path, rows, stem):
        try:
            image_id = cell(row, "image_id", place).strip()
            box = _box(row, place)
            caption = cell(row, "caption", place)
            foils = list_literal(cell(row, "hard_negs", place), place, "hard_negs")
        except RowProblem as problem:
            rejected.append(problem.record(sample_id))
            continue
        samples.append(Sample(id=sample_id, caption=caption, negated_caption=foils[0], options=(caption, *foils),
                              correct=0, image_row=images.row(vg_image_path(image_id, root), box)))
    dataset = EvalDataset(spec=f"crepe:{os.path.abspath(path)}", split=split, samples=samples, images=images.table(),
                          name=f"crepe/{stem}", default_tasks=("crepe",), rejected=rejected, kind="ranking")
    dataset.attach_distractors(None)
    return dataset


def open_dataset(path: str, split: str, options: DatasetOptions) -> EvalDataset:
    """``crepe:FILE.csv`` (the dataset registry's entry)."""
    return load_crepe(path, image_root=options.image_root, split=split)
