"""``ccneg``: the official CC-Neg protocol, scored exactly as the release scores it.

For every image I with true caption c and negated caption c', the cosines on L2-normalised
features are stacked as ``[cos(I, c), cos(I, c')]`` and the highest wins; the true caption
(index 0) is the right answer. The released loop takes ``argmax``, which returns the first of
equal maxima, so an exact tie counts as **correct** in the published numbers, and here.

Ties are real: a caption whose negation falls past the text encoder's context length reads
exactly like its negated caption. So the result also reports ``ties``, ``truncated`` (samples
where either caption is longer than the context length; null when the model does not count
tokens) and the accuracy under every tie rule (``accuracy_tie_argmax``, ``accuracy_tie_wrong``,
``accuracy_tie_half``), so the effect of the rule is visible. ``TaskContext.tie_rule`` may
override the rule ("wrong" or "half"). Samples whose image failed are left out of the accuracy
and listed with their reason.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ccneg_bench.datasets.base import Sample
from ccneg_bench.tasks.base import Task, TaskContext, TaskOutput, image_failures, pair_scores
from ccneg_bench.tasks.stats import breakdowns, summarise
from ccneg_bench.tasks.samples import tie_report
from ccneg_bench.tasks.ties import accuracy_under_each_rule, credit_choices, resolve_tie_rule

#: the release's rule: argmax over [true, negated], the first maximum wins
OFFICIAL_TIE_RULE = "argmax"
#: option order of every choice: the true caption first, as in the release
TRUE_CAPTION, NEGATED_CAPTION = 0, 1


def true_vs_negated(ctx: TaskContext) -> tuple[np.ndarray, np.ndarray]:
    """(score of the true caption, score of the negated caption) per sample."""
    samples = ctx.dataset.samples
    captions = ctx.texts.of([s.caption for s in samples])
    negated = ctx.texts.of([s.negated_caption for s in samples])
    return pair_scores(ctx.images.features, captions), pair_scores(ctx.images.features, negated)


def truncated_samples(ctx: TaskContext, samples: Sequence[Sample]) -> np.ndarray | None:
    """Per sample: the caption or the negated caption exceeds the context length (None: unknown)."""
    captions = ctx.texts.over_context([s.caption for s in samples])
    negated = ctx.texts.over_context([s.negated_caption for s in samples])
    if captions is None or negated is None:
        return None
    return captions | negated


def accuracy_by_tie_rule(scores: np.ndarray, correct: np.ndarray) -> dict[str, float | None]:
    """``accuracy_tie_<rule>`` for every rule, so a result shows what its ties were worth."""
    return {f"accuracy_tie_{rule}": value for rule, value in accuracy_under_each_rule(scores, correct).items()}


def run_ccneg(ctx: TaskContext) -> TaskOutput:
    samples = ctx.dataset.samples
    positive, negative = true_vs_negated(ctx)
    scores = np.stack([positive, negative], axis=1)
    answers = np.full(len(samples), TRUE_CAPTION)
    rule = resolve_tie_rule(ctx.tie_rule, official=OFFICIAL_TIE_RULE)
    outcome = credit_choices(scores, answers, rule)
    ok = ctx.images.ok
    scored = [s for s, good in zip(samples, ok) if good]
    truncated = truncated_samples(ctx, samples)
    overall = summarise(outcome.credit[ok], ctx.bootstrap, ctx.seed)
    metrics: dict[str, Any] = {
        "accuracy": overall["accuracy"],
        "ci95": overall["ci95"],
        "tie_rule": rule,
        "n_scored": int(ok.sum()),
        "n_failed": int((~ok).sum()),
        "ties": int((outcome.tied & ok).sum()),
        "truncated": int((truncated & ok).sum()) if truncated is not None else None,
        **accuracy_by_tie_rule(scores[ok], answers[ok]),
        "mean_margin": float((positive - negative)[ok].mean()) if ok.any() else None,
    }
    predictions = {
        "id": [s.id for s in samples],
        "score_caption": [float(v) if good else None for v, good in zip(positive, ok)],
        "score_negated": [float(v) if good else None for v, good in zip(negative, ok)],
        "correct": [bool(v == 1.0) if good else None for v, good in zip(outcome.credit, ok)],
        "credit": [float(v) if good else None for v, good in zip(outcome.credit, ok)],
        "tie": [bool(v) if good else None for v, good in zip(outcome.tied, ok)],
        "truncated": [bool(v) for v in truncated] if truncated is not None else [None] * len(samples),
        "error": [ctx.images.errors.get(row, (None,))[0] for row in range(len(samples))],
    }
    # the same extra keys as every other choice task, so one reader serves all result files
    extras = {"tie_rule": tie_report(ctx, OFFICIAL_TIE_RULE, scores[ok], answers[ok]),
              "intervals": {"accuracy": overall["ci95"]}}
    return TaskOutput(metrics=metrics, breakdowns=breakdowns(outcome.credit[ok], scored, ctx.bootstrap, ctx.seed),
                      predictions=predictions, failures=image_failures(ctx), extras=extras)


TASK = Task("ccneg", run_ccneg, description="true vs negated caption per image (official protocol)")
