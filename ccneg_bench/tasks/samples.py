"""Per-sample views shared by the benchmark tasks (MCQ, pairs, CREPE, retrieval, zero-shot).

Benchmark samples may share an image (``Sample.image_row``), and rows of the source files may
have been rejected at load time; every task reports both kinds of problems the same way, per
sample, so they live here once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ccneg_bench.tasks.base import TaskContext
from ccneg_bench.tasks.stats import bootstrap_ci
from ccneg_bench.tasks.ties import accuracy_under_each_rule, resolve_tie_rule
from ccneg_core.image_decode import CORRUPT


def sample_images(ctx: TaskContext) -> tuple[np.ndarray, np.ndarray, list[dict[str, str]]]:
    """(image features per sample, which samples have a usable image, failures incl. rejected rows)."""
    rows = np.asarray(ctx.dataset.image_rows(), dtype=np.int64)
    features = ctx.images.features[rows] if len(rows) else ctx.images.features[:0]
    ok = ctx.images.ok[rows] if len(rows) else np.zeros(0, dtype=bool)
    failures = list(ctx.dataset.rejected)
    for sample, row, good in zip(ctx.dataset.samples, rows, ok):
        if not good:
            code, detail = ctx.images.errors.get(int(row), (CORRUPT, ""))
            failures.append({"id": sample.id, "code": code, "detail": detail})
    return features, ok, failures


def padded_options(ctx: TaskContext, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scores n x k_max with -inf padding, number of options) of samples ``indices`` against their options."""
    samples = [ctx.dataset.samples[i] for i in indices]
    width = max((len(s.candidates()) for s in samples), default=0)
    features, _, _ = sample_images(ctx)
    scores = np.full((len(samples), width), -np.inf, dtype=np.float32)
    counts = np.array([len(s.candidates()) for s in samples], dtype=np.int64)
    for column in range(width):
        which = np.flatnonzero(counts > column)
        if len(which):
            texts = ctx.texts.of([samples[i].candidates()[column] for i in which])
            scores[which, column] = np.einsum("nd,nd->n", features[indices[which]], texts, dtype=np.float32)
    return scores, counts


def tie_report(ctx: TaskContext, official: str, scores: np.ndarray, correct: np.ndarray) -> dict[str, Any]:
    """The ``tie_rule`` extra key: what was asked, the benchmark's rule, what was applied, and
    the accuracy under every rule (so a reader sees how much the ties moved the number)."""
    applied = resolve_tie_rule(ctx.tie_rule, official)  # type: ignore[arg-type]
    return {"requested": ctx.tie_rule, "official": official, "applied": applied,
            "accuracy_by_rule": accuracy_under_each_rule(scores, correct)}


def mean_or_none(values: np.ndarray) -> float | None:
    return float(np.mean(values)) if len(values) else None


def interval(values: np.ndarray, ctx: TaskContext) -> list[float] | None:
    return bootstrap_ci(values, ctx.bootstrap, ctx.seed)
