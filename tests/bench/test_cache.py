"""The on-disk feature cache: a warm rerun decodes and encodes nothing; a lost chunk is redone."""

from __future__ import annotations

import numpy as np

from ccneg_bench.datasets import load_eval_dataset
from ccneg_bench.features import encode_image_table, encode_texts, feature_cache_dir
from ccneg_bench.models.registry import load_model
from ccneg_core.image_decode import decoder_fingerprint
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

    chunk_files = sorted((cache / f"images-{dataset.images.fingerprint()}-{decoder_fingerprint()}").glob("chunk-*.npz"))
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


def test_random_weights_are_one_seeded_model_with_the_seed_in_the_key(tiny_spec, ccneg_dir, tmp_path):
    from ccneg_bench.models.registry import model_fingerprint
    from ccneg_bench.models.weights import RANDOM_INIT_SEED

    spec, _ = tiny_spec
    first, second = load_model(spec, pretrained="none"), load_model(spec, pretrained="none")
    texts = ["a dog on a couch", "a dog not on a couch"]
    np.testing.assert_array_equal(first.encode_texts(texts).numpy(), second.encode_texts(texts).numpy())
    assert first.identity()["random_init_seed"] == RANDOM_INIT_SEED
    assert first.fingerprint() == second.fingerprint() == model_fingerprint(spec, "none")


def test_fingerprint_is_known_from_the_files_without_building_the_model(tiny_spec, tmp_path):
    from ccneg_bench.models.registry import model_fingerprint

    spec, weights = tiny_spec
    assert model_fingerprint(spec, weights) == load_model(spec, pretrained=weights).fingerprint()
    assert model_fingerprint("text:negation-words", None) == load_model("text:negation-words").fingerprint()
    assert model_fingerprint(spec, weights) != model_fingerprint(spec, "none")


def _rewrite_in_place(path, seed):
    """New weights under the same name, size and mtime: only the bytes tell them apart."""
    import os

    import torch
    from safetensors.torch import load_file, save_file

    before = os.stat(path)
    state = load_file(str(path))
    generator = torch.Generator().manual_seed(seed)
    state = {k: torch.randn(v.shape, generator=generator, dtype=v.dtype) if v.is_floating_point() else v
             for k, v in state.items()}
    save_file(state, str(path))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_size == before.st_size


def test_no_result_mixes_features_of_two_models(tiny_clip, tmp_path):
    """ccneg-balanced reads images, distractors and captions from the cache: after the weights
    change (even in place, same size and mtime) none of them may come from the old model."""
    import shutil

    import pyarrow.parquet as pq

    from tests.helpers.data import make_rows, write_distractors, write_rows

    config, weights = tiny_clip
    data = tmp_path / "ds"
    write_rows(data, make_rows(12), "eval")
    ids = pq.read_table(next((data / "data").glob("*.parquet")), columns=["id"]).column(0).to_pylist()
    write_distractors(data, ids, pool_size=6, k=1)
    local = tmp_path / "weights.safetensors"
    shutil.copy(weights, local)
    spec = f"open_clip:{config}"
    kwargs = dict(workers=0, progress=False, bootstrap=0)
    tasks = ["ccneg", "ccneg-balanced"]
    ccneg_bench.evaluate(spec, str(data), tasks, pretrained=str(local), cache_dir=tmp_path / "cache", **kwargs)
    _rewrite_in_place(local, seed=7)
    cached = ccneg_bench.evaluate(spec, str(data), tasks, pretrained=str(local), cache_dir=tmp_path / "cache", **kwargs)
    fresh = ccneg_bench.evaluate(spec, str(data), tasks, pretrained=str(local), cache_dir=None, **kwargs)
    assert cached[0]["cache"]["images"]["images_decoded"] == 12  # nothing reused from the old weights
    for a, b in zip(cached, fresh):
        assert a["metrics"] == b["metrics"] and a["model_info"]["fingerprint"] == b["model_info"]["fingerprint"]


def test_an_adapter_built_in_memory_is_keyed_by_its_current_weights(tiny_spec):
    import torch

    from ccneg_bench.models.open_clip_models import OpenClipAdapter

    spec, weights = tiny_spec
    loaded = load_model(spec, pretrained=weights)
    wrapped = OpenClipAdapter(loaded.model, loaded.preprocess, loaded.tokenizer, spec, loaded.describe())
    before = wrapped.fingerprint()
    with torch.no_grad():
        loaded.model.logit_scale.add_(1.0)
    assert wrapped.fingerprint() != before
