"""A run folder belongs to one run; every argument is checked before anything loads.

Runs go through the real command line in fresh interpreters (as a user types them); the
checks that fail before any model loads run in-process too, where a guard proves nothing
was built.
"""

from __future__ import annotations

import hashlib
import stat
import subprocess
import sys

import pytest
import torch

from ccneg_bench.train.checkpoint import list_checkpoints
from ccneg_bench.train.cli import main
from ccneg_bench.train.logs import read_log
from tests.train.conftest import REPO, child_env, run_cli, train_command

SHORT = ("--batch-size", "8", "--save-every", "1", "--keep-last", "2", "--loss", "clip")


def _snapshot(folder) -> dict[str, tuple[str, int]]:
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _cli(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = child_env()
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "ccneg_bench.train.cli", *args], capture_output=True, text=True,
                          env=environment, cwd=REPO, timeout=600)


def _one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture()
def finished_run(tiny_model, train_data, tmp_path):
    """A finished 3-step run with an evaluation at the end and an export."""
    out = tmp_path / "run"
    args = [a for a in train_command(tiny_model, train_data, out, *SHORT, "--max-steps", "3", "--eval-tasks", "ccneg")
            if a not in ("--no-eval", "--no-export")]
    run_cli(args)
    return out, args


@pytest.mark.slow
def test_a_used_out_is_refused_unchanged_then_overwrite_starts_afresh(finished_run, tiny_model, train_data):
    out, _ = finished_run
    (out / "notes.txt").write_text("mine")  # files ccneg-train did not write survive everything
    (out / "checkpoints" / "README").write_text("mine too")
    before = _snapshot(out)

    again = train_command(tiny_model, train_data, out, *SHORT, "--max-steps", "2")
    proc = _cli(again)
    assert proc.returncode == 2
    line = _one_line(proc.stderr)
    assert "already holds a ccneg-train run (checkpoints of steps 2, 3" in line
    assert "--resume latest" in line and "--overwrite" in line
    assert _snapshot(out) == before  # nothing in it changed

    proc = _cli([*again, "--overwrite"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "removed the previous run's files" in proc.stderr
    assert [r["step"] for r in read_log(out / "log.jsonl")] == [1, 2]
    assert [step for step, _ in list_checkpoints(out)] == [1, 2]
    assert not (out / "export").exists()  # the old export went; --no-export wrote none
    assert (out / "notes.txt").read_text() == "mine" and (out / "checkpoints" / "README").read_text() == "mine too"


@pytest.mark.slow
def test_resuming_a_finished_run_says_so_and_adds_nothing(finished_run):
    out, args = finished_run
    log_before = (out / "log.jsonl").read_text()
    assert sum("eval" in r for r in read_log(out / "log.jsonl")) == 1
    export = out / "export" / "open_clip_model.safetensors"
    assert stat.S_IMODE(export.stat().st_mode) == 0o666 & ~_umask()
    export_before = export.stat().st_mtime_ns
    proc = run_cli([*args, "--resume", "latest"])
    assert "resumed from step 3" in proc.stderr and "nothing left to train" in proc.stderr
    assert (out / "log.jsonl").read_text() == log_before  # no duplicate evaluation
    assert export.stat().st_mtime_ns == export_before
    assert "eval ccneg: accuracy=" in proc.stdout  # the summary still reports the run's evaluation


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.fixture()
def no_model_built(monkeypatch):
    import open_clip

    def never(*_, **__):
        raise AssertionError("a model was built before the arguments were checked")

    monkeypatch.setattr(open_clip, "create_model_and_transforms", never)


@pytest.mark.parametrize("extra, expected", [
    (("--eval-tasks", "ccneg,cneg"), "unknown task 'cneg'"),
    (("--split", "test"), "--split test: "),
    (("--eval-split", "dev", "--eval-tasks", "ccneg"), "--eval-split dev: "),
    (("--terms", "l1,l4"), "unknown or empty CoN-CLIP loss terms"),
    (("--pretrained", "/nowhere/w.safetensors"), "weights file not found"),
    (("--model", "open_clip:ViT-B-33", "--pretrained", "none"), "no architecture 'ViT-B-33'"),
    (("--model", "hf:org/name"), "ccneg-train fine-tunes open_clip models"),
    (("--device", "cuda:x"), "--device cuda:x: not a device"),
    (("--batch-size", "12", "--accum-steps", "5"), "must be a multiple of"),
    (("--resume", "7"), "--resume 7: no checkpoint"),
    (("--resume", "latest", "--overwrite"), "give one of them"),
])
def test_bad_arguments_fail_in_one_line_before_anything_loads(tiny_model, train_data, tmp_path, capsys,
                                                              no_model_built, extra, expected):
    out = tmp_path / "o"
    args = [a for a in train_command(tiny_model, train_data, out, "--batch-size", "8") if a != "--no-eval"]
    code = main([*args, *extra])
    assert code == 2
    line = _one_line(capsys.readouterr().err)
    assert expected in line
    if "split" in expected:
        assert "its splits are: eval, train" in line
    assert not out.exists()


def test_argparse_errors_are_one_line_too(tiny_model, train_data, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(train_command(tiny_model, train_data, tmp_path / "o", "--batch-size", "0"))
    assert exit_info.value.code == 2
    assert "--batch-size: must be at least 1" in _one_line(capsys.readouterr().err)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_device_cuda_without_a_gpu(tiny_model, train_data, tmp_path):
    proc = _cli(train_command(tiny_model, train_data, tmp_path / "o", "--device", "cuda"))
    assert proc.returncode == 2
    assert "--device cuda: no CUDA GPU is visible" in _one_line(proc.stderr)


def test_a_dataset_without_images_names_the_real_cause(tiny_model, tmp_path, capsys, no_model_built):
    from tests.helpers.data import make_rows, write_rows

    rows = make_rows(8, split="train")
    for row in rows:
        row["image"] = None
    write_rows(tmp_path / "data", rows, "train")
    code = main(train_command(tiny_model, tmp_path / "data", tmp_path / "o"))
    assert code == 2
    line = _one_line(capsys.readouterr().err)
    assert "split 'train' has no images" in line and "distractor" not in line


def test_resume_with_other_settings_is_refused_before_the_model_loads(finished_run, tiny_model, train_data, capsys,
                                                                      no_model_built):
    out, _ = finished_run
    code = main(train_command(tiny_model, train_data, out, "--batch-size", "16", "--loss", "clip", "--resume", "latest"))
    assert code == 2
    assert "batch_size: 8 -> 16" in _one_line(capsys.readouterr().err)


def test_max_steps_inside_the_warmup_is_announced(tiny_model, train_data, tmp_path):
    proc = run_cli(train_command(tiny_model, train_data, tmp_path / "o", *SHORT, "--max-steps", "1"))
    assert "--max-steps 1 ends inside the 2-step warm-up" in proc.stderr and "50% of --lr" in proc.stderr


def test_default_command_offline_fails_at_once_and_creates_nothing(train_data, tmp_path):
    """As a user types it, with every default: ViT-B-32 with the openai weights, not on this machine."""
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = _cli(["--data", str(train_data), "--out", str(tmp_path / "run")], env=env)
    assert proc.returncode == 1
    line = _one_line(proc.stderr)
    assert "open_clip:ViT-B-32 --pretrained openai" in line and "--pretrained /path/to/weights.safetensors" in line
    assert not (tmp_path / "run").exists()

    proc = _cli(["mine-distractors", "--data", str(train_data), "--pool", str(train_data), "--out", str(tmp_path / "d")],
                env=env)
    assert proc.returncode == 1
    assert "open_clip:ViT-B-16 --pretrained openai" in _one_line(proc.stderr)
    assert not (tmp_path / "d").exists()
