"""Every command ends quietly when its reader goes away (``ccneg-build reasons | head -1``).

The installed console scripts run as a user types them, with stdout a real pipe whose reading
end is already closed: every write to it fails at once, as it does after ``head`` has exited,
so the outcome does not depend on how fast the reader quits. Each command must still do its
work, then exit with status 141 (what a shell reports for SIGPIPE) and print no traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ccneg_core.pipes import EXIT_BROKEN_PIPE
from tests.helpers.data import make_rows, write_ccneg_folder, write_rows
from tests.helpers.tiny_models import save_tiny_checkpoint

REPO = Path(__file__).resolve().parents[1]
NOISE = ("Traceback", "BrokenPipeError", "Broken pipe", "Exception ignored")


def _script(name: str) -> str:
    path = Path(sys.executable).parent / name
    assert path.is_file(), f"the {name} console script is not installed next to {sys.executable}"
    return str(path)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    return env


def into_closed_pipe(name: str, *args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run console script ``name`` with stdout a pipe nobody reads any more; stderr is captured."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([_script(name), *args], stdout=write_end, stderr=subprocess.PIPE, text=True,
                              env=_env(), cwd=cwd, timeout=timeout)
    finally:
        os.close(write_end)


def assert_quiet(proc: subprocess.CompletedProcess, statuses: tuple[int, ...] = (EXIT_BROKEN_PIPE,)) -> None:
    """Ended by the closed pipe (status 141), with no traceback and no 'Exception ignored' note."""
    assert proc.returncode in statuses, proc.stderr[-3000:]
    for noise in NOISE:
        assert noise not in proc.stderr, proc.stderr[-3000:]


def test_a_shell_pipeline_into_head_prints_no_traceback(tmp_path):
    done = subprocess.run(["bash", "-c", f"'{_script('ccneg-build')}' reasons | head -1"], capture_output=True,
                          text=True, env=_env(), cwd=tmp_path, timeout=120)
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 1
    for noise in NOISE:
        assert noise not in done.stderr


def test_reasons(tmp_path):
    assert_quiet(into_closed_pipe("ccneg-build", "reasons", cwd=tmp_path, timeout=120))


@pytest.mark.parametrize("command", [["ccneg-build", "--help"], ["ccneg-build", "review", "--help"],
                                     ["ccneg-bench", "--help"], ["ccneg-bench", "report", "--help"],
                                     ["ccneg-bench", "suite", "--help"], ["ccneg-train", "--help"],
                                     ["ccneg-train", "mine-distractors", "--help"]])
def test_help(command, tmp_path):
    """argparse itself drops a failed help write (exit 0); what is left must not print a traceback either."""
    assert_quiet(into_closed_pipe(*command, cwd=tmp_path, timeout=120), statuses=(0, EXIT_BROKEN_PIPE))


def test_build_review_and_push(tmp_path):
    """A real build (the embedded sample), then review and push --dry-run of its folder."""
    proc = into_closed_pipe("ccneg-build", "--out", "sample", "--limit", "20", cwd=tmp_path)
    assert_quiet(proc)
    assert json.loads((tmp_path / "sample" / "manifest.json").read_text())["counts"]["rows_read"] == 20

    assert_quiet(into_closed_pipe("ccneg-build", "review", "sample", "--n", "5", cwd=tmp_path))
    assert list((tmp_path / "sample" / "review").glob("review-*.html"))
    assert_quiet(into_closed_pipe("ccneg-build", "push", "sample", "someone/ccneg-sample", "--dry-run", cwd=tmp_path))


def test_bench_report_and_suite(tmp_path):
    write_ccneg_folder(tmp_path / "data", n=12)
    proc = into_closed_pipe("ccneg-bench", "--model", "text:negation-words", "--dataset", "data", "--task", "ccneg",
                            "--output", "results", "--save-predictions", cwd=tmp_path)
    assert_quiet(proc)
    assert len(list((tmp_path / "results").glob("*_ccneg.json"))) == 1

    assert_quiet(into_closed_pipe("ccneg-bench", "report", "results", "--output", "report", "--html", cwd=tmp_path))
    assert (tmp_path / "report" / "report.html").is_file()

    (tmp_path / "suite.yaml").write_text("- dataset: data\n  task: [ccneg, retrieval]\n", encoding="utf-8")
    assert_quiet(into_closed_pipe("ccneg-bench", "suite", "--model", "text:negation-words", "--suite", "suite.yaml",
                                  "--output", "suite-results", "--cache-dir", "cache", cwd=tmp_path))
    assert len(list((tmp_path / "suite-results").glob("*.json"))) == 2


def test_train_and_mine_distractors(tmp_path):
    config, weights = save_tiny_checkpoint(tmp_path / "model", seed=0)
    data = tmp_path / "data"
    write_rows(data, make_rows(16, split="train", source="train-src", seed=0), "train")
    write_rows(data, make_rows(8, split="eval", source="eval-src", seed=1), "eval")
    model = ["--model", f"open_clip:{config}", "--pretrained", str(weights), "--device", "cpu", "--workers", "0"]

    proc = into_closed_pipe("ccneg-train", "mine-distractors", "--data", "data", "--pool", "data", "--pool-split",
                            "train", "--k", "2", *model, cwd=tmp_path)
    assert_quiet(proc)
    assert pq.read_metadata(data / "distractors" / "assignments.parquet").num_rows == 24

    proc = into_closed_pipe("ccneg-train", "--data", "data", "--out", "run", "--batch-size", "8", "--max-steps", "1",
                            "--no-export", *model, cwd=tmp_path)
    assert_quiet(proc)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["summary"]["steps"] == 1
