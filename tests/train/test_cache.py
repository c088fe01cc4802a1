"""Frozen-tower feature caching: the cached path computes the same loss as the uncached one."""

from __future__ import annotations

import pytest

from ccneg_bench.train.config import TrainConfig
from ccneg_bench.train.logs import read_log
from ccneg_bench.train.loop import Trainer, train


def _config(tiny_model, data, out, **kw) -> TrainConfig:
    config, weights = tiny_model
    base = dict(model=f"open_clip:{config}", pretrained=str(weights), data=str(data), out=str(out), device="cpu",
                workers=0, batch_size=16, max_steps=3, lr=1e-3, warmup_steps=1, save_every=0, eval_at_end=False,
                export=False, precision="fp32", lock_image=True)
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("loss", ["conclip", "negclip", "clip"])
def test_first_step_loss_cached_equals_uncached(tiny_model, train_data, tmp_path, loss):
    losses = {}
    for mode in ("off", "on"):
        trainer = Trainer(_config(tiny_model, train_data, tmp_path / mode, cache_features=mode, loss=loss))
        trainer.set_up()
        assert (trainer.features is not None) == (mode == "on")
        losses[mode] = trainer.first_step_loss()
        trainer.close()
    assert losses["on"] == pytest.approx(losses["off"], abs=1e-5)


def test_cached_training_follows_the_uncached_curve_and_reuses_the_cache(tiny_model, train_data, tmp_path):
    curves = {}
    for mode in ("off", "on"):
        summary = train(_config(tiny_model, train_data, tmp_path / mode, cache_features=mode))
        curves[mode] = [r["loss"] for r in read_log(tmp_path / mode / "log.jsonl")]
        if mode == "on":
            assert summary["cache"]["cache_hit"] is False
    assert curves["on"] == pytest.approx(curves["off"], rel=1e-5, abs=1e-5)
    again = train(_config(tiny_model, train_data, tmp_path / "again", cache_features="on",
                          cache_dir=str(tmp_path / "on" / "feature_cache")))
    assert again["cache"]["cache_hit"] is True


def test_cache_needs_a_locked_image_tower(tiny_model, train_data, tmp_path):
    with pytest.raises(ValueError, match="locked image tower"):
        Trainer(_config(tiny_model, train_data, tmp_path, cache_features="on", lock_image=False))
