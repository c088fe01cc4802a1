"""kill -9 of the real ``ccneg-build`` command while it publishes: every reader sees a complete dataset or refuses.

The command runs as a user types it (the console script, progress bars on). It is killed at
points of publishing named by ``CCNEG_TEST_KILL_AT`` (the process sends itself SIGKILL there,
see :mod:`ccneg_build.publication`) and, in the last test, at moments picked from outside by
watching the folder. After every kill:

* ``datasets.load_dataset`` returns one of the two complete datasets the test knows, or refuses;
* :mod:`ccneg_core.dataset` (the reader of ccneg-bench, ccneg-train, review, push) returns one
  of them, or refuses in one line that says to rerun the build;
* ``ccneg-bench`` scores the whole eval split of one of them, or exits non-zero in one line;
* ``ccneg-build push --dry-run`` refuses in one line.

Rerunning the same command then completes, and the folder is byte for byte the folder an
uninterrupted run makes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import datasets
import pytest

from ccneg_core.dataset import DatasetFolderError, read_split, split_names
from ccneg_build.publication import KILL_AT_VARIABLE

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
#: 300 rows of the embedded sample in shards of 50, 20 rows per file: about 20 published files.
BUILD = ("--shard-size", "50", "--rows-per-file", "20")
#: A second dataset from the same shards: another eval size gives other files (allowed on a rerun).
OTHER = ("--eval-size", "0.3")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
#: manifest fields that differ between any two runs (time, and how much was resumed)
VOLATILE = ("created", "timings", "run")


def _build(out: Path, *extra: str, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = {**ENV, KILL_AT_VARIABLE: kill_at} if kill_at else ENV
    return subprocess.run([str(BIN / "ccneg-build"), "--out", str(out), *BUILD, *extra], env=env,
                          capture_output=True, text=True, timeout=600)


def _snapshot(out: Path) -> dict[str, Any]:
    """Every file a user sees (the run state under .ccneg aside), the manifest without its volatile fields."""
    files: dict[str, Any] = {}
    for path in sorted(out.rglob("*")):
        relative = path.relative_to(out)
        if path.is_file() and relative.parts[0] != ".ccneg":
            files[relative.as_posix()] = path.read_bytes()
    manifest = json.loads(files.pop("manifest.json"))
    files["manifest.json"] = {k: v for k, v in manifest.items() if k not in VOLATILE}
    return files


def _ids(out: Path) -> dict[str, list[str]]:
    """Each split's ids, read by ccneg's one reader."""
    return {split: read_split(out, split, ["id"]).column("id").to_pylist() for split in split_names(out)}


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Uninterrupted runs: dataset A (default eval size), then B (``OTHER``) republished over it."""
    root = tmp_path_factory.mktemp("references")
    out = root / "out"
    done = _build(out)
    assert done.returncode == 0, done.stderr[-3000:]
    shutil.copytree(out, root / "a")  # the folder holding A, with its finished shards
    files = len(json.loads((out / "manifest.json").read_text())["files"])
    a = {"snapshot": _snapshot(out), "ids": _ids(out), "files": files}
    done = _build(out, *OTHER)
    assert done.returncode == 0, done.stderr[-3000:]
    b = {"snapshot": _snapshot(out), "ids": _ids(out)}
    assert a["ids"] != b["ids"] and set(a["snapshot"]).isdisjoint(set(b["snapshot"]) - {"README.md", "manifest.json"})
    return {"a": a, "b": b, "folder_a": root / "a"}


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and "\r" not in line and "%|" not in line]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


def _check_readers(out: Path, known: list[dict[str, list[str]]], work: Path, push_refuses: bool = True
                   ) -> dict[str, str]:
    """What each reader did with the folder (asserting it saw a known complete dataset or refused).

    ``push_refuses``: the build was killed while publishing, so ``push --dry-run`` must refuse.
    """
    seen: dict[str, str] = {}
    try:
        loaded = datasets.load_dataset(str(out), cache_dir=str(work / "hf-cache"))
    except Exception:  # noqa: BLE001 - any refusal is fine; a partial dataset is not
        seen["load_dataset"] = "refused"
    else:
        assert {split: loaded[split]["id"] for split in loaded} in known
        seen["load_dataset"] = "complete"

    try:
        ids = _ids(out)
    except DatasetFolderError as refusal:
        assert "\n" not in str(refusal) and "rerun the ccneg-build command" in str(refusal)
        seen["reader"] = "refused"
    else:
        assert ids in known
        seen["reader"] = "complete"

    results = work / f"results-{len(list(work.glob('results-*')))}"
    bench = subprocess.run([str(BIN / "ccneg-bench"), "--model", "text:negation-words", "--dataset", str(out),
                            "--task", "ccneg", "--output", str(results)], env=ENV, capture_output=True, text=True,
                           timeout=600)
    if bench.returncode == 0:
        (result,) = [json.loads(p.read_text()) for p in results.glob("*.json")]
        assert result["status"] == "ok" and result["n"] in {len(k["eval"]) for k in known}, result
        seen["bench"] = "complete"
    else:
        assert "rerun the ccneg-build command" in _one_line(bench.stderr)
        seen["bench"] = "refused"

    push = subprocess.run([str(BIN / "ccneg-build"), "push", str(out), "me/ccneg", "--dry-run"], env=ENV,
                          capture_output=True, text=True, timeout=600)
    if push_refuses or push.returncode != 0:
        assert push.returncode == 2 and "refused:" in _one_line(push.stderr), push.stdout[-2000:] + push.stderr[-2000:]
    return seen


