"""``grounding``: NegRefCOCOg, the crop most similar to a negated phrase must be the reference box.

Per item the phrase is scored against each candidate crop (dot products of L2-normalised
features, no logit scale) and the pick is credited with :func:`~ccneg_bench.tasks.ties.credit_choices`.
NegationCLIP's ``negrefcocog_eval.py`` takes ``np.argmax`` over the crops (the first of tied
maxima wins) and counts the item right when that box equals ``ref_bbox``, so its official tie
rule is ``argmax``; as the reference is always the first box in the released file, a model that
scores every crop alike would get 100% there. ``ties`` counts the items where the reference
shares the top score, ``tie_rule.accuracy_by_rule`` shows what they are worth under each rule,
and ``--shuffle-options SEED`` permutes the boxes of each item to expose position bias.
Metrics: ``accuracy`` (scored items), ``n_scored``, ``n_failed`` (unreadable images and rejected
items, listed with their reasons), ``ties``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ccneg_bench.tasks.base import Task, TaskContext, TaskOutput
from ccneg_bench.tasks.choice import shuffle_choices
from ccneg_bench.tasks.samples import interval, mean_or_none, tie_report
from ccneg_bench.tasks.ties import credit_choices, resolve_tie_rule
from ccneg_core.image_decode import CORRUPT

OFFICIAL = "argmax"


def _usable(ctx: TaskContext) -> tuple[np.ndarray, list[dict[str, str]]]:
    """Samples whose every candidate crop was encoded, and the failures (rejected items, bad images)."""
    failures = list(ctx.dataset.rejected)
    usable = []
    for index, sample in enumerate(ctx.dataset.samples):
        bad = [row for row in sample.image_options if not ctx.images.ok[row]]
        if bad:
            code, detail = ctx.images.errors.get(int(bad[0]), (CORRUPT, ""))
            failures.append({"id": sample.id, "code": code, "detail": detail})
        else:
            usable.append(index)
    return np.asarray(usable, dtype=np.int64), failures


def crop_scores(ctx: TaskContext, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scores n x k_max with -inf padding, number of crops) of samples ``indices``: phrase vs each crop."""
    samples = [ctx.dataset.samples[i] for i in indices]
    counts = np.array([len(s.image_options) for s in samples], dtype=np.int64)
    scores = np.full((len(samples), int(counts.max(initial=0))), -np.inf, dtype=np.float32)
    if not samples:
        return scores, counts
    phrases = ctx.texts.of([s.caption for s in samples])
    for i, (sample, phrase) in enumerate(zip(samples, phrases)):
        crops = ctx.images.features[list(sample.image_options)]
        scores[i, : len(sample.image_options)] = np.einsum("kd,d->k", crops, phrase, dtype=np.float32)
    return scores, counts


def run_grounding(ctx: TaskContext) -> TaskOutput:
    samples = ctx.dataset.samples
    scored, failures = _usable(ctx)
    scores, counts = crop_scores(ctx, scored)
    correct = np.array([samples[i].correct for i in scored], dtype=np.int64)
    if ctx.shuffle_options is not None:
        scores, correct = shuffle_choices(scores, counts, correct, ctx.shuffle_options)
    outcome = credit_choices(scores, correct, resolve_tie_rule(ctx.tie_rule, OFFICIAL))  # type: ignore[arg-type]
    metrics: dict[str, Any] = {"accuracy": mean_or_none(outcome.credit), "n_scored": int(len(scored)),
                               "n_failed": len(failures), "ties": int(outcome.tied.sum())}
    predictions = {
        "id": [samples[i].id for i in scored], "correct_answer": correct.tolist(), "chosen": outcome.chosen.tolist(),
        "credit": outcome.credit.tolist(), "tied": outcome.tied.tolist(),
        "scores": [[float(v) for v in row if np.isfinite(v)] for row in scores],
    }
    extras = {"tie_rule": tie_report(ctx, OFFICIAL, scores, correct),
              "intervals": {"accuracy": interval(outcome.credit, ctx)}, "shuffle_options": ctx.shuffle_options}
    return TaskOutput(metrics=metrics, predictions=predictions, failures=failures, extras=extras)


TASK = Task("grounding", run_grounding,
            description="NegRefCOCOg: the crop most similar to the phrase must be the reference box")
