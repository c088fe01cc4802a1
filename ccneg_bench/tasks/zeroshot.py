"""``zeroshot`` and ``zeroshot-negated``: classify images by their class prompts.

``zeroshot`` is CLIP_benchmark's rule: per class, the L2-normalised embeddings of its prompts
are averaged and the mean is normalised again; an image's class is the best dot product.
Metrics ``acc1``, ``acc5`` (null with fewer than 5 classes, where CLIP_benchmark writes NaN)
and ``mean_per_class_recall`` (the mean over classes present of their top-1 recall, i.e.
scikit-learn's balanced accuracy). Official tie rule: ``argmax`` (first class index).

``zeroshot-negated`` is CoN-CLIP's measure: the same classifier built from negated prompts
("this is not a photo of a {c}."). Its ``acc1`` is how often an image picks "not <its own
class>": **lower is better**, a model that ignores the word "not" scores as it does on
affirmative prompts. The result also carries ``acc1_affirmative`` (the ``zeroshot`` classifier
on the same images) and ``negation_gap`` = ``acc1_affirmative - acc1``.
"""

from __future__ import annotations

import numpy as np

from ccneg_bench.tasks.base import Task, TaskContext, TaskOutput
from ccneg_bench.tasks.ranking import RankOutcome, rank_queries
from ccneg_bench.tasks.samples import interval, sample_images
from ccneg_bench.tasks.ties import resolve_tie_rule

OFFICIAL = "argmax"
KS = (1, 5)
NEGATED_NOTE = ("acc1 is the share of images matched to 'not <their own class>': lower is better "
                "(a model that ignores the negation scores about its affirmative acc1)")


class NoClassesError(ValueError):
    pass


def class_weights(ctx: TaskContext, prompts: list[list[str]]) -> np.ndarray:
    """(classes x d): per class the renormalised mean of its normalised prompt features."""
    weights = np.stack([ctx.texts.of(group).mean(axis=0) for group in prompts]).astype(np.float32)
    norms = np.linalg.norm(weights, axis=1, keepdims=True)
    return weights / np.where(norms > 0, norms, 1.0)


def _classify(ctx: TaskContext, prompts: list[list[str]]) -> tuple[RankOutcome, np.ndarray, np.ndarray, list]:
    if ctx.dataset.classes is None:
        raise NoClassesError(f"{ctx.dataset.spec}: not a classification dataset (use imagefolder:DIR or cifar10:DIR)")
    features, ok, failures = sample_images(ctx)
    scored = np.flatnonzero(ok)
    labels = np.array([ctx.dataset.samples[i].label for i in scored], dtype=np.int64)
    weights = class_weights(ctx, prompts)
    rule = resolve_tie_rule(ctx.tie_rule, OFFICIAL)  # type: ignore[arg-type]
    classes = np.arange(len(weights))
    outcome = rank_queries(features[scored], weights, lambda a, b: labels[a:b, None] == classes[None, :], KS, rule)
    return outcome, scored, labels, failures


def _metrics(outcome: RankOutcome, labels: np.ndarray, n_classes: int) -> dict[str, float | None]:
    top1 = outcome.credit[1]
    present = [c for c in range(n_classes) if (labels == c).any()]
    return {
        "acc1": float(top1.mean()) if len(top1) else None,
        "acc5": float(outcome.credit[5].mean()) if len(top1) and n_classes >= 5 else None,
        "mean_per_class_recall": float(np.mean([top1[labels == c].mean() for c in present])) if present else None,
    }


def _output(ctx: TaskContext, outcome: RankOutcome, scored: np.ndarray, labels: np.ndarray,
            failures: list, metrics: dict, extras: dict) -> TaskOutput:
    rule = resolve_tie_rule(ctx.tie_rule, OFFICIAL)  # type: ignore[arg-type]
    metrics.update(n_scored=int(len(scored)), n_failed=len(failures), n_classes=len(ctx.dataset.classes.names),
                   ties=int(outcome.tied.sum()))
    extras = {"tie_rule": {"requested": ctx.tie_rule, "official": OFFICIAL, "applied": rule},
              "intervals": {"acc1": interval(outcome.credit[1], ctx)}, **extras}
    predictions = {"id": [ctx.dataset.samples[i].id for i in scored], "label": labels.tolist(),
                   "rank": outcome.rank.tolist()}
    return TaskOutput(metrics=metrics, predictions=predictions, failures=failures, extras=extras)


def run_zeroshot(ctx: TaskContext) -> TaskOutput:
    outcome, scored, labels, failures = _classify(ctx, ctx.dataset.classes.affirmative if ctx.dataset.classes else [])
    return _output(ctx, outcome, scored, labels, failures, _metrics(outcome, labels, len(ctx.dataset.classes.names)), {})


def run_zeroshot_negated(ctx: TaskContext) -> TaskOutput:
    classes = ctx.dataset.classes
    outcome, scored, labels, failures = _classify(ctx, classes.negated if classes else [])
    affirmative, _, _, _ = _classify(ctx, classes.affirmative)
    metrics = _metrics(outcome, labels, len(classes.names))
    metrics["acc1_affirmative"] = float(affirmative.credit[1].mean()) if len(scored) else None
    metrics["negation_gap"] = (metrics["acc1_affirmative"] - metrics["acc1"]) if len(scored) else None
    return _output(ctx, outcome, scored, labels, failures, metrics,
                   {"lower_is_better": ["acc1", "acc5", "mean_per_class_recall"], "note": NEGATED_NOTE})


TASK = Task("zeroshot", run_zeroshot, description="zero-shot classification (CLIP_benchmark's rule)")
NEGATED_TASK = Task("zeroshot-negated", run_zeroshot_negated,
                    description="zero-shot with negated prompts; lower acc1 is better")
