"""The quick tour (docs/tour.md) runs as written.

Every command of the page's ``bash`` blocks is taken verbatim (backslash continuations joined)
and run in a fresh folder through bash, as a user types it: the installed console scripts, the
default flags, progress bars on, no Hub (offline, with an empty Hugging Face cache, so no cached
model can stand in). Only the install line is left out: the package under test is installed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.tour

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "tour.md"
INSTALL_PREFIX = "pip install "
SCRIPTS = ("ccneg-build", "ccneg-bench", "ccneg-train")


def page_commands(page: Path = PAGE) -> list[str]:
    """The shell commands of every ```bash block of ``page``, in order, continuations joined."""
    commands: list[str] = []
    for block in re.findall(r"^```bash\n(.*?)^```", page.read_text(encoding="utf-8"), flags=re.S | re.M):
        pending = ""
        for line in block.splitlines():
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1].rstrip() + " "
                continue
            command = (pending + line.strip()).strip()
            pending = ""
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def tour_commands() -> list[str]:
    """The page's commands after the one install line."""
    commands = page_commands()
    installs = [c for c in commands if c.startswith(INSTALL_PREFIX)]
    assert installs == ["pip install 'ccneg[train]'"], f"the tour installs with one line, found {installs}"
    return [c for c in commands if not c.startswith(INSTALL_PREFIX)]


def test_the_page_walks_through_all_three_commands() -> None:
    commands = tour_commands()
    assert all(c.split()[0] in SCRIPTS for c in commands), commands
    assert {c.split()[0] for c in commands} == set(SCRIPTS)
    train = [c for c in commands if c.startswith("ccneg-train --model")]
    assert len(train) == 1 and "--max-steps" in train[0]
    assert any(c.startswith("ccneg-train mine-distractors") for c in commands)
    assert any(c.startswith("ccneg-bench report") and c.endswith("--html") for c in commands)


def _user_env(home: Path) -> dict[str, str]:
    """The environment of a user with the package installed and nothing downloaded."""
    scripts = Path(sys.executable).parent
    missing = [name for name in SCRIPTS if not (scripts / name).is_file()]
    if missing:
        pytest.fail(f"the tour runs the installed console scripts; {', '.join(missing)} missing next to "
                    f"{sys.executable}: install the package (pip install -e '.[train]')", pytrace=False)
    env = dict(os.environ)
    env.update({"PATH": f"{scripts}{os.pathsep}{env.get('PATH', '')}", "HF_HUB_OFFLINE": "1",
                "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(home / "hf"), "TORCH_HOME": str(home / "torch"),
                "XDG_CACHE_HOME": str(home / "cache")})
    return env


@pytest.mark.slow
def test_the_quick_tour_runs_as_documented(tmp_path: Path) -> None:
    env = _user_env(tmp_path / "home")
    work = tmp_path / "work"
    work.mkdir()
    for command in tour_commands():
        done = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}\nexit {done.returncode}\n{(done.stdout + done.stderr)[-3000:]}"

    tour = work / "tour"
    photos = pq.read_table(tour / "photos.parquet")
    assert photos.num_rows == 32 and all(cell["bytes"] for cell in photos.column("image").to_pylist())
    assert json.loads((tour / "tiny-clip.json").read_text())["vision_cfg"]["image_size"] == 64

    manifest = json.loads((tour / "negations" / "manifest.json").read_text())
    assert manifest["counts"]["accepted"] == 32
    splits = {s: pq.read_table(sorted((tour / "negations" / "data").glob(f"{s}-*.parquet"))).num_rows
              for s in ("train", "eval")}
    assert splits == {"train": 24, "eval": 8}
    assignments = pq.read_table(tour / "negations" / "distractors" / "assignments.parquet")
    assert assignments.num_rows == 32

    steps = [json.loads(line) for line in (tour / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in steps if "loss" in r] == list(range(1, 31))
    assert any("eval" in r for r in steps)
    export = tour / "run" / "export"
    assert (export / "open_clip_model.safetensors").is_file() and (export / "open_clip_config.json").is_file()

    results = [json.loads(p.read_text()) for p in (tour / "results").glob("*.json")]
    scored = {(r["model"], r["task"]) for r in results if r["status"] == "ok"}
    models = {"open_clip:tour/tiny-clip.json", "open_clip:tour/run/export", "text:negation-words"}
    assert scored == {(m, t) for m in models for t in ("ccneg", "ccneg-balanced", "retrieval")}

    report = tour / "report"
    page = (report / "report.html").read_text(encoding="utf-8")
    assert all(m in page for m in models) and page.count("data:image/") >= 8
    assert len((report / "results.csv").read_text().splitlines()) == 1 + 9
