"""Atomic writes are defined once (``ccneg_core.writer``): every file lands in one rename,
with the umask's mode, and a failed write leaves neither a partial file nor a temporary."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ccneg_build.publication import Publication
from ccneg_build.publish import _IdList
from ccneg_core.writer import PendingFile, atomic_output, atomic_write_json, write_id_list

ROOT = Path(__file__).resolve().parents[2]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "result.json"
    atomic_write_json(target, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_text("half", encoding="utf-8")
            raise RuntimeError("killed mid-write")
    assert json.loads(target.read_text(encoding="utf-8")) == {"v": 1}
    assert sorted(p.name for p in target.parent.iterdir()) == ["result.json"]


def test_streamed_file_is_invisible_until_commit_and_gets_the_umask_mode(tmp_path):
    target = tmp_path / "ids.txt"
    pending = PendingFile(target)
    with pending.tmp.open("w", encoding="utf-8") as handle:
        handle.write("a\n")
        assert not target.exists()
    os.chmod(pending.tmp, 0o600)  # some writers create private files
    old = os.umask(0o027)
    try:
        pending.commit()
    finally:
        os.umask(old)
    assert target.read_text() == "a\n" and _mode(target) == 0o640
    assert not pending.tmp.exists()


def test_discarded_id_list_leaves_nothing(tmp_path):
    ids = _IdList(Publication(tmp_path), "train")
    ids.extend(["x", "y"])
    ids.discard()
    assert list((tmp_path / "splits").iterdir()) == []
    assert write_id_list(tmp_path / "splits" / "eval.txt", ["p", "q"]) == 2
    assert (tmp_path / "splits" / "eval.txt").read_text() == "p\nq\n"


def test_every_rename_into_place_goes_through_the_one_helper():
    """``os.replace`` / ``Path.replace`` appear in the packages only inside ``writer.PendingFile``."""
    found = []
    for package in ("ccneg_core", "ccneg_build", "ccneg_bench"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if re.search(r"\bos\.(replace|rename)\(|\.replace\((tmp|temporary|target|path)\b", code):
                    found.append(f"{path.relative_to(ROOT)}:{number}")
    assert found == ["ccneg_core/writer.py:" + str(_line_of_commit_rename())]


def _line_of_commit_rename() -> int:
    lines = (ROOT / "ccneg_core" / "writer.py").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if "os.replace(self.tmp, self.path)" in line)


def test_a_killed_writer_never_leaves_a_file_under_its_final_name(tmp_path):
    """A real process killed between writing and committing: only its temporary remains."""
    script = (
        "import os, sys\n"
        "from ccneg_core.writer import atomic_output\n"
        "with atomic_output(sys.argv[1]) as tmp:\n"
        "    tmp.write_text('partial')\n"
        "    os._exit(9)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "out.json")], env=env)
    assert done.returncode == 9
    assert not (tmp_path / "out.json").exists()
    assert [p.name.startswith(".out.json.tmp-") for p in tmp_path.iterdir()] == [True]
