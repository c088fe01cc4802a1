"""``retrieval`` on NegBench's Retrieval / Retrieval-Neg files (several captions per image).

As NegBench's ``retrieval.py``: the gallery holds one image per CSV row (the same image in two
rows is two gallery items), every caption of every row is a query, and its right answer is its
own row. ``image_retrieval_recall@k`` (text -> image, NegBench's headline) averages over all
caption queries; ``text_retrieval_recall@k`` (image -> text) asks whether any of a row's own
captions is among the k best of all captions. ``torch.topk`` orders ties arbitrarily there; the
official rule here is ``argmax`` (gallery order), and ``--tie-rule`` applies.
"""

from __future__ import annotations

import numpy as np

from ccneg_bench.tasks.base import Task, TaskContext, TaskOutput
from ccneg_bench.tasks.ranking import rank_queries
from ccneg_bench.tasks.retrieval import run_retrieval
from ccneg_bench.tasks.samples import interval, sample_images
from ccneg_bench.tasks.ties import resolve_tie_rule

OFFICIAL = "argmax"
KS = (1, 5, 10)


def run_caption_retrieval(ctx: TaskContext) -> TaskOutput:
    samples = ctx.dataset.samples
    features, ok, failures = sample_images(ctx)
    scored = np.flatnonzero(ok)
    images = features[scored]
    captions = [t for i in scored for t in samples[i].options]
    owner = np.array([j for j, i in enumerate(scored) for _ in samples[i].options], dtype=np.int64)
    texts = ctx.texts.of(captions) if captions else np.zeros((0, images.shape[1]), np.float32)
    rule = resolve_tie_rule(ctx.tie_rule, OFFICIAL)  # type: ignore[arg-type]
    gallery_index = np.arange(len(scored))
    t2i = rank_queries(texts, images, lambda a, b: owner[a:b, None] == gallery_index[None, :], KS, rule)
    i2t = rank_queries(images, texts, lambda a, b: owner[None, :] == np.arange(a, b)[:, None], KS, rule)
    metrics: dict[str, float | int | None] = {}
    for k in KS:
        metrics[f"image_retrieval_recall@{k}"] = float(t2i.credit[k].mean()) if len(captions) else None
    for k in KS:
        metrics[f"text_retrieval_recall@{k}"] = float(i2t.credit[k].mean()) if len(scored) else None
    metrics.update(n_scored=int(len(scored)), n_failed=len(failures), n_queries=len(captions),
                   ties=int(t2i.tied.sum() + i2t.tied.sum()))
    predictions = {"id": [samples[i].id for i in scored], "text_retrieval_rank": i2t.rank.tolist()}
    extras = {"tie_rule": {"requested": ctx.tie_rule, "official": OFFICIAL, "applied": rule},
              "intervals": {"image_retrieval_recall@1": interval(t2i.credit[1], ctx),
                            "text_retrieval_recall@1": interval(i2t.credit[1], ctx)}}
    return TaskOutput(metrics=metrics, predictions=predictions, failures=failures, extras=extras)


def run_any_retrieval(ctx: TaskContext) -> TaskOutput:
    """CC-Neg retrieval, or NegBench's several-captions-per-image retrieval on such files."""
    return run_caption_retrieval(ctx) if ctx.dataset.kind == "captions" else run_retrieval(ctx)


TASK = Task("retrieval", run_any_retrieval, description="recall@1/5/10 image<->text")
