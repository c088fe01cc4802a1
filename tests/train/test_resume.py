"""kill -9 in the middle of training, then ``--resume latest``: the loss curve continues as if
the run had never stopped (same losses step for step, same final weights)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
import torch

from ccneg_bench.train.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from ccneg_bench.train.logs import read_log
from tests.train.conftest import REPO, child_env, run_cli, train_command

STEPS = 30
COMMON = ("--batch-size", "8", "--max-steps", str(STEPS), "--save-every", "3", "--keep-last", "2",
          "--no-lock-image", "--cache-features", "off")


def _losses(out) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in read_log(out / "log.jsonl") if "loss" in r}


def test_kill_9_then_resume_latest_continues_the_curve(tiny_model, train_data, tmp_path):
    reference = tmp_path / "reference"
    run_cli(train_command(tiny_model, train_data, reference, *COMMON))

    out = tmp_path / "killed"
    args = train_command(tiny_model, train_data, out, *COMMON, "--resume", "latest")
    proc = subprocess.Popen([sys.executable, "-m", "ccneg_bench.train.cli", *args], env=child_env(), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    try:
        while time.time() < deadline and proc.poll() is None:
            if (out / "log.jsonl").exists() and max(_losses(out), default=0) >= 8:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    logged_before = max(_losses(out))
    assert logged_before < STEPS, "the run finished before it could be killed"
    saved = [step for step, _ in list_checkpoints(out)]
    assert saved and max(saved) >= 6
    for _, path in list_checkpoints(out):  # whatever moment the kill hit, every .pt is whole
        assert load_checkpoint(path)["step"] > 0

    run_cli(train_command(tiny_model, train_data, out, *COMMON, "--resume", "latest"))
    resumed, expected = _losses(out), _losses(reference)
    assert sorted(resumed) == list(range(1, STEPS + 1))
    for step in expected:
        assert resumed[step] == pytest.approx(expected[step], rel=1e-5, abs=1e-6), step
    final_a = load_checkpoint(list_checkpoints(reference)[-1][1])["model"]
    final_b = load_checkpoint(list_checkpoints(out)[-1][1])["model"]
    for name in final_a:
        torch.testing.assert_close(final_b[name], final_a[name], rtol=1e-5, atol=1e-6, msg=name)
    assert len(list_checkpoints(out)) <= 2  # --keep-last


def test_resume_refuses_a_changed_batch_size(tiny_model, train_data, tmp_path):
    out = tmp_path / "run"
    run_cli(train_command(tiny_model, train_data, out, "--batch-size", "8", "--max-steps", "2", "--save-every", "1"))
    proc = subprocess.run(
        [sys.executable, "-m", "ccneg_bench.train.cli",
         *train_command(tiny_model, train_data, out, "--batch-size", "16", "--max-steps", "4", "--resume", "latest")],
        capture_output=True, text=True, env=child_env(), cwd=REPO, timeout=300,
    )
    assert proc.returncode == 2
    assert "batch_size" in proc.stderr and "cannot resume" in proc.stderr


def test_checkpoints_load_without_unpickling_and_refuse_code(tmp_path):
    path = save_checkpoint(tmp_path, 5, {"step": 5, "model": {"w": torch.ones(2)}, "config": {"lr": 1e-6}})
    assert load_checkpoint(path)["step"] == 5

    class Payload:  # any object outside plain containers must be refused, never executed
        def __reduce__(self):
            return (print, ("pwned",))

    evil = tmp_path / "checkpoints" / "step_00000009.pt"
    torch.save({"step": 9, "model": {}, "x": Payload()}, evil)
    with pytest.raises(ValueError, match="refusing to unpickle"):
        load_checkpoint(evil)
