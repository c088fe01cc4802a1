"""``ccneg-train --loss negbench``: NegBench's objective on NegBench-style MCQ data, end to end.

The first-step loss must be NegBench's objective restated independently
(``tests/helpers/contrastive_reference.py``) on features computed straight from the model; the
command must read NegBench's CSV layout (``negbench:FILE`` with ``--image-root``, or a ccneg
folder's ``negbench/mcq_{split}.csv``), skip broken rows with their reasons, and report the
held-out MCQ accuracy and the zero-shot accuracy that a later ``ccneg-bench`` run on the export
reproduces.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ccneg_bench
from ccneg_bench.train import cli
from ccneg_bench.train.config import TrainConfig
from ccneg_bench.train.evaluation import evaluation_plan
from ccneg_bench.train.logs import read_log
from ccneg_bench.train.loop import Trainer
from tests.helpers import contrastive_reference as ref
from tests.helpers.benchmarks import write_imagefolder, write_negbench_training
from tests.helpers.data import make_rows, write_rows
from tests.train.conftest import REPO, child_env, train_command


@pytest.fixture(scope="module")
def negbench_files(tmp_path_factory) -> Path:
    """``mcq_train.csv`` (16 good rows + 2 broken) and ``mcq_eval.csv`` (8 + 2) with their images."""
    folder = tmp_path_factory.mktemp("negbench_files")
    write_negbench_training(folder, "train", n=16, seed=0)
    write_negbench_training(folder, "eval", n=8, seed=1)
    return folder


@pytest.fixture(scope="module")
def classes(tmp_path_factory) -> Path:
    return write_imagefolder(tmp_path_factory.mktemp("zeroshot"), per_class=2).path


def _config(tiny_model, data: str, out: Path, **changes) -> TrainConfig:
    config, weights = tiny_model
    settings = dict(model=f"open_clip:{config}", pretrained=str(weights), data=data, out=str(out), loss="negbench",
                    device="cpu", workers=0, batch_size=8, max_steps=1, cache_features="off", save_every=0,
                    eval_at_end=False, export=False, precision="fp32", mcq_weight=0.3)
    settings.update(changes)
    return TrainConfig(**settings)


def test_first_step_loss_is_negbenchs_objective(tiny_model, negbench_files, tmp_path):
    cfg = _config(tiny_model, f"negbench:{negbench_files / 'mcq_train.csv'}", tmp_path,
                  image_root=str(negbench_files / "images"))
    trainer = Trainer(cfg)
    try:
        assert trainer.needs == {"mcq_options"} and not trainer.with_distractors
        assert trainer.rows.skipped == {"bad_index": 1, "missing_image": 1}
        assert len(trainer.rows) == 16 and sorted(set(trainer.rows.correct)) == [0, 1, 2, 3]
        trainer.set_up()
        micro = next(trainer.micro_batches())
        options = [trainer.rows.options[i] for i in micro["index"]]
        correct = [trainer.rows.correct[i] for i in micro["index"]]
        model = trainer.clip.model
        with torch.no_grad():
            image = model.encode_image(micro["image"]).double()
            texts = model.encode_text(trainer.clip.tokenizer([t for row in options for t in row])).double()
        image = (image / image.norm(dim=-1, keepdim=True)).tolist()
        texts = (texts / texts.norm(dim=-1, keepdim=True)).view(len(options), 4, -1).tolist()
        scale = float(model.logit_scale.detach().double().exp())
        expected = ref.negbench(image, texts, correct, scale, 0.3)
        assert trainer.first_step_loss() == pytest.approx(expected, rel=1e-5, abs=1e-6)
        assert abs(expected - ref.clip(image, [row[k] for row, k in zip(texts, correct)], scale)) > 1e-4
    finally:
        trainer.close()


def test_command_trains_negbench_and_reports_mcq_and_zeroshot(tiny_model, negbench_files, classes, tmp_path):
    """As a user types it: the installed script, default flags (progress bar, evaluation, export)."""
    config, weights = tiny_model
    script = shutil.which("ccneg-train", path=str(Path(sys.executable).parent))
    assert script, "the ccneg-train console script is not installed next to the interpreter"
    out = tmp_path / "run"
    proc = subprocess.run(
        [script, "--model", f"open_clip:{config}", "--pretrained", str(weights),
         "--data", f"negbench:{negbench_files / 'mcq_train.csv'}", "--image-root", str(negbench_files / "images"),
         "--out", str(out), "--loss", "negbench", "--batch-size", "8", "--max-steps", "2",
         "--eval-zeroshot", f"imagefolder:{classes}"],
        capture_output=True, text=True, env=child_env(), cwd=REPO, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "training" in proc.stderr  # the progress bar
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["loss"] == "negbench" and run["config"]["mcq_weight"] == 0.01  # NegBench's default
    assert run["summary"]["skipped"] == {"bad_index": 1, "missing_image": 1}
    skipped = [json.loads(line) for line in (out / "skipped.jsonl").read_text().splitlines()]
    assert sorted(s["reason"] for s in skipped) == ["bad_index", "missing_image"] and all(s["detail"] for s in skipped)
    steps = [r for r in read_log(out / "log.jsonl") if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2]
    for record in steps:  # both terms are logged, and the loss is their weighted sum
        parts = record["loss_parts"]
        assert record["loss"] == pytest.approx(0.99 * parts["clip"] + 0.01 * parts["mcq"], rel=1e-5)
    evaluation = [r for r in read_log(out / "log.jsonl") if "eval" in r][-1]["eval"]
    assert set(evaluation) == {"mcq", "zeroshot"}  # the held-out mcq_eval.csv beside the training file
    assert evaluation == run["summary"]["eval"]
    assert "eval mcq: total_accuracy=" in proc.stdout and "eval zeroshot: acc1=" in proc.stdout
    # the same numbers from ccneg-bench on the export: the evaluations went through the bench harness
    export = f"open_clip:{out / 'export'}"
    [mcq] = ccneg_bench.evaluate(export, f"negbench:{negbench_files / 'mcq_eval.csv'}", ["mcq"], workers=0,
                                 progress=False, bootstrap=0, dataset_options={"image_root": str(negbench_files / "images")})
    [zeroshot] = ccneg_bench.evaluate(export, f"imagefolder:{classes}", ["zeroshot"], workers=0, progress=False,
                                      bootstrap=0)
    assert evaluation["mcq"]["total_accuracy"] == pytest.approx(mcq["metrics"]["total_accuracy"], abs=1e-9)
    assert evaluation["mcq"]["n_failed"] == mcq["metrics"]["n_failed"] > 0  # broken eval rows are counted
    assert evaluation["zeroshot"]["acc1"] == pytest.approx(zeroshot["metrics"]["acc1"], abs=1e-9)


def test_a_ccneg_folder_trains_on_its_negbench_files(tiny_model, negbench_files, classes, tmp_path):
    """``--data DIR`` with ``DIR/negbench/mcq_{split}.csv`` (what ``--style negbench`` writes) and CC-Neg rows."""
    folder = tmp_path / "built"
    write_rows(folder, make_rows(8, split="train", source="train-src", seed=0), "train")
    write_rows(folder, make_rows(8, split="eval", source="eval-src", seed=1), "eval")
    shutil.copytree(negbench_files, folder / "negbench")
    cfg = _config(tiny_model, str(folder), tmp_path / "run", eval_zeroshot=f"imagefolder:{classes}",
                  image_root=str(folder / "negbench" / "images"), eval_tasks=("ccneg",))
    assert [(t.spec, t.tasks) for t in evaluation_plan(cfg)] == [
        (str(folder), ("ccneg",)), (f"negbench:{folder / 'negbench' / 'mcq_eval.csv'}", ("mcq",)),
        (f"imagefolder:{classes}", ("zeroshot",))]
    trainer = Trainer(cfg)
    try:
        assert len(trainer.rows) == 16 and trainer.rows.options  # the CSV's rows, not the Parquet's 8
    finally:
        trainer.close()
    # every recipe on such a folder is also scored on its multiple-choice questions
    clip_plan = evaluation_plan(_config(tiny_model, str(folder), tmp_path / "clip", loss="clip"))
    assert [t.tasks for t in clip_plan] == [TrainConfig().eval_tasks, ("mcq",)]


@pytest.mark.parametrize("extra, message", [
    (("--loss", "negclip"), "--loss negclip reads negated captions, which a NegBench MCQ file"),
    (("--loss", "negbench", "--mcq-weight", "1.5"), "--mcq-weight 1.5: must be between 0 and 1"),
    (("--loss", "negbench", "--eval-zeroshot", "somewhere"), "--eval-zeroshot somewhere: give imagefolder:DIR"),
    (("--loss", "negbench", "--image-root", "/nonexistent/images"), "--image-root /nonexistent/images: no such folder"),
])
def test_negbench_mistakes_are_one_line_before_loading(tiny_model, negbench_files, tmp_path, capsys, extra, message):
    out = tmp_path / "run"
    code = cli.main(train_command(tiny_model, f"negbench:{negbench_files / 'mcq_train.csv'}", out,
                                  "--image-root", str(negbench_files / "images"), *extra))
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_negbench_on_a_folder_without_its_files_names_the_way_out(tiny_model, train_data, tmp_path, capsys):
    code = cli.main(train_command(tiny_model, train_data, tmp_path / "run", "--loss", "negbench"))
    err = capsys.readouterr().err
    assert code == 2 and "no NegBench MCQ file" in err and "ccneg-build --style negbench" in err


def test_images_that_are_not_found_say_where_to_look(tiny_model, negbench_files, tmp_path, capsys):
    """The released paths are the authors' (/home/negbench-authors/...): without --image-root nothing is found."""
    code = cli.main(train_command(tiny_model, f"negbench:{negbench_files / 'mcq_train.csv'}", tmp_path / "run",
                                  "--loss", "negbench"))
    err = capsys.readouterr().err
    assert code == 2 and "no usable multiple-choice rows" in err and "--image-root" in err
    assert "'missing_image': 17" in err and not (tmp_path / "run").exists()


def test_mcq_rows_limit_and_layout(negbench_files, tmp_path):
    from ccneg_bench.train.mcq_data import load_mcq_rows
    from tests.helpers.benchmarks import write_negbench_retrieval

    rows = load_mcq_rows(negbench_files / "mcq_train.csv", str(negbench_files / "images"), limit=5)
    assert rows.ids == [f"mcq_train:{i}" for i in range(5)] and rows.skipped == {}
    assert all(rows.options[i][rows.correct[i]] == rows.captions[i] for i in range(5))
    retrieval = write_negbench_retrieval(tmp_path / "r")
    with pytest.raises(ValueError, match="a NegBench retrieval file .* not a multiple-choice file"):
        load_mcq_rows(retrieval.path, str(retrieval.image_root))
