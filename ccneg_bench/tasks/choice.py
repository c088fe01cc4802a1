"""Choice tasks: ``mcq`` (NegBench MCQ-Neg and binary MCQ) and ``pair`` (SugarCREPE).

Both score an image against each of its candidate captions (dot products of L2-normalised
features, no logit scale) and credit the pick with :func:`~ccneg_bench.tasks.ties.credit_choices`:

- ``mcq``: NegBench's ``mcq.py`` takes ``argmax`` over the options (the first of tied maxima
  wins), so its official tie rule is ``argmax``. Metrics: ``total_accuracy`` and, for MCQ-Neg
  files, ``positive_accuracy`` / ``negative_accuracy`` / ``hybrid_accuracy`` over the rows of
  each ``correct_answer_template`` (null when a template has no rows, where NegBench gives NaN).
- ``pair``: SugarCREPE's ``main_eval.py`` counts an entry correct iff the positive caption scores
  strictly higher (``>``): official rule ``wrong``. One output per subset file, metric ``acc``.

``--shuffle-options SEED`` permutes each sample's options (the right index moves with them):
a model's scores do not depend on position, so any change in accuracy comes from how ties fall,
which exposes the position bias of an ``argmax`` rule when the right answer is always first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ccneg_bench.datasets.negbench import MCQ_TEMPLATES
from ccneg_bench.tasks.base import Task, TaskContext, TaskOutput
from ccneg_bench.tasks.samples import interval, mean_or_none, padded_options, sample_images, tie_report
from ccneg_bench.tasks.stats import summarise
from ccneg_bench.tasks.ties import credit_choices, resolve_tie_rule

MCQ_OFFICIAL = "argmax"
PAIR_OFFICIAL = "wrong"


def shuffle_choices(scores: np.ndarray, counts: np.ndarray, correct: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Permute each row's real options (padding stays last); return the scores and the new right index."""
    rng = np.random.default_rng(seed)
    shuffled = scores.copy()
    moved = correct.copy()
    for i, (count, right) in enumerate(zip(counts, correct)):
        order = rng.permutation(int(count))  # new position j shows old option order[j]
        shuffled[i, :count] = scores[i, order]
        moved[i] = int(np.flatnonzero(order == right)[0])
    return shuffled, moved


def _choose(ctx: TaskContext, indices: np.ndarray, official: str) -> dict[str, Any]:
    samples = ctx.dataset.samples
    scores, counts = padded_options(ctx, indices)
    correct = np.array([samples[i].correct for i in indices], dtype=np.int64)
    if ctx.shuffle_options is not None:
        scores, correct = shuffle_choices(scores, counts, correct, ctx.shuffle_options)
    rule = resolve_tie_rule(ctx.tie_rule, official)  # type: ignore[arg-type]
    outcome = credit_choices(scores, correct, rule)
    return {"scores": scores, "correct": correct, "credit": outcome.credit, "tied": outcome.tied,
            "chosen": outcome.chosen, "tie_rule": tie_report(ctx, official, scores, correct)}


def _predictions(ctx: TaskContext, indices: np.ndarray, picked: dict[str, Any]) -> dict[str, list[Any]]:
    samples = ctx.dataset.samples
    return {
        "id": [samples[i].id for i in indices],
        "group": [samples[i].group for i in indices],
        "correct_answer": picked["correct"].tolist(),
        "chosen": picked["chosen"].tolist(),
        "credit": picked["credit"].tolist(),
        "tied": picked["tied"].tolist(),
        "scores": [[float(v) for v in row if np.isfinite(v)] for row in picked["scores"]],
    }


def run_mcq(ctx: TaskContext) -> TaskOutput:
    samples = ctx.dataset.samples
    _, ok, failures = sample_images(ctx)
    scored = np.flatnonzero(ok)
    picked = _choose(ctx, scored, MCQ_OFFICIAL)
    credit = picked["credit"]
    metrics: dict[str, Any] = {"total_accuracy": mean_or_none(credit)}
    groups = np.array([samples[i].group for i in scored], dtype=object)
    breakdown: dict[str, Any] = {}
    if ctx.dataset.kind == "mcq":
        for template in MCQ_TEMPLATES:
            chosen = credit[groups == template]
            metrics[f"{template}_accuracy"] = mean_or_none(chosen)
            breakdown[template] = summarise(chosen, ctx.bootstrap, ctx.seed)
    metrics.update(n_scored=int(len(scored)), n_failed=len(failures), ties=int(picked["tied"].sum()))
    extras = {"tie_rule": picked["tie_rule"], "intervals": {"total_accuracy": interval(credit, ctx)},
              "shuffle_options": ctx.shuffle_options}
    return TaskOutput(metrics=metrics, breakdowns={"template": breakdown} if breakdown else {},
                      predictions=_predictions(ctx, scored, picked), failures=failures, extras=extras)


def run_pair(ctx: TaskContext) -> list[TaskOutput]:
    samples = ctx.dataset.samples
    _, ok, failures = sample_images(ctx)
    subsets = list(dict.fromkeys(s.group or "all" for s in samples)) or ["all"]
    outputs = []
    for subset in subsets:
        members = np.array([(s.group or "all") == subset for s in samples], dtype=bool)
        scored = np.flatnonzero(members & ok)
        picked = _choose(ctx, scored, PAIR_OFFICIAL)
        mine = failures if subset == "all" else [f for f in failures if f["id"].split(":", 1)[0] == subset]
        accuracy = mean_or_none(picked["credit"])
        metrics = {"acc": accuracy, "text_acc": accuracy, "n_scored": int(len(scored)), "n_failed": len(mine),
                   "ties": int(picked["tied"].sum())}
        extras = {"tie_rule": picked["tie_rule"], "intervals": {"acc": interval(picked["credit"], ctx)},
                  "shuffle_options": ctx.shuffle_options}
        rejected_here = sum(1 for f in ctx.dataset.rejected if subset == "all" or f["id"].split(":", 1)[0] == subset)
        outputs.append(TaskOutput(metrics=metrics, predictions=_predictions(ctx, scored, picked), failures=mine,
                                  subset=subset if subset != "all" else None,
                                  n=int(members.sum()) + rejected_here, extras=extras))
    return outputs


MCQ_TASK = Task("mcq", run_mcq, description="NegBench multiple choice: argmax over the options")
PAIR_TASK = Task("pair", run_pair, description="SugarCREPE: positive vs hard negative caption, strict >")
