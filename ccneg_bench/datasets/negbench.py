"""NegBench CSV files (``negbench:FILE.csv``): MCQ-Neg, binary MCQ, Retrieval and Retrieval-Neg.

The layout is recognised from the header, as NegBench's own loaders read columns by name:

* MCQ-Neg: ``correct_answer``, ``caption_0``..``caption_3``, ``correct_answer_template``
  (``positive`` / ``negative`` / ``hybrid``), ``image_path`` -> task ``mcq``;
* binary MCQ: ``image_path``, ``caption_0``, ``caption_1``, ``correct_answer`` -> task ``mcq``;
* Retrieval / Retrieval-Neg: ``filepath`` and ``captions`` (a Python list literal, read with
  ``ast.literal_eval``) -> task ``retrieval``.

Extra columns are ignored. The released paths are absolute paths of the authors' machine;
``image_root`` maps them onto a local folder (see :func:`~ccneg_bench.datasets.image_files.resolve_under`).
"""

from __future__ import annotations

import os
import re

from ccneg_bench.datasets.base import DatasetOptions, EvalDataset, Sample
from ccneg_bench.datasets.rows import ImageIndex, RowProblem, cell, index_cell, list_literal, numbered_rows, read_csv, read_header
from ccneg_bench.datasets.image_files import resolve_under

#: the template values NegBench's MCQ scoring accepts (any other raises KeyError there)
MCQ_TEMPLATES = ("positive", "negative", "hybrid")
#: NegBench's fine-tuning generator also writes ``modified_positive`` ("This image features A.",
#: for rows with fewer than two present objects); training data may hold every one of these
FINETUNING_TEMPLATES = (*MCQ_TEMPLATES, "modified_positive")
_OPTION = re.compile(r"^caption_(\d+)$")


def _option_columns(header: list[str]) -> list[str]:
    numbers = sorted(int(m.group(1)) for c in header if (m := _OPTION.match(c)))
    columns = []
    for expected, number in enumerate(numbers):
        if number != expected:
            break
        columns.append(f"caption_{number}")
    return columns


def load_negbench(path: str, image_root: str | None = None, split: str = "eval",
                  templates: tuple[str, ...] = MCQ_TEMPLATES) -> EvalDataset:
    """Load one NegBench CSV; its layout (MCQ or retrieval) comes from the header.

    ``templates``: the ``correct_answer_template`` values an MCQ row may hold (others are
    rejected rows); the trainer passes :data:`FINETUNING_TEMPLATES`.
    """
    if not os.path.isfile(path):
        raise ValueError(f"negbench:{path}: no such file (give a NegBench CSV such as COCO_val_mcq_llama3.1_rephrased.csv)")
    header = read_header(path)
    if "captions" in header and "filepath" in header:
        return _load_retrieval(path, image_root, split)
    if "correct_answer" in header and "image_path" in header and len(_option_columns(header)) >= 2:
        return _load_mcq(path, image_root, split, templates)
    raise ValueError(
        f"{path}: not a NegBench file: expected MCQ columns (correct_answer, caption_0.., image_path"
        f"[, correct_answer_template]) or retrieval columns (filepath, captions); found: {', '.join(header)}"
    )


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _load_mcq(path: str, image_root: str | None, split: str, templates: tuple[str, ...]) -> EvalDataset:
    header, rows = read_csv(path, ["correct_answer", "image_path"])
    options_columns = _option_columns(header)
    templated = "correct_answer_template" in header
    base = os.path.dirname(os.path.abspath(path))
    images = ImageIndex()
    samples: list[Sample] = []
    rejected: list[dict[str, str]] = []
    for sample_id, place, row in numbered_rows(path, rows, _stem(path)):
        try:
            options = tuple(cell(row, c, place) for c in options_columns)
            correct = index_cell(row, "correct_answer", place, len(options))
            group = None
            if templated:
                value = cell(row, "correct_answer_template", place).strip()
                if value not in templates:
                    raise RowProblem("unknown_template", f"{place}: correct_answer_template is {value!r}; "
                                                         f"NegBench uses {', '.join(templates)}")
                group = value
            image = resolve_under(cell(row, "image_path", place), image_root, base)
        except RowProblem as problem:
            rejected.append(problem.record(sample_id))
            continue
        samples.append(Sample(id=sample_id, caption=options[correct], negated_caption="", options=options,
                              correct=correct, group=group, image_row=images.row(image)))
    dataset = EvalDataset(spec=f"negbench:{os.path.abspath(path)}", split=split, samples=samples,
                          images=images.table(), name=f"negbench/{_stem(path)}", default_tasks=("mcq",),
                          rejected=rejected, kind="mcq" if templated else "binary_mcq")
    dataset.attach_distractors(None)
    return dataset


def _load_retrieval(path: str, image_root: str | None, split: str) -> EvalDataset:
    _, rows = read_csv(path, ["filepath", "captions"])
    base = os.path.dirname(os.path.abspath(path))
    images = ImageIndex()
    samples: list[Sample] = []
    rejected: list[dict[str, str]] = []
    for sample_id, place, row in numbered_rows(path, rows, _stem(path)):
        try:
            captions = tuple(list_literal(cell(row, "captions", place), place, "captions"))
            image = resolve_under(cell(row, "filepath", place), image_root, base)
        except RowProblem as problem:
            rejected.append(problem.record(sample_id))
            continue
        samples.append(Sample(id=sample_id, caption=captions[0], negated_caption="", options=captions,
                              image_row=images.row(image)))
    dataset = EvalDataset(spec=f"negbench:{os.path.abspath(path)}", split=split, samples=samples,
                          images=images.table(), name=f"negbench/{_stem(path)}", default_tasks=("retrieval",),
                          rejected=rejected, kind="captions")
    dataset.attach_distractors(None)
    return dataset


def open_dataset(path: str, split: str, options: DatasetOptions) -> EvalDataset:
    """``negbench:FILE.csv`` (the dataset registry's entry)."""
    return load_negbench(path, image_root=options.image_root, split=split)
