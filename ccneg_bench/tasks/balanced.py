"""``ccneg-balanced``: both sides of the negation choice.

CC-Neg alone is one-sided (the negated caption is always wrong), so "avoid negation words"
scores near 100%. Wherever a sample has a distractor image I' (an image the negated caption
describes better, mined by ``ccneg-train mine-distractors``), this task also asks I' to prefer
c' over c. It reports the true-image side and the distractor side on the same samples, their
mean (``accuracy``; a text-only rule lands near 50%) and ``both_correct`` (both sides right).

Each side is a choice between [c, c'] (the release's order); the true image must pick c, the
distractor image c'. An exact tie is worth **half** on either side: this task has no release
whose rule to follow, and half is the only rule under which a model that cannot tell the two
captions apart (identical text features, e.g. both cut at the context length) scores exactly
the 50% of a coin flip. The result reports ``ties_true_image``, ``ties_distractor_image``,
``truncated`` and the accuracy under every tie rule, as ``ccneg`` does.
"""

from __future__ import annotations

import numpy as np

from ccneg_bench.tasks.base import Task, TaskContext, TaskOutput, image_failures, pair_scores
from ccneg_bench.tasks.ccneg import NEGATED_CAPTION, TRUE_CAPTION, true_vs_negated, truncated_samples
from ccneg_bench.tasks.stats import breakdowns, summarise
from ccneg_bench.tasks.ties import RESOLVED_TIE_RULES, credit_choices, resolve_tie_rule
from ccneg_core.image_decode import CORRUPT

#: this task's own rule: a tie is worth half on each side
OFFICIAL_TIE_RULE = "half"


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
    true_scores = np.stack([positive, negative], axis=1)
    distractor_scores = np.stack([d_caption, d_negated], axis=1)
    true_answers = np.full(len(samples), TRUE_CAPTION)
    distractor_answers = np.full(len(samples), NEGATED_CAPTION)
    rule = resolve_tie_rule(ctx.tie_rule, official=OFFICIAL_TIE_RULE)
    true_side = credit_choices(true_scores, true_answers, rule)
    distractor_side = credit_choices(distractor_scores, distractor_answers, rule)
    mean_side = (true_side.credit + distractor_side.credit) / 2.0
    chosen = [s for s, good in zip(samples, scored) if good]
    truncated = truncated_samples(ctx, samples)
    overall = summarise(mean_side[scored], ctx.bootstrap, ctx.seed)
    true_image = summarise(true_side.credit[scored], ctx.bootstrap, ctx.seed)
    distractor_image = summarise(distractor_side.credit[scored], ctx.bootstrap, ctx.seed)
    metrics = {
        "accuracy": overall["accuracy"],
        "ci95": overall["ci95"],
        "tie_rule": rule,
        "accuracy_true_image": true_image["accuracy"],
        "accuracy_distractor_image": distractor_image["accuracy"],
        "both_correct": float(((true_side.credit == 1.0) & (distractor_side.credit == 1.0))[scored].mean())
        if scored.any() else None,
        "n_scored": int(scored.sum()),
        "n_without_distractor": int((~has).sum()),
        "n_failed": int((has & ~scored).sum()),
        "ties_true_image": int((true_side.tied & scored).sum()),
        "ties_distractor_image": int((distractor_side.tied & scored).sum()),
        "truncated": int((truncated & scored).sum()) if truncated is not None else None,
    }
    for other in RESOLVED_TIE_RULES:
        credit = (credit_choices(true_scores[scored], true_answers[scored], other).credit
                  + credit_choices(distractor_scores[scored], distractor_answers[scored], other).credit) / 2.0
        metrics[f"accuracy_tie_{other}"] = float(credit.mean()) if credit.size else None
    failures = image_failures(ctx)
    for sample, row, present, good in zip(samples, rows, has, d_ok):
        if present and not good:
            code, detail = ctx.distractors.errors.get(int(row), (CORRUPT, ""))
            failures.append({"id": sample.id, "code": f"distractor_{code}", "detail": detail})
    predictions = {
        "id": [s.id for s in samples],
        "distractor_id": [s.distractor_id for s in samples],
        "correct_true_image": [bool(v == 1.0) if g else None for v, g in zip(true_side.credit, scored)],
        "correct_distractor_image": [bool(v == 1.0) if g else None for v, g in zip(distractor_side.credit, scored)],
        "credit": [float(v) if g else None for v, g in zip(mean_side, scored)],
        "score_caption": [float(v) if g else None for v, g in zip(positive, scored)],
        "score_negated": [float(v) if g else None for v, g in zip(negative, scored)],
        "distractor_score_negated": [float(v) if g else None for v, g in zip(d_negated, scored)],
        "distractor_score_caption": [float(v) if g else None for v, g in zip(d_caption, scored)],
    }
    # like every other task, the intervals of the headline metric (and here of each side) in one place
    intervals = {"accuracy": overall["ci95"], "accuracy_true_image": true_image["ci95"],
                 "accuracy_distractor_image": distractor_image["ci95"]}
    return TaskOutput(metrics=metrics, breakdowns=breakdowns(mean_side[scored], chosen, ctx.bootstrap, ctx.seed),
                      predictions=predictions, failures=failures, extras={"intervals": intervals})


TASK = Task("ccneg-balanced", run_balanced, needs_distractors=True,
            description="adds distractor images that must prefer the negated caption")
