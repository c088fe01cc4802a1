"""Shared fixtures of the trainer tests: a tiny seeded open_clip model and a small dataset.

Everything is generated here (no network): seeded tiny weights saved as safetensors so that
every subprocess starts from the same model, a ccneg dataset folder with a train and an
eval split, and distractor files in the miner's format.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.helpers.data import make_rows, write_distractors, write_rows
from tests.helpers.tiny_models import save_tiny_checkpoint

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> tuple[Path, Path]:
    """(config JSON, seeded safetensors weights) of the shared tiny open_clip model."""
    return save_tiny_checkpoint(tmp_path_factory.mktemp("tiny_model"), seed=0)


@pytest.fixture(scope="session")
def train_data(tmp_path_factory) -> Path:
    """A ccneg folder: 48 train and 16 eval samples, every sample with 3 mined distractors."""
    folder = tmp_path_factory.mktemp("train_data")
    write_rows(folder, make_rows(48, split="train", source="train-src", seed=0), "train")
    write_rows(folder, make_rows(16, split="eval", source="eval-src", seed=1), "eval")
    ids = []
    for path in sorted((folder / "data").glob("*.parquet")):
        ids.extend(pq.read_table(path, columns=["id"]).column(0).to_pylist())
    write_distractors(folder, ids, pool_size=12, k=3)
    return folder


def train_command(tiny_model: tuple[Path, Path], data: Path, out: Path, *extra: str) -> list[str]:
    """Arguments of a small ``ccneg-train`` run on the CPU (no evaluation, no export)."""
    config, weights = tiny_model
    return [
        "--model", f"open_clip:{config}", "--pretrained", str(weights), "--data", str(data), "--out", str(out),
        "--device", "cpu", "--workers", "0", "--lr", "1e-3", "--warmup-steps", "2", "--weight-decay", "0.1",
        "--no-eval", "--no-export", *extra,
    ]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)})
    return env


def run_cli(args: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``ccneg-train`` in a fresh interpreter and fail with its output when it fails."""
    proc = subprocess.run([sys.executable, "-m", "ccneg_bench.train.cli", *args], capture_output=True, text=True,
                          env=child_env(), timeout=timeout, cwd=REPO)
    assert proc.returncode == 0, f"ccneg-train failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