def _killed(out: Path, point: str, *extra: str) -> None:
    run = _build(out, *extra, kill_at=point)
    assert run.returncode == -signal.SIGKILL, f"{point}: not reached (exit {run.returncode}) {run.stderr[-2000:]}"


def _finish(out: Path, reference: dict[str, Any], *extra: str) -> None:
    again = _build(out, *extra)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _snapshot(out) == reference["snapshot"]
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]
    assert not (out / ".ccneg" / "publishing.json").exists()
    push = subprocess.run([str(BIN / "ccneg-build"), "push", str(out), "me/ccneg", "--dry-run"], env=ENV,
                          capture_output=True, text=True, timeout=600)
    assert push.returncode == 0, push.stderr


def test_a_first_build_killed_while_publishing_is_refused_until_rerun(references, tmp_path: Path) -> None:
    out, known, n = tmp_path / "out", [references["a"]["ids"]], references["a"]["files"]
    refused = {"load_dataset": "refused", "reader": "refused", "bench": "refused"}
    expected = {  # the card comes first (nothing to keep load_dataset on), the manifest last
        "staged:1": refused, f"staged:{n}": refused, "card:1": refused, "renamed:1": refused,
        f"renamed:{n // 2}": refused, f"renamed:{n}": {**refused, "load_dataset": "complete"},
        "manifest:1": {"load_dataset": "complete", "reader": "complete", "bench": "complete"},
    }
    seen = {}
    for point in expected:
        _killed(out, point)
        seen[point] = _check_readers(out, known, tmp_path)
    assert seen == expected
    _finish(out, references["a"])


def test_a_republication_killed_at_any_point_leaves_the_old_or_the_new_dataset(references, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(references["folder_a"], out)
    known, n = [references["a"]["ids"], references["b"]["ids"]], references["a"]["files"]
    seen = []
    for point in ("staged:1", f"staged:{n // 2}", "renamed:1", f"renamed:{n // 2}", "card:1", "manifest:1",
                  "removed:1", f"removed:{n // 2}"):
        _killed(out, point, *OTHER)
        seen.append((point, _check_readers(out, known, tmp_path), _ids(out) == references["b"]["ids"]))
    assert all(s == {"load_dataset": "complete", "reader": "complete", "bench": "complete"} for _, s, _ in seen), seen
    # the old dataset until the manifest's rename, the new one from then on
    assert [new for _, _, new in seen] == [False] * 5 + [True] * 3, seen
    _finish(out, references["b"], *OTHER)


def test_kills_at_moments_picked_from_outside(references, tmp_path: Path) -> None:
    """No hook: the test watches the folder and kills the process group once publishing has begun."""
    out = tmp_path / "out"
    shutil.copytree(references["folder_a"], out)
    known = [references["a"]["ids"], references["b"]["ids"]]
    targets = [OTHER, (), OTHER]
    interrupted = 0
    for delay, extra in zip((0.0, 0.3, 0.05), targets):
        victim = subprocess.Popen([str(BIN / "ccneg-build"), "--out", str(out), *BUILD, *extra], env=ENV,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 300
        marker = out / ".ccneg" / "publishing.json"
        while victim.poll() is None and time.monotonic() < deadline and not marker.exists():
            time.sleep(0.002)
        time.sleep(delay)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=60)
        if victim.returncode == 0:  # it finished first: a complete folder
            assert _ids(out) in known
            continue
        interrupted += marker.exists()
        _check_readers(out, known, tmp_path, push_refuses=marker.exists())
    assert interrupted, "no kill landed while publishing"
    _finish(out, references["b"], *targets[-1])
