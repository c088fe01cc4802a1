"""Tasks are pure functions of features: checked on hand-made arrays."""

from __future__ import annotations

import numpy as np
import pytest

from ccneg_bench.datasets.base import EvalDataset, ImageTable, Sample
from ccneg_bench.features import ImageFeatures, TextFeatures
from ccneg_bench.tasks import get_task
from ccneg_bench.tasks.base import TaskContext
from ccneg_bench.tasks.retrieval import ranks
from ccneg_bench.tasks.stats import bootstrap_ci, breakdowns, relations_bucket


class _NoImages(ImageTable):
    def __init__(self, ids):
        self.ids = ids

    def chunks(self, size):
        return []

    def read_refs(self, start, stop):
        return []

    def fingerprint(self):
        return "none"


def _unit(vectors):
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _context(samples, image_vectors, text_map, distractor_vectors=None, distractor_rows=None):
    dataset = EvalDataset(spec="mem", split="eval", samples=samples, images=_NoImages([s.id for s in samples]))
    dataset.distractor_rows = distractor_rows or [None] * len(samples)
    texts = TextFeatures(texts=list(text_map), features=_unit(list(text_map.values())))
    images = ImageFeatures(features=_unit(image_vectors), ok=np.ones(len(samples), bool), errors={})
    distractors = None
    if distractor_vectors is not None:
        distractors = ImageFeatures(features=_unit(distractor_vectors), ok=np.ones(len(distractor_vectors), bool), errors={})
        dataset.distractors = _NoImages([f"d{i}" for i in range(len(distractor_vectors))])
    return TaskContext(dataset=dataset, images=images, texts=texts, distractors=distractors, bootstrap=200)


def test_ccneg_accuracy_ties_and_breakdowns():
    samples = [Sample("a", "c1", "n1", "not", 1, "relation"), Sample("b", "c2", "n2", "no", 6, "absence"),
               Sample("c", "c3", "c3", "without", None, None)]
    texts = {"c1": [1, 0], "n1": [0, 1], "c2": [0, 1], "n2": [1, 0], "c3": [1, 1]}
    out = get_task("ccneg").run(_context(samples, [[1, 0.1], [1, 0.2], [1, 0]], texts))
    # the release's argmax over [true, negated]: the tie (c3 == c3) counts for the true caption
    assert out.predictions["correct"] == [True, False, True]
    assert out.predictions["tie"] == [False, False, True]
    assert out.metrics["tie_rule"] == "argmax" and out.metrics["ties"] == 1
    assert out.metrics["accuracy"] == pytest.approx(2 / 3)
    assert out.metrics["accuracy_tie_argmax"] == pytest.approx(2 / 3)
    assert out.metrics["accuracy_tie_wrong"] == pytest.approx(1 / 3)
    assert out.metrics["accuracy_tie_half"] == pytest.approx(1.5 / 3)
    assert out.metrics["truncated"] is None  # hand-made features: no token counts
    assert set(out.breakdowns["num_relations"]) == {"1", "5+", "unknown"}
    assert out.breakdowns["negation_cue"]["not"]["accuracy"] == 1.0
    assert out.breakdowns["negation_cue"]["without"]["accuracy"] == 1.0


def test_ccneg_tie_rule_override_and_truncated_count():
    samples = [Sample("a", "c1", "n1"), Sample("b", "long", "long but cut")]
    texts = {"c1": [1, 0], "n1": [0, 1], "long": [1, 1], "long but cut": [1, 1]}
    ctx = _context(samples, [[1, 0.1], [1, 0]], texts)
    ctx.texts.token_counts = np.array([5, 6, 80, 90])
    ctx.texts.context_length = 77
    ctx.tie_rule = "half"
    out = get_task("ccneg").run(ctx)
    assert out.metrics["tie_rule"] == "half" and out.metrics["accuracy"] == pytest.approx(0.75)
    assert out.predictions["credit"] == [1.0, 0.5] and out.predictions["correct"] == [True, False]
    assert out.metrics["truncated"] == 1 and out.predictions["truncated"] == [False, True]
    ctx.tie_rule = "wrong"
    assert get_task("ccneg").run(ctx).metrics["accuracy"] == pytest.approx(0.5)
    ctx.tie_rule = "argmax"  # not a user choice: "official" already means it for ccneg
    with pytest.raises(ValueError, match="unknown tie rule"):
        get_task("ccneg").run(ctx)


def test_balanced_scores_both_sides():
    samples = [Sample("a", "c1", "n1", distractor_id="d0"), Sample("b", "c2", "n2", distractor_id="d1")]
    texts = {"c1": [1, 0], "n1": [0, 1], "c2": [1, 0], "n2": [0, 1]}
    ctx = _context(samples, [[1, 0.1], [1, 0.1]], texts, distractor_vectors=[[0.1, 1], [1, 0.1]], distractor_rows=[0, 1])
    out = get_task("ccneg-balanced").run(ctx)
    assert out.metrics["accuracy_true_image"] == 1.0
    assert out.metrics["accuracy_distractor_image"] == 0.5
    assert out.metrics["accuracy"] == 0.75 and out.metrics["both_correct"] == 0.5


def test_balanced_counts_a_tie_as_half_on_each_side():
    # sample a: both captions read alike (a tie on both sides); sample b: right on both sides
    samples = [Sample("a", "same", "same cut", distractor_id="d0"), Sample("b", "c2", "n2", distractor_id="d1")]
    texts = {"same": [1, 1], "same cut": [1, 1], "c2": [1, 0], "n2": [0, 1]}
    ctx = _context(samples, [[1, 0], [1, 0.1]], texts, distractor_vectors=[[0, 1], [0.1, 1]], distractor_rows=[0, 1])
    out = get_task("ccneg-balanced").run(ctx)
    assert out.metrics["tie_rule"] == "half"
    assert out.metrics["ties_true_image"] == 1 and out.metrics["ties_distractor_image"] == 1
    assert out.predictions["credit"] == [0.5, 1.0]
    assert out.metrics["accuracy"] == pytest.approx(0.75)
    assert out.metrics["accuracy_true_image"] == pytest.approx(0.75)
    assert out.metrics["accuracy_distractor_image"] == pytest.approx(0.75)
    assert out.metrics["both_correct"] == 0.5
    # argmax over [c, c'] gives the tie to c on both images: right on one side, wrong on the other
    assert out.metrics["accuracy_tie_argmax"] == pytest.approx(0.75)
    assert out.metrics["accuracy_tie_wrong"] == pytest.approx(0.5)
    assert out.metrics["accuracy_tie_half"] == pytest.approx(0.75)


def test_retrieval_ranks_count_ties_against_the_model():
    queries = _unit([[1, 0], [0, 1]])
    gallery = _unit([[1, 0], [0, 1], [1, 0]])
    assert ranks(queries, gallery, np.array([0, 1])).tolist() == [1, 0]


def test_bootstrap_interval_and_buckets():
    values = np.array([1.0] * 70 + [0.0] * 30)
    low, high = bootstrap_ci(values, n_boot=2000, seed=1)
    assert low < 0.7 < high and 0.55 < low and high < 0.85
    assert bootstrap_ci(np.array([1.0]), 100) is None
    assert [relations_bucket(k) for k in (1, 4, 5, 9, None)] == ["1", "4", "5+", "5+", "unknown"]
    groups = breakdowns(np.array([1.0, 0.0]), [Sample("a", "x", "y", "not", 2, "relation"), Sample("b", "x", "y", "no", 2, "absence")], 100)
    assert groups["num_relations"]["2"]["n"] == 2 and groups["negation_type"]["absence"]["accuracy"] == 0.0
