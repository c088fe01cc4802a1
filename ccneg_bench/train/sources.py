"""Where a run's training rows come from: a ccneg dataset folder or a NegBench MCQ file.

``--data DIR`` is a ccneg-build folder: its ``data/{split}-*.parquet`` rows (caption, negated
caption, image, mined distractors), or, when the loss reads multiple-choice options, its
``negbench/mcq_{split}.csv`` (written by ``ccneg-build --style negbench``).
``--data negbench:FILE.csv`` is one NegBench-style MCQ file (the file is the split).

What a loss reads comes from its spec (:mod:`ccneg_bench.train.objectives.spec`); a loss that
needs an input the source cannot give is refused here, by name, before anything loads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Collection

from ccneg_bench.train.objectives.spec import DISTRACTORS, MCQ_OPTIONS, NEGATED_CAPTIONS, describe_inputs
from ccneg_core.layout import negbench_mcq_file

if TYPE_CHECKING:
    from ccneg_bench.train.config import TrainConfig
    from ccneg_bench.train.data import TrainRows

#: the ``--data`` prefix of a NegBench MCQ file (the ccneg-bench dataset spec of the same file)
NEGBENCH_PREFIX = "negbench:"
#: the inputs a multiple-choice file cannot give
_NOT_IN_MCQ_FILES = (NEGATED_CAPTIONS, DISTRACTORS)


@dataclass(frozen=True)
class TrainSource:
    """``kind`` ``"ccneg"`` (a dataset folder) or ``"mcq"`` (a NegBench MCQ file) at ``path``."""

    kind: str
    path: Path


def training_source(data: str, split: str, needs: Collection[str]) -> TrainSource:
    """The rows ``--data`` names for ``split``, given the inputs the loss ``needs``."""
    if data.startswith(NEGBENCH_PREFIX):
        return TrainSource("mcq", Path(os.path.expanduser(data[len(NEGBENCH_PREFIX):])))
    if MCQ_OPTIONS in needs:
        return TrainSource("mcq", Path(data) / negbench_mcq_file(split))
    return TrainSource("ccneg", Path(data))


def check_source(source: TrainSource, loss: str, needs: Collection[str]) -> None:
    """``ValueError`` when the loss reads something the source does not hold."""
    missing = [name for name in _NOT_IN_MCQ_FILES if name in needs]
    if source.kind == "mcq" and missing:
        raise ValueError(f"--loss {loss} reads {describe_inputs(missing)}, which a NegBench MCQ file ({source.path}) "
                         "does not hold; train it on a ccneg dataset folder")


def eval_mcq_file(data: str, split: str, eval_split: str) -> Path | None:
    """The held-out NegBench MCQ file that goes with ``--data``, when there is one.

    ``DIR/negbench/mcq_{eval_split}.csv`` for a folder (whatever the loss: every recipe is then
    scored on the multiple-choice questions too); for ``negbench:PATH/NAME_{split}.csv`` the file
    ``PATH/NAME_{eval_split}.csv`` beside it.
    """
    if not data.startswith(NEGBENCH_PREFIX):
        candidate = Path(data) / negbench_mcq_file(eval_split)
        return candidate if candidate.is_file() else None
    path = Path(os.path.expanduser(data[len(NEGBENCH_PREFIX):]))
    suffix = f"_{split}.csv"
    if not path.name.endswith(suffix):
        return None
    candidate = path.with_name(path.name[: -len(suffix)] + f"_{eval_split}.csv")
    return candidate if candidate != path and candidate.is_file() else None


def load_rows(cfg: "TrainConfig", needs: Collection[str]) -> "TrainRows":
    """The usable training rows of a run (skipped rows counted by reason)."""
    # the readers import torch and pyarrow; this module stays light for the argument checks
    from ccneg_bench.train.data import load_train_rows  # lazy: torch
    from ccneg_bench.train.mcq_data import load_mcq_rows  # lazy: torch

    source = training_source(cfg.data, cfg.split, needs)
    check_source(source, cfg.loss, needs)
    if source.kind == "mcq":
        return load_mcq_rows(source.path, cfg.image_root, cfg.limit)
    return load_train_rows(source.path, cfg.split, DISTRACTORS in needs, cfg.distractors, cfg.limit,
                           need_negated=NEGATED_CAPTIONS in needs)
