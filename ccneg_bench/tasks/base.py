"""What a task receives and returns.

A task is a pure function of features: it gets a :class:`TaskContext` (the dataset, the
normalised image/text features and options) and returns a :class:`TaskOutput` (metrics,
breakdowns, per-sample predictions, failures). Encoding and I/O live in
:mod:`ccneg_bench.evaluation`, so a task is trivially unit-tested on hand-made arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ccneg_bench.datasets.base import EvalDataset
from ccneg_bench.features import ImageFeatures, TextFeatures


@dataclass
class TaskContext:
    dataset: EvalDataset
    images: ImageFeatures
    texts: TextFeatures
    #: features of ``dataset.distractors`` (None when the dataset has none)
    distractors: ImageFeatures | None = None
    bootstrap: int = 1000
    seed: int = 0
    #: ``official`` (each benchmark's own rule), ``wrong`` or ``half``; see ``tasks.ties``
    tie_rule: str = "official"
    #: seed of a per-sample permutation of multiple-choice options (None: file order)
    shuffle_options: int | None = None


@dataclass
class TaskOutput:
    metrics: dict[str, Any]
    breakdowns: dict[str, Any] = field(default_factory=dict)
    #: per-sample columns (equal lengths) for --save-predictions
    predictions: dict[str, list[Any]] = field(default_factory=dict)
    #: per-sample problems: {"id", "code", "detail"}
    failures: list[dict[str, str]] = field(default_factory=list)
    #: a part of the dataset reported on its own (a SugarCREPE subset); None: the whole dataset
    subset: str | None = None
    #: samples this output covers (None: the whole dataset)
    n: int | None = None
    #: further top-level keys of the result file (tie rule, confidence intervals, notes)
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    name: str
    #: one output, or one per subset (SugarCREPE reports each of its files)
    run: Callable[[TaskContext], "TaskOutput | list[TaskOutput]"]
    needs_distractors: bool = False
    description: str = ""


def pair_scores(images: np.ndarray, texts: np.ndarray) -> np.ndarray:
    """Row-wise cosine of already-normalised features: cos(images[i], texts[i])."""
    return np.einsum("nd,nd->n", images, texts, dtype=np.float32)


def image_failures(ctx: TaskContext) -> list[dict[str, str]]:
    """One entry per sample whose image failed to decode (its id, reason code and detail)."""
    failed = []
    for row, (code, detail) in sorted(ctx.images.errors.items()):
        failed.append({"id": ctx.dataset.samples[row].id, "code": code, "detail": detail})
    return failed
