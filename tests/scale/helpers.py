"""Shared helpers of the scale tests: input files, running ``ccneg-build``, reading outputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "ccneg_build" / "data" / "cc3m_sample.tsv"


def dev_tsv() -> Path:
    """The 3,000 real CC3M validation rows next to the repository (or CCNEG_DEV_TSV)."""
    return Path(os.environ.get("CCNEG_DEV_TSV", REPO / ".." / "shared" / "data" / "cc3m_val_dev.tsv"))


def sample_captions(n: int) -> list[str]:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    return [line.split("\t")[0] for line in lines[:n]]


def write_tsv(path: Path, captions: list[str], urls: list[str]) -> Path:
    path.write_text("".join(f"{c}\t{u}\n" for c, u in zip(captions, urls)), encoding="utf-8")
    return path


def build_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
               PYTHONPATH=str(REPO))
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        env.pop(key, None)
    return env


def ccneg_build_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ccneg_build.cli", *args]


def run_ccneg_build(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(ccneg_build_command(*args), env=build_env(), capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def read_folder(folder: Path) -> pa.Table | None:
    files = sorted(Path(folder).glob("*.parquet"))
    if not files:
        return None
    return pa.concat_tables([pq.read_table(f) for f in files])


def dataset_tables(out: Path) -> dict[str, pa.Table | None]:
    """Every published table of a build, for comparing two builds."""
    return {"data": read_folder(out / "data"), "rejected": read_folder(out / "rejected")}
