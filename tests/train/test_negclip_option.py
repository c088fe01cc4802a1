"""``ccneg-train --loss negclip``: the NegCLIP-style baseline objective, end to end.

The trainer's first-step loss must be the NegCLIP-style loss restated independently
(``tests/helpers/contrastive_reference.py``) on features computed straight from the open_clip
model, and the command must train on data that has negated captions but no mined distractors.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ccneg_bench.train.config import TrainConfig
from ccneg_bench.train.logs import read_log
from ccneg_bench.train.loop import Trainer
from tests.helpers import contrastive_reference as ref
from tests.helpers.data import make_rows, write_rows
from tests.train.conftest import REPO, child_env


@pytest.fixture(scope="module")
def no_distractor_data(tmp_path_factory) -> Path:
    """Train (20 rows, two without a negated caption) and eval splits, and no distractors/ folder."""
    folder = tmp_path_factory.mktemp("negclip_data")
    train = make_rows(20, split="train", source="train-src", seed=0)
    for row in (train[3], train[11]):
        row["negated_caption"] = None
    write_rows(folder, train, "train")
    write_rows(folder, make_rows(8, split="eval", source="eval-src", seed=1), "eval")
    return folder


def _features(model: torch.nn.Module, tokenizer, pixels: torch.Tensor, texts: list[str]) -> tuple[list, list]:
    with torch.no_grad():
        image = model.encode_image(pixels).double()
        text = model.encode_text(tokenizer(texts)).double()
    image = image / image.norm(dim=-1, keepdim=True)
    text = text / text.norm(dim=-1, keepdim=True)
    return image.tolist(), text.tolist()


def test_first_step_loss_is_the_negclip_definition(tiny_model, no_distractor_data, tmp_path):
    config, weights = tiny_model
    cfg = TrainConfig(model=f"open_clip:{config}", pretrained=str(weights), data=str(no_distractor_data),
                      out=str(tmp_path), loss="negclip", device="cpu", workers=0, batch_size=8, max_steps=1,
                      cache_features="off", save_every=0, eval_at_end=False, export=False, precision="fp32")
    trainer = Trainer(cfg)
    try:
        assert not trainer.with_distractors
        assert trainer.rows.skipped == {"no_negated_caption": 2}
        trainer.set_up()
        micro = next(trainer.micro_batches())
        captions = [trainer.rows.captions[i] for i in micro["index"]]
        negated = [trainer.rows.negated[i] for i in micro["index"]]
        assert all(negated) and negated != captions
        model = trainer.clip.model
        image, texts = _features(model, trainer.clip.tokenizer, micro["image"], captions + negated)
        scale = float(model.logit_scale.detach().double().exp())
        expected = ref.negclip(image, texts[: len(captions)], texts[len(captions):], scale)
        assert trainer.first_step_loss() == pytest.approx(expected, rel=1e-5, abs=1e-5)
        assert abs(expected - ref.clip(image, texts[: len(captions)], scale)) > 1e-4  # the negatives matter
    finally:
        trainer.close()


def test_command_trains_with_negclip_without_distractors(tiny_model, no_distractor_data, tmp_path):
    """As a user types it: the installed ``ccneg-train`` script, default flags, progress bar on."""
    config, weights = tiny_model
    script = shutil.which("ccneg-train", path=str(Path(sys.executable).parent))
    assert script, "the ccneg-train console script is not installed next to the interpreter"
    out = tmp_path / "run"
    proc = subprocess.run(
        [script, "--model", f"open_clip:{config}", "--pretrained", str(weights), "--data", str(no_distractor_data),
         "--out", str(out), "--loss", "negclip", "--batch-size", "8", "--max-steps", "2"],
        capture_output=True, text=True, env=child_env(), cwd=REPO, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "training" in proc.stderr  # the progress bar
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["loss"] == "negclip"
    assert run["summary"]["skipped"] == {"no_negated_caption": 2}
    steps = [r for r in read_log(out / "log.jsonl") if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2]
    assert "eval ccneg: accuracy=" in proc.stdout
    assert (out / "export" / "open_clip_model.safetensors").is_file()


def test_help_documents_the_loss_choices(capsys):
    from ccneg_bench.train.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "{conclip,negclip,clip,negbench}" in text and "extra hard negatives" in text
