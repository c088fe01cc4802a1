"""The on-disk feature cache: a warm rerun decodes and encodes nothing; a lost chunk is redone."""

from __future__ import annotations

import numpy as np

from ccneg_bench.datasets import load_eval_dataset
from ccneg_bench.features import encode_image_table, encode_texts, feature_cache_dir
from ccneg_bench.models import load_model
import ccneg_bench


def test_warm_rerun_reuses_features_and_resumes_missing_chunks(tiny_spec, ccneg_dir, tmp_path):
    spec, weights = tiny_spec
    adapter = load_model(spec, pretrained=weights)
    dataset = load_eval_dataset(str(ccneg_dir))
    cache = feature_cache_dir(tmp_path / "cache", adapter, dataset)
    cold = encode_image_table(adapter, dataset.images, cache=cache, batch_size=8, workers=0, chunk_size=8, progress=False)
    assert cold.stats["images_decoded"] == 40 and cold.stats["chunks_from_cache"] == 0
    warm = encode_image_table(adapter, dataset.images, cache=cache, batch_size=8, workers=0, chunk_size=8, progress=False)
    assert warm.stats["images_decoded"] == 0 and warm.stats["chunks_from_cache"] == warm.stats["chunks"]
    np.testing.assert_array_equal(warm.features, cold.features)

    chunk_files = sorted((cache / f"images-{dataset.images.fingerprint()}").glob("chunk-*.npz"))
    chunk_files[1].unlink()  # as if the run had died before this chunk was written
    resumed = encode_image_table(adapter, dataset.images, cache=cache, batch_size=8, workers=0, chunk_size=8, progress=False)
    assert resumed.stats["images_decoded"] == 8
    np.testing.assert_allclose(resumed.features, cold.features, rtol=0, atol=1e-6)

    texts = [s.caption for s in dataset.samples] + [s.negated_caption for s in dataset.samples]
    first = encode_texts(adapter, texts, cache=cache, progress=False)
    assert first.stats["texts_encoded"] == len(set(texts)) < len(texts)  # duplicates encoded once
    again = encode_texts(adapter, texts + ["a brand new caption"], cache=cache, progress=False)
    assert again.stats["texts_encoded"] == 1
    np.testing.assert_array_equal(again.of(texts), first.of(texts))


def test_cache_is_keyed_by_model_weights(tiny_spec, ccneg_dir, tmp_path):
    spec, weights = tiny_spec
    dataset = load_eval_dataset(str(ccneg_dir))
    trained = load_model(spec, pretrained=weights)
    untrained = load_model(spec, pretrained="none")
    assert feature_cache_dir(tmp_path, trained, dataset) != feature_cache_dir(tmp_path, untrained, dataset)


def test_second_task_and_rerun_through_evaluate_hit_cache(tiny_spec, ccneg_dir, tmp_path):
    spec, weights = tiny_spec
    kwargs = dict(pretrained=weights, cache_dir=tmp_path / "cache", workers=0, progress=False)
    first = ccneg_bench.evaluate(spec, str(ccneg_dir), ["ccneg"], **kwargs)
    second = ccneg_bench.evaluate(spec, str(ccneg_dir), ["ccneg", "retrieval"], **kwargs)
    assert second[0]["cache"]["images"]["images_decoded"] == 0
    assert second[0]["cache"]["texts"]["texts_encoded"] == 0
    assert second[0]["metrics"] == first[0]["metrics"]
