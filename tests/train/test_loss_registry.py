"""The loss registry: a loss is one spec, and a new one plugs in with one registry line.

``tests/train/plugin_loss.py`` is written as a third party would write it; registering it adds
it to ``--help`` and the choices, runs its own argument check before anything loads, feeds it
exactly the inputs it declares (negated captions, no distractors) and trains with it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ccneg_bench.train import cli
from ccneg_bench.train.config import TrainConfig
from ccneg_bench.train.logs import read_log
from ccneg_bench.train.loop import Trainer
from ccneg_bench.train.objectives import registry
from ccneg_bench.train.objectives.spec import LossSpec
from tests.helpers.data import make_rows, write_rows
from tests.train.conftest import train_command

PLUGIN = "tests.train.plugin_loss:SPEC"


@pytest.fixture(scope="module")
def captions_only(tmp_path_factory) -> Path:
    """Train (16 rows, one without a negated caption) and eval splits; no mined distractors."""
    folder = tmp_path_factory.mktemp("margin_data")
    train = make_rows(16, split="train", source="train-src", seed=0)
    train[5]["negated_caption"] = None
    write_rows(folder, train, "train")
    write_rows(folder, make_rows(8, split="eval", source="eval-src", seed=1), "eval")
    return folder


def test_a_loss_plugs_in_with_one_registry_line(tiny_model, captions_only, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(registry.LOSSES, "margin", PLUGIN)  # the one line

    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "{conclip,negclip,clip,negbench,margin}" in text and "margin: hinge on sim(image, caption)" in text

    refused = tmp_path / "refused"
    code = cli.main(train_command(tiny_model, captions_only, refused, "--loss", "margin", "--trainable", "image"))
    assert code == 2 and "--loss margin compares captions" in capsys.readouterr().err
    assert not refused.exists()  # checked before anything was written

    out = tmp_path / "run"
    code = cli.main(train_command(tiny_model, captions_only, out, "--loss", "margin", "--batch-size", "8",
                                  "--max-steps", "2"))
    assert code == 0, capsys.readouterr().err
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["loss"] == "margin"
    assert run["summary"]["skipped"] == {"no_negated_caption": 1}  # it reads negated captions ...
    assert not (captions_only / "distractors").exists()  # ... and no distractors
    losses = [r["loss"] for r in read_log(out / "log.jsonl") if "loss" in r]
    assert len(losses) == 2 and all(v >= 0 for v in losses)


def test_the_trainer_feeds_a_plugged_loss_the_features_it_declares(tiny_model, captions_only, tmp_path, monkeypatch):
    monkeypatch.setitem(registry.LOSSES, "margin", PLUGIN)
    config, weights = tiny_model
    cfg = TrainConfig(model=f"open_clip:{config}", pretrained=str(weights), data=str(captions_only), out=str(tmp_path),
                      loss="margin", device="cpu", workers=0, batch_size=8, max_steps=1, cache_features="off",
                      save_every=0, eval_at_end=False, export=False, precision="fp32")
    trainer = Trainer(cfg)
    try:
        assert trainer.needs == {"negated_captions"} and not trainer.with_distractors
        trainer.set_up()
        micro = next(trainer.micro_batches())
        captions = [trainer.rows.captions[i] for i in micro["index"]]
        negated = [trainer.rows.negated[i] for i in micro["index"]]
        model = trainer.clip.model
        with torch.no_grad():
            image = model.encode_image(micro["image"]).double()
            texts = model.encode_text(trainer.clip.tokenizer(captions + negated)).double()
        image = image / image.norm(dim=-1, keepdim=True)
        texts = texts / texts.norm(dim=-1, keepdim=True)
        n = len(captions)
        gaps = [float(image[i] @ texts[i] - image[i] @ texts[n + i]) for i in range(n)]
        expected = sum(max(0.0, 0.2 - gap) for gap in gaps) / n
        assert trainer.first_step_loss() == pytest.approx(expected, rel=1e-5, abs=1e-6)
    finally:
        trainer.close()


def test_the_registry_refuses_what_is_not_a_loss(monkeypatch):
    monkeypatch.setitem(registry.LOSSES, "renamed", PLUGIN)
    with pytest.raises(TypeError, match="calls itself 'margin'"):
        registry.get_loss("renamed")
    monkeypatch.setitem(registry.LOSSES, "notaspec", "tests.train.plugin_loss:MARGIN")
    with pytest.raises(TypeError, match="not a LossSpec"):
        registry.get_loss("notaspec")
    with pytest.raises(ValueError, match="--loss nope: unknown loss; use one of conclip, negclip, clip, negbench"):
        registry.get_loss("nope")
    with pytest.raises(ValueError, match="unknown input"):
        LossSpec(name="x", help="x", compute=lambda batch: batch, inputs=frozenset({"captions_in_french"}))


def test_every_registered_loss_is_a_spec_with_help():
    for name in registry.loss_names():
        spec = registry.get_loss(name)
        assert spec.name == name and spec.help and callable(spec.compute)
        assert spec.needs(TrainConfig(loss=name)) <= {"negated_captions", "distractors", "mcq_options"}
    assert registry.get_loss("conclip").needs(TrainConfig(terms=("l1",))) == {"negated_captions"}
    assert registry.get_loss("conclip").needs(TrainConfig()) == {"negated_captions", "distractors"}
    assert registry.get_loss("negbench").needs(TrainConfig()) == {"mcq_options"}
