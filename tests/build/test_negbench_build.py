"""``ccneg-build --style negbench``: real builds, read back by NegBench's own reading (restated) and by ccneg-bench."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.build import negbench_reference as negbench

REPO = Path(__file__).resolve().parents[2]


def _records(out: Path, split: str) -> list[dict]:
    files = sorted((out / "data").glob(f"{split}-*.parquet"))
    return pa.concat_tables([pq.read_table(p) for p in files]).to_pylist() if files else []


def _rejected(out: Path) -> list[dict]:
    return pa.concat_tables([pq.read_table(p) for p in sorted((out / "rejected").glob("*.parquet"))]).to_pylist()


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def _bench(*args: str) -> subprocess.CompletedProcess:
    script = "import sys; from ccneg_bench.cli import main; sys.exit(main())"
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=env,
                          cwd=str(REPO), timeout=600)


def _check_csvs_match_records(out: Path, split: str) -> list[dict]:
    """The CSVs hold exactly the split's records, in order, in NegBench's layout; returns the records."""
    records = _records(out, split)
    mcq_path, retrieval_path = out / "negbench" / f"mcq_{split}.csv", out / "negbench" / f"retrieval_{split}.csv"
    assert negbench.header(str(mcq_path)) == negbench.NEGBENCH_MCQ_COLUMNS
    assert negbench.header(str(retrieval_path)) == ["filepath", "captions"]
    mcq, retrieval = negbench.read_mcq(str(mcq_path)), negbench.read_retrieval(str(retrieval_path))
    assert len(mcq) == len(retrieval) == len(records) > 0
    for record, question, query in zip(records, mcq, retrieval):
        assert question["captions"] == record["mcq_options"]
        assert question["correct_answer"] == record["correct_answer"]
        assert question["correct_answer_template"] == record["correct_answer_template"] \
            == record["mcq_templates"][record["correct_answer"]]
        assert question["correct_answer_template"] in ("positive", "negative", "hybrid")
        assert query["captions"] == record["retrieval_captions"] and query["filepath"] == question["image_path"]
    return records


def test_embedded_sample_as_a_user_types_it(build, tmp_path):
    out = tmp_path / "nb"
    code, stdout, stderr = build("--style", "negbench", "--out", out)
    assert code == 0, stderr
    assert "negbench/" in stdout and "no_present_object" in stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["style"] == "negbench" and manifest["settings"]["style"] == "negbench"
    assert manifest["negbench"]["cooccurrence"]["rows"] == 300
    # the CSVs keep NegBench's fixed names, so they are listed in the negbench facts (with their
    # sha256), not among the publication's files, whose names carry the publication id
    listed = {f["path"]: f for f in manifest["negbench"]["csv_files"]}
    written = set(json.loads((out / ".ccneg" / "written.json").read_text())["files"])
    for split in ("train", "eval"):
        assert {f"negbench/mcq_{split}.csv", f"negbench/retrieval_{split}.csv"} <= set(listed) & written
    for name, entry in listed.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == entry["sha256"]
    train = _check_csvs_match_records(out, "train")
    evaluation = _check_csvs_match_records(out, "eval")
    rows = train + evaluation
    assert len(rows) == manifest["counts"]["accepted"] >= 200

    # the right answer is spread over the four positions, every option's template is kept
    positions = Counter(r["correct_answer"] for r in rows)
    assert set(positions) == {0, 1, 2, 3} and min(positions.values()) >= len(rows) // 8
    for row in rows:
        assert sorted(row["mcq_templates"]) in (sorted(["positive", "hybrid", "positive", "negative"]),
                                                sorted(["negative", "hybrid", "positive", "negative"]),
                                                sorted(["hybrid", "hybrid", "positive", "negative"]))
        # the absent object is never in the caption nor among the present objects
        assert not (_words(row["absent_object"]) & _words(row["caption"]))
        assert row["absent_object"] not in {o["name"] for o in row["present_objects"]}
        assert row["absent_source"] == "cooccurrence" and row["absent_object"] in row["absent_objects"]
        assert all(row["absent_object"] in option.lower() for option, kind in zip(row["mcq_options"], row["mcq_templates"])
                   if kind == "hybrid")
    # rows without an object the lexicon knows are rejected with a reason, stage "objects"
    rejected = _rejected(out)
    assert rejected and {r["reason"] for r in rejected} <= {"no_present_object"}
    assert all(r["stage"] == "objects" and r["detail"] for r in rejected)
    card = (out / "README.md").read_text()
    assert "negbench/mcq_{split}.csv" in card and "NegBench" in card
    from datasets import load_dataset

    loaded = load_dataset(str(out))  # the card's configurations load (one file format per folder)
    assert loaded["train"].num_rows == len(train) and loaded["train"][0]["mcq_options"] == train[0]["mcq_options"]

    # ccneg-bench reads both files: every row scored, none failed
    for name in ("mcq_eval.csv", "retrieval_eval.csv"):
        done = _bench("--model", "text:negation-words", "--dataset", f"negbench:{out / 'negbench' / name}",
                      "--output", str(tmp_path / "results"))
        assert done.returncode == 0, done.stderr
        assert "not scored" not in done.stderr
    results = [json.loads(p.read_text()) for p in (tmp_path / "results").glob("*.json")]
    assert {r["task"] for r in results} == {"mcq", "retrieval"}
    assert all(r["n"] == len(evaluation) for r in results), [(r["task"], r["n"]) for r in results]


def test_image_labels_input(build, tmp_path):
    """A CC3M Image Labels TSV: labels are present objects (source "labels") and never absent."""
    path = tmp_path / "labels.tsv"
    lines = [
        ("a puppy playing outside", "dog,grass,fun"),
        ("a man riding a horse on the beach", "horse,sand,sea,vacation"),
        ("a dog sitting on a couch in the living room", "dog,couch,room,furniture"),
        ("a woman next to a table in the dining area", "table,chair,furniture,interior design"),
        ("a cat sleeping on a bed", "cat,bed,bedroom"),
        ("children playing with a ball in the park", "child,ball,grass,tree"),
    ] * 3
    path.write_text("".join(f"{c}\thttp://example.com/{i}.jpg\t{labels}\t/m/0\t0.9\n"
                            for i, (c, labels) in enumerate(lines)), encoding="utf-8")
    out = tmp_path / "nb"
    code, _stdout, stderr = build(path, "--style", "negbench", "--out", out, "--eval-size", "0")
    assert code == 0, stderr
    rows = _check_csvs_match_records(out, "train")
    assert len(rows) == len(lines)
    from_labels = [o for r in rows for o in r["present_objects"] if o["source"] == "labels"]
    assert {o["name"] for o in from_labels} >= {"grass", "sand", "chair"}
    assert "fun" not in {o["name"] for o in from_labels}  # a label the lexicon does not know is not affirmed
    for row in rows:
        assert row["labels"] and row["absent_object"] not in row["labels"]
        assert row["image_sha256"] is None and negbench.read_mcq  # text only: image_path is the URL
    mcq = negbench.read_mcq(str(out / "negbench" / "mcq_train.csv"))
    assert all(q["image_path"].startswith("http://example.com/") for q in mcq)


def _command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "ccneg_build.cli", "--style", "negbench", "--out", str(out), "--shard-size", "20",
            "--eval-size", "40", "--no-progress", *extra]


def _published(out: Path) -> dict[str, bytes]:
    files = [p for p in out.rglob("*") if p.is_file() and p.parts[len(out.parts)] in ("data", "rejected", "splits",
                                                                                       "negbench")]
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(files)}


def _markers(out: Path) -> int:
    parts = out / ".ccneg" / "parts"
    return len(list(parts.glob("*.done.json"))) if parts.exists() else 0


def test_kill_9_then_rerun_gives_identical_output(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    done = subprocess.run(_command(reference), env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    total = json.loads((reference / "manifest.json").read_text())["run"]["shards"]
    assert total == 15

    victim = subprocess.Popen(_command(resumed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    deadline = time.monotonic() + 300
    while _markers(resumed) < 3 and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=60)
    finished = _markers(resumed)
    assert victim.returncode == -signal.SIGKILL and 0 < finished < total, "the run was not interrupted in the middle"
    assert len(list((resumed / ".ccneg" / "negbench" / "counts").glob("*.json"))) == total  # the first pass is done

    again = subprocess.run(_command(resumed, "--workers", "2"), env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    manifest = json.loads((resumed / "manifest.json").read_text())
    assert manifest["run"]["mode"] == "resume" and manifest["run"]["shards_resumed"] >= finished
    assert manifest["negbench"]["cooccurrence"]["shards_resumed"] == total
    assert _published(resumed) == _published(reference)
    assert any(name.startswith("negbench/mcq_") for name in _published(reference))
    assert not list(resumed.rglob(".*.tmp-*"))


IMAGE_CAPTIONS = ["a woman next to a table in the dining area", "a dog sitting on a couch in the living room",
                  "a cat on a table", "a boat on the river", "a man riding a horse on the beach",
                  "a dog and a cat on a couch", "children playing with a ball in the park",
                  "a car parked next to a tree"]


def test_images_visual_check_and_a_tiny_clip_reading_the_csvs(build, tmp_path):
    from PIL import Image

    from tests.helpers.data import write_image_input
    from tests.helpers.tiny_models import save_tiny_checkpoint

    corpus = write_image_input(tmp_path / "captions.parquet", IMAGE_CAPTIONS, size=48)
    config, weights = save_tiny_checkpoint(tmp_path / "clip")
    out = tmp_path / "nb"
    common = [corpus, "--style", "negbench", "--images", "column", "--image-column", "image", "--out", out,
              "--verify-visual", f"open_clip:{config}", "--verify-visual-pretrained", weights,
              "--verify-visual-threshold", "0"]
    code, _stdout, stderr = build(*common, "--verify-visual-absent-threshold", "1", "--eval-size", "3")
    assert code == 0, stderr
    rows = _check_csvs_match_records(out, "train") + _check_csvs_match_records(out, "eval")
    assert len(rows) == len(IMAGE_CAPTIONS)
    for row in rows:  # what was verified, per row: each affirmed object, then the absent one
        checks = row["visual_checks"]
        assert [c["role"] for c in checks] == ["present"] * len(row["affirmed_objects"]) + ["absent"]
        assert [c["object"] for c in checks][-1] == row["absent_object"]
        assert all(c["passed"] and 0.0 <= c["score"] <= 1.0 for c in checks)
        assert row["visual_model"].startswith("open_clip:")
    # the CSVs name image files, relative to their folder, holding the rows' bytes
    for split in ("train", "eval"):
        for question in negbench.read_mcq(str(out / "negbench" / f"mcq_{split}.csv")):
            path = out / "negbench" / question["image_path"]
            Image.open(path).verify()
        done = _bench("--model", f"open_clip:{config}", "--pretrained", str(weights), "--dataset",
                      f"negbench:{out / 'negbench' / f'mcq_{split}.csv'}", "--output", str(tmp_path / "results"))
        assert done.returncode == 0, done.stderr
        assert "not scored" not in done.stderr
    by_id = {r["id"]: r for r in rows}
    assert all(path.read_bytes() == by_id[path.stem]["image"]["bytes"]
               for path in (out / "negbench" / "images").rglob("*.png"))

    # an absent threshold of 0: every absent object counts as seen, so no row is accepted: the run
    # fails in one line naming the reason and leaves nothing a reader could take for a dataset
    code, stdout, stderr = build(*common, "--verify-visual-absent-threshold", "0", "--eval-size", "0.2",
                                 "--overwrite")
    assert code == 2, stderr
    assert "no row was accepted" in stderr and "absent_object_visible" in stderr
    assert not (out / "manifest.json").exists()
    assert not list((out / "negbench").rglob("*.csv")) and not list((out / "negbench").rglob("*.png"))
