"""The miniature reproduction (fast variant) as evidence: held out by construction, shortcut shown.

Runs ``benchmarks/mini_repro.py --fast`` as a user would: shapes world split by composition ->
pretraining with the plain loss -> distractor mining from two disjoint pools, as mined and with
``--verify-absence`` -> fine-tunings (plain, NegCLIP-style, CoN-CLIP on each set) -> ccneg-bench's
tasks on the held-out split, next to the text-only rule and the "agree with the miner" rule, on
mined, verified and label-drawn eval distractors. The held-out properties, the label-drawn
distractors and the mining precision are checked again here on the files the run wrote,
independently of the script's own code.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from tests.train.conftest import REPO, child_env
from tests.train.test_shapes_world import TRAINING, read, sha, triples

ROWS = ("text only: no negation word wins", "agrees with the miner (no model)", "CLIP (pretrained)",
        "CLIP fine-tuned (plain loss)", "NegCLIP-style fine-tuned", "CoN-CLIP fine-tuned (mined distractors)",
        "CoN-CLIP fine-tuned (verified distractors)")
SETS = ("mined", "verified", "labels")


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    out = tmp_path_factory.mktemp("mini")
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "mini_repro.py"), "--fast", "--threads", "1", "--out", str(out)],
        capture_output=True, text=True, env=child_env(), cwd=REPO, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out, proc.stdout, json.loads((out / "results.json").read_text())


def _assignments(out, name: str) -> list[dict]:
    return pq.read_table(out / "sets" / name / "distractors" / "assignments.parquet").to_pylist()


def _right(sample: dict, image: dict) -> bool:
    """The negated caption is true of the image: it shows the subject and not the negated object."""
    return sample["subject"] in image["labels"] and sample["negated_object"] not in image["labels"]


@pytest.mark.slow
def test_eval_material_never_reaches_training(mini):
    out, stdout, results = mini
    world = out / "world"
    training = [r for split in TRAINING for r in read(world, split)]
    evals = read(world, "eval")
    assert not triples(evals) & triples(training)
    texts = {t for r in training for t in (r["caption"], r["negated_caption"]) if t}
    assert not {t for r in evals for t in (r["caption"], r["negated_caption"])} & texts
    train_pool, eval_pool = read(world, "train_pool"), read(world, "eval_pool")
    assert not sha(eval_pool) & sha(training)
    pool_ids = {"train": {r["id"] for r in train_pool}, "eval": {r["id"] for r in eval_pool}}
    sample_ids = {"train": {r["id"] for r in read(world, "train")}, "eval": {r["id"] for r in evals}}
    for name in SETS:
        assigned = {"train": set(), "eval": set()}
        for a in _assignments(out, name):
            side = next(s for s in ("train", "eval") if a["id"] in sample_ids[s])
            assigned[side].update(a["distractor_ids"])
        assert assigned["eval"] and assigned["eval"] <= pool_ids["eval"], name
        assert assigned["train"] <= pool_ids["train"] and (assigned["train"] or name == "labels"), name
        assert all(v == 0 for k, v in results["held_out_by_set"][name].items() if k != "eval_rows")
    assert "eval compositions seen in training 0" in stdout


@pytest.mark.slow
def test_table_shows_the_shortcut_and_what_each_loss_learns(mini):
    _, stdout, results = mini
    table = results["table"]
    assert list(table) == list(ROWS)
    for name in ROWS:
        assert f"| {name} |" in stdout
    text, plain, negclip, conclip = (table[n] for n in (ROWS[0], ROWS[3], ROWS[4], ROWS[5]))
    # the one-sided task lets a text rule pass; the balanced task does not, on any set of distractors
    assert text["ccneg"] >= 0.99, table
    assert all(text[f"balanced: {s}"] == pytest.approx(0.5, abs=0.05) for s in SETS), table
    assert conclip["ccneg"] >= plain["ccneg"] + 0.08, table
    assert conclip["balanced: mined"] >= plain["balanced: mined"] + 0.08, table
    assert conclip["ccneg"] >= 0.85, table
    assert conclip["balanced: mined"] >= text["balanced: mined"] + 0.25, table
    # hard negative captions alone do not teach the distractor side; CoN-CLIP's L2/L3 do
    assert conclip["balanced: mined"] >= negclip["balanced: mined"] + 0.08, table
    # plain image->text retrieval (gallery: every true and negated caption) must not get worse
    assert conclip["retrieval i2t R@1"] >= plain["retrieval i2t R@1"] - 0.03, table


@pytest.mark.slow
def test_label_column_is_one_that_agreeing_with_the_miner_cannot_pass(mini):
    out, stdout, results = mini
    world = out / "world"
    rows = {r["id"]: r for split in ("train", "eval", "train_pool", "eval_pool") for r in read(world, split)}
    evals = read(world, "eval")
    # the label-drawn distractors: one per eval sample, from the eval pool, each making the negated caption true
    drawn = {a["id"]: a["distractor_ids"] for a in _assignments(out, "labels")}
    assert set(drawn) == {r["id"] for r in evals}
    assert all(len(d) == 1 and rows[d[0]]["split"] == "eval_pool" and _right(rows[i], rows[d[0]])
               for i, d in drawn.items())
    # the mining precision the run reports is what the files say
    for name in ("mined", "verified"):
        for side in ("train", "eval"):
            firsts = [_right(rows[a["id"]], rows[a["distractor_ids"][0]]) for a in _assignments(out, name)
                      if rows[a["id"]]["split"] == side and a["distractor_ids"]]
            assert results["mining"]["precision"][name][side]["first"] == pytest.approx(sum(firsts) / len(firsts))
    # the verified set keeps only candidates its verifier judged right
    threshold = results["mining"]["verifier"]["settings"]["threshold"]
    for a in _assignments(out, "verified"):
        assert all(o < threshold for o in a["object_scores"]) and all(s >= threshold for s in a["subject_scores"])
    # agreeing with the miner passes on mined distractors and fails on label-drawn ones
    table = results["table"]
    miner, conclip = table[ROWS[1]], table[ROWS[5]]
    assert miner["balanced: mined"] >= 0.95 and miner["balanced: labels"] <= 0.65, table
    # CoN-CLIP trained on mined distractors looks better on them than on distractors the labels confirm
    assert conclip["balanced: labels"] <= conclip["balanced: mined"] - 0.05, table
    assert "balanced: labels" in stdout and "by the world's labels" in stdout
