"""The command line end to end: several models, result files, report, clear errors."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from ccneg_bench.cli import main
from tests.helpers.data import write_ccneg_folder
from tests.helpers.tiny_models import register_named_tiny_configs
from tests.scale.released_fixture import write_release

REPO = Path(__file__).resolve().parents[2]


def test_cli_two_models_three_tasks_then_report(tiny_spec, tmp_path, capsys):
    spec, weights = tiny_spec
    data = write_ccneg_folder(tmp_path / "ds", n=16)
    out = tmp_path / "results"
    code = main(["--model", spec, "--pretrained", weights, "--model", "text:negation-words", "--pretrained", "none",
                 "--dataset", str(data), "--task", "ccneg", "--task", "retrieval", "--output", str(out),
                 "--cache-dir", str(tmp_path / "cache"), "--workers", "0", "--save-predictions", "--no-progress",
                 "--bootstrap", "100"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "text:negation-words" in printed and "acc 100.00%" in printed
    files = sorted(out.glob("*.json"))
    assert len(files) == 4 and len(list(out.glob("*.predictions.parquet"))) == 4
    result = json.loads(files[0].read_text())
    for key in ("model", "dataset", "n", "metrics", "breakdowns", "versions", "seconds", "images_per_second"):
        assert key in result
    assert main(["report", str(out), "--output", str(tmp_path / "report")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "report" / "results.csv", encoding="utf-8")))
    assert {r["task"] for r in rows} == {"ccneg", "retrieval"} and len(rows) == 4
    board = (tmp_path / "report" / "leaderboard.md").read_text()
    assert "| 1 | text:negation-words" in board
    for png in ("accuracy_by_cue.png", "accuracy_by_relations.png", "margin_histogram.png"):
        assert (tmp_path / "report" / png).read_bytes()[:4] == b"\x89PNG"


def test_cli_errors_are_one_line(tmp_path, capsys):
    data = write_ccneg_folder(tmp_path / "ds", n=4)
    assert main(["--model", "nosuch:thing", "--dataset", str(data), "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "unknown model kind 'nosuch'" in err and "open_clip" in err and len(err.strip().splitlines()) == 1
    assert main(["--model", "text:negation-words", "--dataset", str(data), "--task", "ccneg-balanced",
                 "--output", str(tmp_path / "o"), "--workers", "0", "--no-progress"]) == 1
    assert "mine-distractors" in capsys.readouterr().err


def test_report_skips_foreign_files_and_needs_one_result(tmp_path, capsys):
    (tmp_path / "notes.json").write_text('{"hello": 1}')
    (tmp_path / "broken.json").write_text("{")
    assert main(["report", str(tmp_path), "--output", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "notes.json: skipped" in err and "broken.json: skipped" in err and "no result files" in err


def _one_line_error(err: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ccneg-bench report: error: --output"), err
    assert "Traceback" not in err and all(w in lines[0] for w in words), err


def test_report_output_errors_are_one_line(tmp_path, capsys):
    data = write_ccneg_folder(tmp_path / "ds", n=6)
    results = tmp_path / "results"
    assert main(["--model", "text:negation-words", "--dataset", str(data), "--output", str(results), "--workers", "0",
                 "--no-progress"]) == 0
    capsys.readouterr()

    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert main(["report", str(results), "--output", str(a_file)]) == 2  # a usage error, as for ccneg-bench --output
    _one_line_error(capsys.readouterr().err, "exists and is not a folder")
    assert a_file.read_text() == "mine"
    assert main(["report", str(results), "--output", str(a_file / "report")]) == 2
    _one_line_error(capsys.readouterr().err, "a folder on its path is a file")

    assert main(["report", str(results), "--output", "/sys/ccneg-report"]) == 1  # read-only for every user
    _one_line_error(capsys.readouterr().err, "cannot write")

    taken = tmp_path / "taken"
    (taken / "leaderboard.md").mkdir(parents=True)  # a file the report must write is a folder
    assert main(["report", str(results), "--output", str(taken)]) == 1
    _one_line_error(capsys.readouterr().err, "cannot write", "leaderboard.md", "Is a directory")
    assert not list(taken.glob(".*tmp*")), "no temporary file is left behind"


def test_report_skips_malformed_result_files_and_reports_the_rest(tmp_path, capsys):
    data = write_ccneg_folder(tmp_path / "ds", n=8)
    results = tmp_path / "results"
    assert main(["--model", "text:negation-words", "--dataset", str(data), "--task", "ccneg", "--task", "retrieval",
                 "--output", str(results), "--workers", "0", "--no-progress", "--save-predictions"]) == 0
    good = json.loads(next(results.glob("*_ccneg.json")).read_text())
    bad = {
        "metrics_list.json": {**good, "metrics": [0.5]},
        "metrics_missing.json": {k: v for k, v in good.items() if k != "metrics"},
        "accuracy_text.json": {**good, "metrics": {**good["metrics"], "accuracy": "high"}},
        "interval_short.json": {**good, "intervals": {"accuracy": [0.1]}},
        "model_missing.json": {k: v for k, v in good.items() if k != "model"},
        "task_number.json": {**good, "task": 3},
        "breakdown_cell.json": {**good, "breakdowns": {"negation_cue": {"not": 0.5}}},
        "n_text.json": {**good, "n": "eight"},
    }
    for name, content in bad.items():
        (results / name).write_text(json.dumps(content))
    (results / "truncated.json").write_text(json.dumps(good)[:40])
    (results / "a_list.json").write_text("[1, 2]")
    (results / "latin1.json").write_bytes(json.dumps({"task": "caf\u00e9"}).encode("utf-8").replace(b"\\u00e9", b"\xe9"))
    capsys.readouterr()

    assert main(["report", str(results), "--output", str(tmp_path / "report"), "--html"]) == 0
    captured = capsys.readouterr()
    warnings = captured.err.strip().splitlines()
    skipped = [*bad, "truncated.json", "a_list.json", "latin1.json"]
    assert len(warnings) == len(skipped), captured.err
    for name in skipped:
        line = next(w for w in warnings if f"{name}: skipped: " in w)
        assert line.startswith("warning: ")
    assert "'metrics' is a list" in captured.err and "'metrics.accuracy' is a string 'high', not a number" in captured.err
    assert "not valid JSON" in captured.err and "not UTF-8" in captured.err
    rows = list(csv.DictReader(open(tmp_path / "report" / "results.csv", encoding="utf-8")))
    assert sorted(r["task"] for r in rows) == ["ccneg", "retrieval"]
    assert (tmp_path / "report" / "report.html").is_file() and "page: " in captured.out


def _bench_process(*args: str, temp: Path) -> subprocess.CompletedProcess:
    """``ccneg-bench ARGS`` as a user types it (progress bars on), in a fresh process whose
    temporary folder is ``temp``."""
    temp.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(temp)}
    return subprocess.run([sys.executable, "-m", "ccneg_bench.cli", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=600)


def test_a_warm_rerun_never_builds_the_model(tiny_clip, tmp_path):
    """Every feature cached: the rerun gives the same results, truncated captions and ties
    included, without building the model. Building an open_clip model from a config JSON
    registers the config as a file in the process's temporary folder, so the warm process's
    empty temporary folder shows, beside its own words, that it built nothing."""
    config, weights = tiny_clip
    release = tmp_path / "release"
    release.mkdir()
    write_release(release, 30, long_every=10)  # 3 captions whose negation falls past the 77-token window
    registered = "ccneg_open_clip_configs"
    runs = {}
    for name in ("cold", "warm"):
        done = _bench_process("--model", f"open_clip:{config}", "--pretrained", str(weights), "--dataset", str(release),
                              "--output", str(tmp_path / name), "--cache-dir", str(tmp_path / "cache"),
                              "--save-predictions", temp=tmp_path / f"tmp-{name}")
        assert done.returncode == 0, done.stderr[-3000:]
        (result_file,) = (tmp_path / name).glob("*.json")
        result = json.loads(result_file.read_text())
        runs[name] = (done, result, pq.read_table(result["predictions"]).to_pydict())
    (cold, cold_result, cold_rows), (warm, warm_result, warm_rows) = runs["cold"], runs["warm"]
    assert f"open_clip:{config}: built" in cold.stdout and (tmp_path / "tmp-cold" / registered).is_dir()
    assert f"open_clip:{config}: not built: every feature came from the cache" in warm.stdout
    assert not (tmp_path / "tmp-warm" / registered).exists()
    assert warm_result["cache"]["images"]["images_decoded"] == 0 and warm_result["cache"]["texts"]["texts_encoded"] == 0
    assert cold_result["metrics"]["truncated"] == 3 and cold_result["metrics"]["ties"] == 3
    assert warm_result["metrics"] == cold_result["metrics"] and warm_rows == cold_rows
    for key in ("model_info", "dataset_info", "breakdowns", "device", "precision"):
        assert warm_result[key] == cold_result[key], key


def test_a_weights_file_on_a_gelu_architecture_gets_the_quick_gelu_warning(tiny_clip, tmp_path, capsys):
    """OpenAI-derived weights need QuickGELU; a weights file cannot say so, so the command warns
    on an architecture that has a -quickgelu variant, and names it. Its variant, random weights
    and a config JSON (which states its activation itself) get no warning."""
    config, weights = tiny_clip
    gelu, quick = register_named_tiny_configs(tmp_path / "configs")
    data = write_ccneg_folder(tmp_path / "ds", n=4)

    def warnings(arch: str, pretrained: str) -> list[str]:
        code = main(["--model", f"open_clip:{arch}", "--pretrained", pretrained, "--dataset", str(data),
                     "--output", str(tmp_path / "out"), "--workers", "0", "--bootstrap", "0"])
        assert code == 0
        return [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]

    (line,) = warnings(gelu, str(weights))
    assert f"open_clip:{gelu} runs GELU" in line and "QuickGELU" in line and f"--model open_clip:{quick}" in line
    assert warnings(quick, str(weights)) == []
    assert warnings(gelu, "none") == []
    assert warnings(str(config), str(weights)) == []
