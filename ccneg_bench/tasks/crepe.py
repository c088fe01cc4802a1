"""``crepe``: CREPE's negate subset, the rank of the true caption among its foils.

Per row the region crop is scored against ``[caption] + hard_negs`` (L2-normalised dot
products) and the true caption's rank is its position in a descending sort. CREPE's code uses
``torch.argsort``, whose order among ties is unspecified; the official rule here is ``argmax``
(a stable sort: the true caption, at index 0, goes first among equal scores). Metrics, as
CREPE's ``get_one2many_metrics`` names them: ``image_to_text_R@{1,3,5,10}`` (mean of rank < k),
their ``_std``, ``image_to_text_mean_rank`` (mean + 1), ``image_to_text_rank_std`` and
``image_to_text_median_rank`` (floor(median) + 1). One result per file (= per complexity).
"""

from __future__ import annotations

import math

import numpy as np

from ccneg_bench.tasks.base import Task, TaskContext, TaskOutput
from ccneg_bench.tasks.ranking import rank_block
from ccneg_bench.tasks.samples import interval, padded_options, sample_images, tie_report
from ccneg_bench.tasks.ties import resolve_tie_rule

OFFICIAL = "argmax"
KS = (1, 3, 5, 10)


def run_crepe(ctx: TaskContext) -> TaskOutput:
    samples = ctx.dataset.samples
    _, ok, failures = sample_images(ctx)
    scored = np.flatnonzero(ok)
    scores, _ = padded_options(ctx, scored)
    correct = np.array([samples[i].correct for i in scored], dtype=np.int64)
    positive = np.zeros(scores.shape, dtype=bool)
    positive[np.arange(len(scored)), correct] = True
    rule = resolve_tie_rule(ctx.tie_rule, OFFICIAL)  # type: ignore[arg-type]
    outcome = rank_block(scores, positive, KS, rule)
    metrics: dict[str, float | int | None] = {}
    for k in KS:
        hits = outcome.credit[k]
        metrics[f"image_to_text_R@{k}"] = float(hits.mean()) if len(hits) else None
        metrics[f"image_to_text_R@{k}_std"] = float(hits.std()) if len(hits) else None
    ranks = outcome.rank
    metrics["image_to_text_mean_rank"] = float(ranks.mean() + 1) if len(ranks) else None
    metrics["image_to_text_rank_std"] = float(ranks.std()) if len(ranks) else None
    metrics["image_to_text_median_rank"] = float(math.floor(np.median(ranks)) + 1) if len(ranks) else None
    metrics.update(n_scored=int(len(scored)), n_failed=len(failures), ties=int(outcome.tied.sum()))
    predictions = {"id": [samples[i].id for i in scored], "rank": ranks.tolist(),
                   "options": [int(np.isfinite(row).sum()) for row in scores]}
    extras = {"tie_rule": tie_report(ctx, OFFICIAL, scores, correct),
              "intervals": {"image_to_text_R@1": interval(outcome.credit[1], ctx)}}
    return TaskOutput(metrics=metrics, predictions=predictions, failures=failures, extras=extras)


TASK = Task("crepe", run_crepe, description="CREPE: rank of the true caption among its foils")
