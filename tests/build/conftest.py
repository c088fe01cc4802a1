"""Fixtures of the build tests: small real input files and a runner of the real CLI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

from ccneg_build import cli

REPO = Path(__file__).resolve().parents[2]
DEV_TSV = Path(os.environ.get("CCNEG_DEV_TSV", REPO / ".." / "shared" / "data" / "cc3m_val_dev.tsv"))

#: Real CC3M-style captions (from the embedded sample) used to write small inputs.
CAPTIONS = [
    "a woman next to a table in the dining area",
    "a flag on a dome",
    "a person on skis makes her way through the snow",
    "an angler fishes river on a snowy day .",
    "the player staring intently at a computer screen .",
    "a dog sitting on a couch in the living room",
    "aerial view of a meteor over the clouds",
    "jungle with a mountain in the distance .",
]


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


@pytest.fixture
def build(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run ``ccneg-build`` in this process; returns (exit code, stdout, stderr)."""

    def run(*args: str | Path) -> tuple[int, str, str]:
        code = cli.main([str(a) for a in args] + ["--no-progress"])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def dev_tsv() -> Path:
    if not DEV_TSV.exists():
        pytest.skip(f"the CC3M dev file is absent ({DEV_TSV}); set CCNEG_DEV_TSV to its path")
    return DEV_TSV
