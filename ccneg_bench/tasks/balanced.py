"""``ccneg-balanced``: both sides of the negation choice.

CC-Neg alone is one-sided (the negated caption is always wrong), so "avoid negation words"
scores near 100%. Wherever a sample has a distractor image I' (an image the negated caption
describes better, mined by ``ccneg-train mine-distractors``), this task also asks I' to prefer
c' over c. It reports the true-image side and the distractor side on the same samples, their
mean (``accuracy``; a text-only rule lands near 50%) and ``both_correct`` (both sides right).
"""

from __future__ import annotations

import numpy as np

from ccneg_bench.tasks.base import TaskContext, TaskOutput, image_failures, pair_scores
from ccneg_bench.tasks.ccneg import true_vs_negated
from ccneg_bench.tasks.stats import breakdowns, summarise


class NoDistractorsError(ValueError):
    pass


def run_balanced(ctx: TaskContext) -> TaskOutput:
    dataset = ctx.dataset
    samples = dataset.samples
    if ctx.distractors is None or not any(r is not None for r in dataset.distractor_rows):
        raise NoDistractorsError(
            f"{dataset.spec} ({dataset.split}): no sample has a distractor image; run "
            "`ccneg-train mine-distractors` on it first (or give the data a distractor_ids column)"
        )
    positive, negative = true_vs_negated(ctx)
    has = np.array([r is not None for r in dataset.distractor_rows])
    rows = np.array([r if r is not None else 0 for r in dataset.distractor_rows])
    d_ok = ctx.distractors.ok[rows] & has
    d_features = ctx.distractors.features[rows]
    captions = ctx.texts.of([s.caption for s in samples])
    negated = ctx.texts.of([s.negated_caption for s in samples])
    d_negated, d_caption = pair_scores(d_features, negated), pair_scores(d_features, captions)
    scored = ctx.images.ok & d_ok
    true_side = positive > negative
    distractor_side = d_negated > d_caption
    mean_side = (true_side.astype(float) + distractor_side.astype(float)) / 2.0
    chosen = [s for s, good in zip(samples, scored) if good]
    overall = summarise(mean_side[scored], ctx.bootstrap, ctx.seed)
    metrics = {
        "accuracy": overall["accuracy"],
        "ci95": overall["ci95"],
        "accuracy_true_image": summarise(true_side[scored], ctx.bootstrap, ctx.seed)["accuracy"],
        "accuracy_distractor_image": summarise(distractor_side[scored], ctx.bootstrap, ctx.seed)["accuracy"],
        "both_correct": float((true_side & distractor_side)[scored].mean()) if scored.any() else None,
        "n_scored": int(scored.sum()),
        "n_without_distractor": int((~has).sum()),
        "n_failed": int((has & ~scored).sum()),
    }
    failures = image_failures(ctx)
    for sample, row, present, good in zip(samples, rows, has, d_ok):
        if present and not good:
            code, detail = ctx.distractors.errors.get(int(row), ("image_unreadable", ""))
            failures.append({"id": sample.id, "code": f"distractor_{code}", "detail": detail})
    predictions = {
        "id": [s.id for s in samples],
        "distractor_id": [s.distractor_id for s in samples],
        "correct_true_image": [bool(v) if g else None for v, g in zip(true_side, scored)],
        "correct_distractor_image": [bool(v) if g else None for v, g in zip(distractor_side, scored)],
        "score_caption": [float(v) if g else None for v, g in zip(positive, scored)],
        "score_negated": [float(v) if g else None for v, g in zip(negative, scored)],
        "distractor_score_negated": [float(v) if g else None for v, g in zip(d_negated, scored)],
        "distractor_score_caption": [float(v) if g else None for v, g in zip(d_caption, scored)],
    }
    return TaskOutput(metrics=metrics, breakdowns=breakdowns(mean_side[scored], chosen, ctx.bootstrap, ctx.seed),
                      predictions=predictions, failures=failures)
