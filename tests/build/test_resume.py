"""kill -9 of a real ``ccneg-build`` process, then the same command: identical published data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import DEV_TSV


def _command(input_path: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "ccneg_build.cli", str(input_path), "--out", str(out), "--limit", "1000",
            "--shard-size", "50", "--eval-size", "100", "--no-progress", *extra]


def _published(out: Path) -> dict[str, bytes]:
    files = [p for p in out.rglob("*") if p.is_file() and p.parts[len(out.parts)] in ("data", "rejected", "splits")]
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(files)}


def _markers(out: Path) -> int:
    parts = out / ".ccneg" / "parts"
    return len(list(parts.glob("*.done.json"))) if parts.exists() else 0


@pytest.mark.parametrize("workers", ["1", "2"])
def test_kill_9_then_rerun_gives_identical_output(tmp_path: Path, workers: str) -> None:
    if not DEV_TSV.exists():
        pytest.skip(f"the CC3M dev file is absent ({DEV_TSV}); set CCNEG_DEV_TSV to its path")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    done = subprocess.run(_command(DEV_TSV, reference), env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    total_shards = json.loads((reference / "manifest.json").read_text())["run"]["shards"]
    assert total_shards == 20

    victim = subprocess.Popen(_command(DEV_TSV, resumed, "--workers", workers), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while _markers(resumed) < 3 and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(victim.pid, signal.SIGKILL)  # the whole process group: workers die too
    victim.wait(timeout=60)
    finished_before_kill = _markers(resumed)
    assert victim.returncode == -signal.SIGKILL
    assert 0 < finished_before_kill < total_shards, "the run was not interrupted in the middle"
    assert not (resumed / "manifest.json").exists()

    again = subprocess.run(_command(DEV_TSV, resumed, "--workers", workers), env=env, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    run = json.loads((resumed / "manifest.json").read_text())["run"]
    assert run["mode"] == "resume" and run["shards_resumed"] >= finished_before_kill
    assert _published(resumed) == _published(reference)
    assert not list(resumed.rglob(".*.tmp-*"))  # half-written files of the killed run are gone
