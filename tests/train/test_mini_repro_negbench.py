"""The miniature reproduction's NegBench column (smallest variant), run as a user runs it.

Shapes world split by composition -> ``ccneg-build --style negbench`` on the train and on the
held-out split -> pretraining -> every recipe fine-tuned -> ccneg, ccneg-balanced, MCQ with
shuffled options (by template) and zero-shot, next to the text-only rule. Checked here on the
files the run wrote: the held-out MCQ questions come only from held-out scenes, their options
are shuffled, and the text rule's shortcut shows where it works and where it cannot.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from tests.train.conftest import REPO, child_env

ROWS = ("text only: no negation word wins", "CLIP (pretrained, not fine-tuned)", "CLIP fine-tuned (plain loss, text)",
        "NegCLIP-style (text)", "CoN-CLIP (text)", "NegBench CLIP+MCQ (all)", "NegBench CLIP+MCQ (text)")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mini-negbench")
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "mini_repro_negbench.py"), "--fast", "--threads", "1", "--out", str(out)],
        capture_output=True, text=True, env=child_env(), cwd=REPO, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out, proc.stdout, json.loads((out / "results.json").read_text())


def _captions(folder, pattern):
    return {r["caption"] for p in folder.glob(pattern) for r in pq.read_table(p, columns=["caption"]).to_pylist()}


@pytest.mark.slow
def test_negbench_questions_come_only_from_held_out_scenes(run):
    out, stdout, results = run
    assert all(v == 0 for k, v in results["held_out"].items() if k != "eval_rows"), results["held_out"]
    world = out / "world" / "data"
    held_out = _captions(world, "eval-*.parquet")
    training = _captions(world, "pretrain-*.parquet") | _captions(world, "train-*.parquet")
    asked = _captions(out / "negbench-eval" / "data", "*.parquet")
    trained_on = _captions(out / "negbench-train" / "data", "*.parquet")
    assert asked and asked <= held_out and not asked & training
    assert trained_on and trained_on <= training and not trained_on & held_out
    for p in (out / "negbench-eval" / "data").glob("*.parquet"):
        for r in pq.read_table(p, columns=["labels", "absent_object"]).to_pylist():
            assert r["absent_object"] not in r["labels"], r  # the "absent" object really is absent


@pytest.mark.slow
def test_options_are_shuffled_and_every_template_is_asked(run):
    out, _, results = run
    with open(out / "negbench-eval" / "negbench" / "mcq_train.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == results["negbench_mcq_eval_rows"] > 0
    assert len({r["correct_answer"] for r in rows}) > 1  # the right answer is not always first
    assert {r["correct_answer_template"] for r in rows} == {"positive", "negative", "hybrid"}


@pytest.mark.slow
def test_table_has_every_recipe_and_shows_the_text_shortcut(run):
    _, stdout, results = run
    table = results["table"]
    assert list(table) == list(ROWS)
    for name in ROWS:
        assert f"| {name} |" in stdout
    text = table[ROWS[0]]
    # the one-sided ccneg task lets the text rule pass; ccneg-balanced and the MCQ do not
    assert text["ccneg"] >= 0.99 and text["ccneg-balanced"] == pytest.approx(0.5, abs=0.05), text
    assert text["MCQ negative"] == 0.0 and text["MCQ"] < 0.35, text
    assert text["zero-shot acc1"] is None
    for name in ROWS[1:]:
        row = table[name]
        assert all(row[c] is not None for c in row), (name, row)
    # the pretrained model classifies the 15 objects well above chance (1/15)
    assert table[ROWS[1]]["zero-shot acc1"] >= 0.2, table[ROWS[1]]
