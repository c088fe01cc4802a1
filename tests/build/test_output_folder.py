"""The output folder with real ``ccneg-build`` processes: user files, concurrent runs, kill -9, bad settings.

ccneg deletes only what it wrote, takes its lock before changing anything, and its workers
die with the main process; bad values are one-line errors before anything is written.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import DEV_TSV, REPO


def _command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "ccneg_build.cli", *map(str, args)]


def _run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(_command(*args), capture_output=True, text=True, timeout=600, cwd=cwd,
                          env=env or {**os.environ, "PYTHONPATH": str(REPO)})


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert lines and lines[-1].startswith("ccneg-build: error: "), result.stderr[-3000:]
    return lines[-1]


def _markers(out: Path) -> int:
    return len(list((out / ".ccneg" / "parts").glob("*.done.json"))) if (out / ".ccneg" / "parts").exists() else 0


def test_a_folder_of_user_files_is_refused_even_with_overwrite(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    for name in ("data/train-00000-of-00001.parquet", "rejected/notes.txt", "splits/train.txt", "README.md"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(f"the user's {name}")
    before = _snapshot(folder)
    for extra in ((), ("--overwrite",)):
        result = _run("--out", folder, "--limit", "5", *extra)
        assert result.returncode == 2
        assert "not made by ccneg-build" in _one_line_error(result)
        assert _snapshot(folder) == before  # nothing deleted, replaced or added


def test_overwrite_never_accepts_root_home_or_the_current_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(home)}
    for out in ("/", str(home), ".", ".."):
        result = _run("--out", out, "--limit", "5", "--overwrite", env=env, cwd=tmp_path)
        assert result.returncode == 2, out
        assert "refusing --overwrite" in _one_line_error(result)
    assert list(home.iterdir()) == []


def test_overwrite_removes_only_what_ccneg_wrote(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _run("--out", out, "--limit", "40", "--no-progress").returncode == 0
    mine = {"notes.txt": "mine", "data/extra.parquet": "not ours", "rejected/why.md": "mine", "splits/own.txt": "mine"}
    for name, text in mine.items():
        (out / name).write_text(text)
    result = _run("--out", out, "--limit", "40", "--seed", "1", "--overwrite")  # as a user types it
    assert result.returncode == 0, result.stderr[-3000:]
    assert {name: (out / name).read_text() for name in mine} == mine
    assert json.loads((out / "manifest.json").read_text())["seed"] == 1
    ledger = json.loads((out / ".ccneg" / "written.json").read_text())["files"]
    publication = json.loads((out / "manifest.json").read_text())["publication"]
    assert "data/extra.parquet" not in ledger and f"data/train-00000-of-00001-{publication}.parquet" in ledger


def test_a_second_run_with_overwrite_cannot_touch_a_folder_being_written(tmp_path: Path) -> None:
    if not DEV_TSV.exists():
        pytest.skip(f"the CC3M dev file is absent ({DEV_TSV})")
    out = tmp_path / "out"
    args = (DEV_TSV, "--out", out, "--limit", "600", "--shard-size", "30", "--no-progress")
    first = subprocess.Popen(_command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO)
    deadline = time.monotonic() + 300
    while _markers(out) < 1 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert first.poll() is None, "the first run ended before the second could start"
    record = (out / ".ccneg" / "run.json").read_bytes()
    parts = set((out / ".ccneg" / "parts").iterdir())

    second = _run(DEV_TSV, "--out", out, "--limit", "600", "--seed", "7", "--overwrite")
    assert second.returncode == 2
    assert "another ccneg-build run is writing this folder" in _one_line_error(second)
    assert (out / ".ccneg" / "run.json").read_bytes() == record  # checked the lock before changing anything
    assert parts <= set((out / ".ccneg" / "parts").iterdir())

    _, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, stderr[-3000:]
    again = _run(*args)  # the first run's own command still resumes its folder
    assert again.returncode == 0 and "resume run" in again.stdout


def test_kill_9_of_the_main_process_alone_ends_the_workers_and_the_command_completes(tmp_path: Path) -> None:
    if not DEV_TSV.exists():
        pytest.skip(f"the CC3M dev file is absent ({DEV_TSV})")
    out = tmp_path / "out"
    args = (DEV_TSV, "--out", out, "--limit", "800", "--shard-size", "25", "--workers", "2", "--no-progress")
    main = subprocess.Popen(_command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO)
    deadline = time.monotonic() + 300
    while _markers(out) < 2 and main.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    workers = _children(main.pid)
    assert main.poll() is None and len(workers) == 2, "the run ended before it could be killed"
    os.kill(main.pid, signal.SIGKILL)  # the main process only, not its process group
    main.wait(timeout=60)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers), "workers outlived the main process"

    again = _run(*args)
    assert again.returncode == 0, again.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["run"]["mode"] == "resume" and manifest["counts"]["rows_read"] == 800


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_an_out_that_cannot_be_created_is_one_line_without_a_resume_hint(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = _run("--out", blocker / "out", "--limit", "5")
    assert result.returncode == 2
    line = _one_line_error(result)
    assert str(blocker / "out") in line and "rerun" not in line


@pytest.mark.parametrize("value, message", [("1.0", "ambiguous"), ("1.5", "fraction between 0 and 1"),
                                            ("inf", "fraction between 0 and 1"), ("-3", "fraction between 0 and 1"),
                                            ("20", "no row would be left for train")])
def test_eval_size_values_that_cannot_work_are_refused_before_anything_is_written(tmp_path: Path, value: str,
                                                                                 message: str) -> None:
    out = tmp_path / "out"
    result = _run("--out", out, "--limit", "20", "--eval-size", value)
    assert result.returncode == 2 and message in _one_line_error(result)
    assert not out.exists()


def test_an_eval_count_above_the_accepted_rows_stops_before_publishing_and_a_smaller_one_resumes(tmp_path) -> None:
    out = tmp_path / "out"
    result = _run("--out", out, "--limit", "30", "--eval-size", "29")  # 30 rows read, fewer accepted
    assert result.returncode == 2
    assert "no row would be left for train" in _one_line_error(result)
    assert not (out / "data").exists() and not (out / "manifest.json").exists()
    done = _markers(out)
    assert done == 1
    again = _run("--out", out, "--limit", "30", "--eval-size", "5", "--no-progress")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "(1 already done)" in again.stdout  # the shard was reused, not recomputed
    assert json.loads((out / "manifest.json").read_text())["counts"]["splits"]["eval"] == 5


def test_more_workers_than_shards_runs_one_per_shard(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _run("--out", out, "--limit", "30", "--workers", "40")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((out / "manifest.json").read_text())["engine"]["workers"] == 1
