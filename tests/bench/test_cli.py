"""The command line end to end: several models, result files, report, clear errors."""

from __future__ import annotations

import csv
import json

from ccneg_bench.cli import main
from tests.helpers.data import write_ccneg_folder


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
