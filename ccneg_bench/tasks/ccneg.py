"""``ccneg``: the official CC-Neg protocol.

For every image I with true caption c and negated caption c': correct when
cos(I, c) > cos(I, c') on L2-normalised features. A tie counts as wrong, exactly as the
released loop's strict comparison does. Samples whose image failed are left out of the
accuracy and listed with their reason.
"""

from __future__ import annotations

import numpy as np

from ccneg_bench.tasks.base import TaskContext, TaskOutput, image_failures, pair_scores
from ccneg_bench.tasks.stats import breakdowns, summarise


def true_vs_negated(ctx: TaskContext) -> tuple[np.ndarray, np.ndarray]:
    """(score of the true caption, score of the negated caption) per sample."""
    samples = ctx.dataset.samples
    captions = ctx.texts.of([s.caption for s in samples])
    negated = ctx.texts.of([s.negated_caption for s in samples])
    return pair_scores(ctx.images.features, captions), pair_scores(ctx.images.features, negated)


def run_ccneg(ctx: TaskContext) -> TaskOutput:
    samples = ctx.dataset.samples
    positive, negative = true_vs_negated(ctx)
    correct = positive > negative
    ok = ctx.images.ok
    scored = [s for s, good in zip(samples, ok) if good]
    overall = summarise(correct[ok], ctx.bootstrap, ctx.seed)
    metrics = {
        "accuracy": overall["accuracy"],
        "ci95": overall["ci95"],
        "n_scored": int(ok.sum()),
        "n_failed": int((~ok).sum()),
        "ties": int(((positive == negative) & ok).sum()),
        "mean_margin": float((positive - negative)[ok].mean()) if ok.any() else None,
    }
    predictions = {
        "id": [s.id for s in samples],
        "score_caption": [float(v) if good else None for v, good in zip(positive, ok)],
        "score_negated": [float(v) if good else None for v, good in zip(negative, ok)],
        "correct": [bool(v) if good else None for v, good in zip(correct, ok)],
        "error": [ctx.images.errors.get(row, (None,))[0] for row in range(len(samples))],
    }
    return TaskOutput(metrics=metrics, breakdowns=breakdowns(correct[ok].astype(float), scored, ctx.bootstrap, ctx.seed),
                      predictions=predictions, failures=image_failures(ctx))
