"""ccneg predictions equal the released evaluation loop's, ties included."""

from __future__ import annotations

import pyarrow.parquet as pq

import ccneg_bench
from ccneg_bench.datasets import load_eval_dataset
from ccneg_bench.models import load_model
from tests.helpers.released_loop import released_loop


def test_predictions_identical_to_released_loop(tiny_spec, ccneg_dir, tmp_path):
    spec, weights = tiny_spec
    adapter = load_model(spec, pretrained=weights)
    dataset = load_eval_dataset(str(ccneg_dir), split="eval")
    reference = released_loop(adapter.model, adapter.preprocess, adapter.tokenizer, dataset, batch_size=16)
    results = ccneg_bench.evaluate(adapter, dataset, ["ccneg"], output_dir=tmp_path / "out", save_predictions=True,
                                   batch_size=7, workers=2, chunk_size=10, progress=False)
    ours = pq.read_table(results[0]["predictions"]).column("correct").to_pylist()
    assert ours == reference
    # the fixture makes every 5th negated caption equal to its caption: a tie, wrong in both
    ties = [i for i in range(len(dataset.samples)) if i % 5 == 4]
    assert results[0]["metrics"]["ties"] == len(ties)
    assert not any(ours[i] for i in ties)
    assert 0 < sum(ours) < len(ours)  # a non-trivial mix, so equality means something
    assert results[0]["metrics"]["accuracy"] == sum(reference) / len(reference)
