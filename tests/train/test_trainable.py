"""``--trainable {all,text,image,text:N}``: exactly the chosen parameters move.

After real optimiser steps every parameter of the chosen part has changed and every other one
is bit-identical to the starting weights. The expected sets are spelled out here from open_clip's
parameter names, not taken from the code under test.
"""

from __future__ import annotations

import json

import pytest
import torch

from ccneg_bench.train import cli
from ccneg_bench.train.config import TrainConfig, resume_conflicts
from ccneg_bench.train.loop import Trainer
from tests.train.conftest import train_command

SHARED = {"logit_scale"}


def _expected(names: list[str], choice: str) -> set[str]:
    visual = {n for n in names if n.startswith("visual.")}
    if choice == "all":
        return set(names)
    if choice == "text":
        return set(names) - visual
    if choice == "image":
        return visual | SHARED
    blocks = int(choice.split(":")[1])
    return {"token_embedding.weight", "positional_embedding"} | {
        n for n in names if any(n.startswith(f"transformer.resblocks.{i}.") for i in range(blocks))}


@pytest.mark.parametrize("choice", ["all", "text", "image", "text:1"])
def test_exactly_the_chosen_parameters_change(tiny_model, train_data, tmp_path, choice):
    config, weights = tiny_model
    cfg = TrainConfig(model=f"open_clip:{config}", pretrained=str(weights), data=str(train_data), out=str(tmp_path),
                      loss="clip", trainable=choice, device="cpu", workers=0, batch_size=8, max_steps=2, lr=1e-3,
                      warmup_steps=0, weight_decay=0.1, save_every=0, eval_at_end=False, export=False,
                      precision="fp32")
    trainer = Trainer(cfg)
    try:
        before = {n: p.detach().clone() for n, p in trainer.clip.model.named_parameters()}
        expected = _expected(list(before), choice)
        assert {n for n, _ in trainer.trainable} == expected
        assert trainer.use_cache == (choice in ("text", "text:1"))  # a frozen image tower is cached
        summary = trainer.run()
        assert summary["steps"] == 2
        after = dict(trainer.clip.model.named_parameters())
        changed = {n for n in before if not torch.equal(before[n], after[n].detach())}
        assert changed == expected, (sorted(expected - changed), sorted(changed - expected))
        run = json.loads((tmp_path / "run.json").read_text())
        assert run["trainable"] == choice
        assert run["trainable_parameters"] == sum(before[n].numel() for n in expected)
    finally:
        trainer.close()


def test_the_default_is_the_old_locked_image_tower():
    assert TrainConfig().trained_parts() == "text"
    assert TrainConfig(lock_image=False).trained_parts() == "all"
    assert TrainConfig(lock_image=False, trainable="text:2").trained_parts() == "text:2"
    # a run stored before --trainable existed resumes under the same meaning, and no other
    old = {"lock_image": True, "model": "m"}
    assert resume_conflicts(old, TrainConfig(model="m", trainable="text")) == []
    assert resume_conflicts(old, TrainConfig(model="m", trainable="text:1")) == ["trainable: 'text' -> 'text:1'"]


@pytest.mark.parametrize("extra, message", [
    (("--trainable", "text:0"), "--trainable text:0: use all, text, image or text:N"),
    (("--trainable", "vision"), "--trainable vision: use all, text, image or text:N"),
    (("--trainable", "image", "--lock-image"), "--trainable image and --lock-image disagree"),
    (("--trainable", "text", "--no-lock-image"), "--trainable text and --no-lock-image disagree"),
    (("--trainable", "all", "--cache-features", "on"), "--cache-features on needs a locked image tower"),
])
def test_trainable_mistakes_are_one_line(tiny_model, train_data, tmp_path, capsys, extra, message):
    code = cli.main(train_command(tiny_model, train_data, tmp_path / "run", *extra))
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_more_blocks_than_the_text_tower_has_is_refused_by_count(tiny_model, train_data, tmp_path):
    config, weights = tiny_model
    cfg = TrainConfig(model=f"open_clip:{config}", pretrained=str(weights), data=str(train_data), out=str(tmp_path),
                      loss="clip", trainable="text:3", device="cpu", workers=0, batch_size=8, max_steps=1)
    with pytest.raises(ValueError, match="the text tower has 2 blocks; use text:1 .. text:2"):
        Trainer(cfg)
