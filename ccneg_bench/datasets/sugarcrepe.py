"""SugarCREPE (``sugarcrepe:DIR``): the 7 JSON files of the benchmark, one result per subset.

Each file (``add_att.json`` ... ``swap_obj.json``) is one JSON object whose keys are string
indices (not always contiguous: iterate the keys, never ``range(n)``) and whose values hold
``filename`` (a bare COCO val2017 name), ``caption`` and ``negative_caption``. Every file present
in DIR is loaded into one dataset whose samples carry their subset as ``group``; images shared
across entries and subsets are encoded once. ``DIR`` may also be a single JSON file.
"""

from __future__ import annotations

import json
import os

from ccneg_bench.datasets.base import DatasetOptions, EvalDataset, Sample
from ccneg_bench.datasets.image_files import resolve_under
from ccneg_bench.datasets.rows import ImageIndex, RowProblem

SUBSETS = ("add_att", "add_obj", "replace_att", "replace_obj", "replace_rel", "swap_att", "swap_obj")


def _files(path: str) -> list[str]:
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise ValueError(f"sugarcrepe:{path}: no such folder (give the folder holding add_att.json ... swap_obj.json)")
    found = [os.path.join(path, f"{name}.json") for name in SUBSETS if os.path.isfile(os.path.join(path, f"{name}.json"))]
    if not found:
        raise ValueError(f"{path}: none of the SugarCREPE files {', '.join(s + '.json' for s in SUBSETS)} is here")
    return found


def _text(entry: dict, field: str, place: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise RowProblem("missing_field", f"{place}: {field!r} is missing or empty")
    return value


def load_sugarcrepe(path: str, image_root: str | None = None, split: str = "eval") -> EvalDataset:
    """Load every SugarCREPE subset file found at ``path`` (images under ``image_root``, default DIR/val2017)."""
    files = _files(path)
    folder = os.path.dirname(os.path.abspath(files[0])) if os.path.isfile(path) else os.path.abspath(path)
    root = image_root or os.path.join(folder, "val2017")
    images = ImageIndex()
    samples: list[Sample] = []
    rejected: list[dict[str, str]] = []
    for file in files:
        subset = os.path.splitext(os.path.basename(file))[0]
        try:
            with open(file, encoding="utf-8") as handle:
                entries = json.load(handle)
        except (OSError, ValueError) as err:
            raise ValueError(f"{file}: not a readable SugarCREPE JSON file ({err})") from None
        if not isinstance(entries, dict):
            raise ValueError(f"{file}: expected one JSON object keyed by index, got {type(entries).__name__}")
        for key, entry in entries.items():
            sample_id = f"{subset}:{key}"
            place = f"{os.path.basename(file)} key {key!r}"
            try:
                if not isinstance(entry, dict):
                    raise RowProblem("malformed_entry", f"{place}: expected an object, got {type(entry).__name__}")
                caption = _text(entry, "caption", place)
                negative = _text(entry, "negative_caption", place)
                image = resolve_under(_text(entry, "filename", place), root, root)
            except RowProblem as problem:
                rejected.append(problem.record(sample_id))
                continue
            samples.append(Sample(id=sample_id, caption=caption, negated_caption=negative, options=(caption, negative),
                                  correct=0, group=subset, image_row=images.row(image)))
    dataset = EvalDataset(spec=f"sugarcrepe:{os.path.abspath(path)}", split=split, samples=samples,
                          images=images.table(), name="sugar_crepe", default_tasks=("pair",), rejected=rejected,
                          kind="pairs")
    dataset.attach_distractors(None)
    return dataset


def open_dataset(path: str, split: str, options: DatasetOptions) -> EvalDataset:
    """``sugarcrepe:DIR`` (the dataset registry's entry)."""
    return load_sugarcrepe(path, image_root=options.image_root, split=split)
