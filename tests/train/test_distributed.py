"""Data parallelism and gradient accumulation follow the single-process loss curve exactly.

Runs real processes: one plain process, ``torchrun --nproc_per_node 2`` on gloo (CPU), and one
process with 4 accumulation steps, all with the same global batch. Features are gathered across
ranks (the contrastive matrices span the global batch), so every curve and the final weights
must agree within floating-point tolerance. The image tower is unlocked so that gathering with
gradients is exercised on both towers.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from ccneg_bench.train.checkpoint import list_checkpoints, load_checkpoint
from ccneg_bench.train.logs import read_log
from tests.train.conftest import REPO, child_env, free_port, run_cli, train_command

STEPS = 4
COMMON = ("--batch-size", "16", "--max-steps", str(STEPS), "--no-lock-image", "--cache-features", "off",
          "--save-every", "0", "--loss", "conclip")


def _curve(out):
    return [r["loss"] for r in read_log(out / "log.jsonl") if "loss" in r]


def _final_weights(out):
    _, path = list_checkpoints(out)[-1]
    return load_checkpoint(path)["model"]


@pytest.fixture(scope="module")
def reference(tiny_model, train_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    run_cli(train_command(tiny_model, train_data, out, *COMMON))
    return out


def test_torchrun_two_ranks_follow_the_single_process_curve(reference, tiny_model, train_data, tmp_path):
    out = tmp_path / "ddp"
    args = train_command(tiny_model, train_data, out, *COMMON)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(free_port()), "-m", "ccneg_bench.train.cli", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-5000:]

    single, ddp = _curve(reference), _curve(out)
    assert len(single) == len(ddp) == STEPS
    assert single[0] != pytest.approx(single[-1], rel=1e-3), "the curve must move for the comparison to mean anything"
    assert ddp == pytest.approx(single, rel=1e-4, abs=1e-5)
    a, b = _final_weights(reference), _final_weights(out)
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=1e-4, atol=1e-5, msg=name)


def test_exact_gradient_accumulation(reference, tiny_model, train_data, tmp_path):
    out = tmp_path / "accum"
    run_cli(train_command(tiny_model, train_data, out, *COMMON, "--accum-steps", "4"))
    assert _curve(out) == pytest.approx(_curve(reference), rel=1e-4, abs=1e-5)
    a, b = _final_weights(reference), _final_weights(out)
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=1e-4, atol=1e-5, msg=name)


def test_torchrun_with_the_frozen_tower_cache_matches_one_process(tiny_model, train_data, tmp_path):
    """The paper's setting: image tower locked, features cached (built sharded over ranks)."""
    cached = ("--batch-size", "16", "--max-steps", str(STEPS), "--cache-features", "on", "--save-every", "0")
    single = tmp_path / "single"
    run_cli(train_command(tiny_model, train_data, single, *cached))
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(free_port()), "-m", "ccneg_bench.train.cli",
           *train_command(tiny_model, train_data, out, *cached)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert _curve(out) == pytest.approx(_curve(single), rel=1e-4, abs=1e-5)
    from safetensors.torch import load_file

    a = load_file(str(next((single / "feature_cache").glob("*.safetensors"))))
    b = load_file(str(next((out / "feature_cache").glob("*.safetensors"))))
    torch.testing.assert_close(b["image"], a["image"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(b["distractor"], a["distractor"], rtol=1e-5, atol=1e-6)
