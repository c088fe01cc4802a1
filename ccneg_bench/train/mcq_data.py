"""Training rows from a NegBench-style multiple-choice CSV (``--loss negbench``).

The file is read by the benchmark reader (:func:`ccneg_bench.datasets.negbench.load_negbench`),
so training and ``ccneg-bench --dataset negbench:FILE`` agree on every column and every bad
row: ``correct_answer``, ``caption_0`` .. ``caption_3``, ``correct_answer_template``,
``image_path`` (extra columns are ignored; paths are resolved under ``--image-root``, else next
to the file). Training also accepts the ``modified_positive`` template of NegBench's fine-tuning
generator. Each row trains as (image, right option) for the contrastive half and (image, all
options, right index) for the multiple-choice half.

A row that cannot take part (an empty cell, an index out of range, an unknown template, an image
file that does not exist) is skipped with its reason code and detail, never stopping the run.
"""

from __future__ import annotations

import os
from pathlib import Path

from ccneg_bench.datasets.negbench import FINETUNING_TEMPLATES, load_negbench
from ccneg_bench.train.data import TrainRows
from ccneg_core.image_decode import MISSING


def _row_number(sample_id: str) -> int:
    """The data row of a sample id ``<stem>:<row>`` (see ``ccneg_bench.datasets.rows.numbered_rows``)."""
    return int(sample_id.rsplit(":", 1)[1])


def _skip(rows: TrainRows, sample_id: str, reason: str, detail: str) -> None:
    rows.skipped[reason] = rows.skipped.get(reason, 0) + 1
    rows.skipped_rows.append({"id": sample_id, "reason": reason, "detail": detail})


def load_mcq_rows(path: Path, image_root: str | None = None, limit: int | None = None) -> TrainRows:
    """The usable rows of one NegBench MCQ file (the first ``limit`` data rows when given)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such NegBench MCQ file")
    dataset = load_negbench(str(path), image_root=image_root, split="train", templates=FINETUNING_TEMPLATES)
    if not dataset.kind.endswith("mcq"):
        raise ValueError(f"{path}: a NegBench retrieval file (filepath, captions), not a multiple-choice file "
                         "(correct_answer, caption_0.., image_path); --loss negbench trains on MCQ files")
    table = dataset.images
    refs = table.read_refs(0, len(table))
    rows = TrainRows([], [], [], refs, [], None, [], str(Path(path).parent), fingerprint=table.fingerprint())
    within = (lambda sample_id: limit is None or _row_number(sample_id) < limit)
    for problem in dataset.rejected:
        if within(problem["id"]):
            _skip(rows, problem["id"], problem["code"], problem["detail"])
    exists: dict[int, bool] = {}
    for sample, image_row in zip(dataset.samples, dataset.image_rows()):
        if not within(sample.id):
            continue
        if image_row not in exists:
            exists[image_row] = os.path.isfile(refs[image_row]["path"])
        if not exists[image_row]:
            _skip(rows, sample.id, MISSING, f"no image file {refs[image_row]['path']} (check --image-root)")
            continue
        rows.ids.append(sample.id)
        rows.captions.append(sample.options[sample.correct])
        rows.negated.append("")
        rows.image_rows.append(image_row)
        rows.options.append(sample.options)
        rows.correct.append(sample.correct)
    if not rows.ids:
        raise ValueError(f"{path}: no usable multiple-choice rows (skipped: {rows.skipped}); check the file and "
                         "--image-root")
    return rows
