"""Defaults are the paper's hyper-parameters; the schedule and the logit-scale clamp behave."""

from __future__ import annotations

import math

import pytest
import torch

from ccneg_bench.train.cli import _train_parser, config_from_args
from ccneg_bench.train.config import MAX_LOGIT_SCALE, TrainConfig, lr_at
from ccneg_bench.train.loop import Trainer


def test_command_line_defaults_are_the_papers():
    cfg = config_from_args(_train_parser().parse_args(["--data", "d", "--out", "o"]))
    assert cfg == TrainConfig(data="d", out="o")
    assert (cfg.lr, cfg.weight_decay, cfg.warmup_steps, cfg.epochs, cfg.batch_size) == (1e-6, 0.2, 50, 5, 200)
    assert cfg.lock_image and cfg.loss == "conclip" and cfg.terms == ("l1", "l2", "l3")
    assert cfg.precision == "auto" and cfg.grad_clip > 0 and cfg.accum_steps == 1
    assert MAX_LOGIT_SCALE == pytest.approx(math.log(100))


def test_warmup_then_cosine():
    assert lr_at(0, 1.0, 50, 1000) == pytest.approx(1 / 50)
    assert lr_at(49, 1.0, 50, 1000) == pytest.approx(1.0)
    assert lr_at(50, 1.0, 50, 1000) == pytest.approx(1.0)
    assert lr_at(525, 1.0, 50, 1000) == pytest.approx(0.5, abs=1e-3)
    assert lr_at(1000, 1.0, 50, 1000) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_logit_scale_is_clamped_after_every_step(tiny_model, train_data, tmp_path, precision):
    config, weights = tiny_model
    trainer = Trainer(TrainConfig(model=f"open_clip:{config}", pretrained=str(weights), data=str(train_data),
                                  out=str(tmp_path), device="cpu", workers=0, batch_size=8, max_steps=2, lr=1.0,
                                  warmup_steps=0, save_every=0, eval_at_end=False, export=False, precision=precision))
    trainer.set_up()
    with torch.no_grad():
        trainer.clip.model.logit_scale.fill_(8.0)  # exp(8) = 2981, far above 100
    batches = trainer.micro_batches()
    loss = trainer.step_loss_and_backward([next(batches)])
    assert torch.isfinite(loss)
    trainer.optimizer_step(0)
    assert float(trainer.clip.model.logit_scale.detach()) <= MAX_LOGIT_SCALE + 1e-6
    trainer.close()
