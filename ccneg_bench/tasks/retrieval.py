"""``retrieval``: recall@1/5/10, image -> text and text -> image.

Image -> text: each image's true caption must be found in a gallery of every unique true and
negated caption of the split (so negated captions are the hardest distractors).
Text -> image: each true caption must find its image among all scored images. A rank is the
number of other candidates scoring at least as high as the target: ties count against the
model, so a model that scores everything alike gets no credit. Similarities are computed in
blocks, so memory stays bounded for any split size. Every recall gets its 95% bootstrap interval
(the result's ``intervals``), as the headline metric of every other task does.
"""

from __future__ import annotations

import numpy as np

from ccneg_bench.tasks.base import TaskContext, TaskOutput, image_failures
from ccneg_bench.tasks.samples import interval

KS = (1, 5, 10)


def ranks(queries: np.ndarray, gallery: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Rank of ``gallery[targets[i]]`` for query i (0 = best)."""
    out = np.empty(len(queries), dtype=np.int64)
    block = max(1, 2 ** 24 // max(1, len(gallery)))
    for first in range(0, len(queries), block):
        scores = queries[first:first + block] @ gallery.T
        target = scores[np.arange(len(scores)), targets[first:first + block]]
        out[first:first + block] = (scores >= target[:, None]).sum(axis=1) - 1
    return out


def run_retrieval(ctx: TaskContext) -> TaskOutput:
    samples = ctx.dataset.samples
    ok = np.flatnonzero(ctx.images.ok)
    images = ctx.images.features[ok]
    gallery_texts = list(dict.fromkeys([s.caption for s in samples] + [s.negated_caption for s in samples]))
    gallery = ctx.texts.of(gallery_texts)
    position = {t: i for i, t in enumerate(gallery_texts)}
    i2t = ranks(images, gallery, np.array([position[samples[r].caption] for r in ok], dtype=np.int64))
    captions = ctx.texts.of([samples[r].caption for r in ok])
    t2i = ranks(captions, images, np.arange(len(ok)))
    metrics: dict[str, float | int | None] = {"n_scored": int(len(ok)), "n_failed": int(len(samples) - len(ok)),
                                              "gallery_texts": len(gallery_texts)}
    intervals: dict[str, list[float] | None] = {}
    for k in KS:
        for direction, rank in (("image_to_text", i2t), ("text_to_image", t2i)):
            hits = (rank < k).astype(np.float64)
            metrics[f"{direction}_R@{k}"] = float(hits.mean()) if len(ok) else None
            intervals[f"{direction}_R@{k}"] = interval(hits, ctx)
    rank_i2t = dict(zip(ok.tolist(), i2t.tolist()))
    rank_t2i = dict(zip(ok.tolist(), t2i.tolist()))
    predictions = {
        "id": [s.id for s in samples],
        "image_to_text_rank": [rank_i2t.get(r) for r in range(len(samples))],
        "text_to_image_rank": [rank_t2i.get(r) for r in range(len(samples))],
    }
    return TaskOutput(metrics=metrics, predictions=predictions, failures=image_failures(ctx),
                      extras={"intervals": intervals})
