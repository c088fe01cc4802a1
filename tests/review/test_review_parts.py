"""The parts of the review command without a browser: sample, highlight, precision, errors."""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ccneg_build.publication import record_files
from ccneg_core.record import RECORD_SCHEMA, REJECT_SCHEMA
from ccneg_build.review import command
from ccneg_core.highlight import inserted_segments
from ccneg_build.review.precision import tally
from ccneg_core.intervals import wilson_interval
from ccneg_build.review.sample import sample_rows
from tests.helpers.data import make_rows

# ----------------------------------------------------------------------------- Wilson interval


def _wilson_by_bisection(ok: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Independent restatement: the Wilson interval is every p whose score test does not reject,
    |ok/n - p| <= z * sqrt(p (1 - p) / n); find its two ends by bisection."""
    phat = ok / n

    def inside(p: float) -> bool:
        return abs(phat - p) <= z * math.sqrt(p * (1 - p) / n)

    def edge(outside: float, inner: float) -> float:
        for _ in range(200):
            middle = (outside + inner) / 2
            if inside(middle):
                inner = middle
            else:
                outside = middle
        return (outside + inner) / 2

    return (0.0 if inside(0.0) else edge(0.0, phat)), (1.0 if inside(1.0) else edge(1.0, phat))


@pytest.mark.parametrize("ok,n", [(0, 1), (1, 1), (0, 7), (7, 7), (3, 10), (49, 50), (1, 50), (500, 1000),
                                  (999, 1000)])
def test_wilson_interval_matches_the_score_test(ok, n):
    low, high = wilson_interval(ok, n)
    ref_low, ref_high = _wilson_by_bisection(ok, n)
    assert low == pytest.approx(ref_low, abs=1e-9) and high == pytest.approx(ref_high, abs=1e-9)
    assert 0.0 <= low <= ok / n <= high <= 1.0


def test_wilson_interval_of_nothing_is_none():
    assert wilson_interval(0, 0) is None


# ----------------------------------------------------------------------------- tally


def test_tally_groups_counts_and_keeps_bad_entries():
    accepted = {
        "a": {"negation_type": "relation", "negation_cue": "not", "generator": {"backend": "rule", "model": "m"}},
        "b": {"negation_type": "without", "negation_cue": "without", "generator": {"backend": "rule", "model": "m"}},
        "c": {"negation_type": "relation", "negation_cue": "not",
              "generator": {"backend": "openai", "model": "g", "fallback_from": None}},
    }
    rejected = {"r": {"reason": "object_not_visible"}}
    judgments = {"a": "ok", "b": "bad", "c": "ok", "r": "ok", "s": "skip", "zz": "ok", "d": "maybe", "e": 3}
    report = tally(judgments, accepted, rejected)
    assert (report.overall.ok, report.overall.judged) == (2, 3)
    assert {k: (t.ok, t.judged) for k, t in report.groups["negation_type"].items()} == {"relation": (2, 2),
                                                                                      "without": (0, 1)}
    assert {k: (t.ok, t.judged) for k, t in report.groups["generator"].items()} == {"rule/m": (1, 2),
                                                                                  "openai/g": (1, 1)}
    assert {k: (t.ok, t.judged) for k, t in report.rejected.items()} == {"object_not_visible": (1, 1)}
    assert report.skipped == 1
    assert sorted((p["id"], p["reason"]) for p in report.problems) == [("d", "bad_value"), ("e", "bad_value"),
                                                                        ("zz", "unknown_id")]
    data = report.as_dict()
    assert data["precision"]["ci95"] == pytest.approx(list(_wilson_by_bisection(2, 3)), abs=1e-9)


# ----------------------------------------------------------------------------- highlight


@pytest.mark.parametrize("caption,negated,marked", [
    ("a flag on a dome", "a flag, not on a dome", ["not"]),
    ("a person on skis makes her way through the snow", "a person on skis does not make her way through the snow",
     ["does not make"]),
    ("aerial view of a meteor over the clouds", "aerial view of a meteor with no clouds", ["with no"]),
    ("A dog", "A dog", []),
    ("", "no caption at all", ["no caption at all"]),
])
def test_inserted_words_are_marked(caption, negated, marked):
    segments = inserted_segments(caption, negated)
    assert "".join(text for text, _ in segments) == negated
    assert [text for text, inserted in segments if inserted] == marked


# ----------------------------------------------------------------------------- sample


def _write(out: Path, rows: list[dict], split: str, schema: pa.Schema = RECORD_SCHEMA, files: int = 1) -> None:
    (out / "data").mkdir(parents=True, exist_ok=True)
    per = -(-len(rows) // files)
    for i in range(files):
        pq.write_table(pa.Table.from_pylist(rows[i * per:(i + 1) * per], schema=schema),
                       out / "data" / f"{split}-{i:05d}-of-{files:05d}.parquet", row_group_size=7)
    record_files(out, [f"data/{split}-{i:05d}-of-{files:05d}.parquet" for i in range(files)])


def test_sample_is_seeded_stable_and_independent_of_file_layout(tmp_path):
    rows = make_rows(60, split="train")
    _write(tmp_path / "one", rows, "train")
    _write(tmp_path / "three", rows, "train", files=3)
    first = [r["id"] for r in sample_rows(tmp_path / "one", "train", 20, seed=3)]
    assert first == [r["id"] for r in sample_rows(tmp_path / "three", "train", 20, seed=3)]
    assert [r["id"] for r in sample_rows(tmp_path / "one", "train", 30, seed=3)][:20] == first  # extends
    assert first != [r["id"] for r in sample_rows(tmp_path / "one", "train", 20, seed=4)]
    assert len(sample_rows(tmp_path / "one", "accepted", 500)) == 60


def test_folders_without_the_visual_columns_still_read(tmp_path):
    old_schema = pa.schema([f for f in RECORD_SCHEMA if not f.name.startswith("visual_")])
    rows = make_rows(5, split="eval")
    _write(tmp_path, rows, "eval", schema=old_schema)
    sampled = sample_rows(tmp_path, "eval", 5)
    assert len(sampled) == 5 and all("visual_score" not in r for r in sampled)
    assert command.main([str(tmp_path), "--split", "eval", "--no-progress"]) == 0


class _Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.classes: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.classes += [v for k, v in attrs if k == "class" and v]


def test_rejected_page_shows_reason_and_detail(tmp_path, capsys):
    (tmp_path / "rejected").mkdir(parents=True)
    (tmp_path / "data").mkdir()
    rejects = [{"id": f"r{i}", "source": "s", "source_row": i, "url": None, "caption": f"caption {i}",
                "reason": "object_not_visible", "detail": f"visual score 0.0{i} < 0.1", "stage": "visual",
                "raw_response": None, "negated_caption": f"no caption {i}", "exclusion_caption": "caption",
                "generator": None} for i in range(4)]
    pq.write_table(pa.Table.from_pylist(rejects, schema=REJECT_SCHEMA), tmp_path / "rejected" / "rejected-00000-of-00001.parquet")
    record_files(tmp_path, ["rejected/rejected-00000-of-00001.parquet"])
    target = tmp_path / "page.html"
    assert command.main([str(tmp_path), "--split", "rejected", "--html", str(target), "--no-progress"]) == 0
    text = target.read_text(encoding="utf-8")
    parser = _Rows()
    parser.feed(text)
    assert parser.classes.count("row") == 4
    assert text.count("object_not_visible") == 4 and "visual score 0.03 &lt; 0.1" in text
    assert "http://" not in text.replace("http://www.w3.org", "") and "https://" not in text


def test_errors_are_one_line_with_exit_2(tmp_path, capsys):
    assert command.main([str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err
    _write(tmp_path / "ds", make_rows(3, split="train"), "train")
    assert command.main([str(tmp_path / "ds"), "--split", "eval"]) == 2
    assert "splits present: train" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    assert command.main([str(tmp_path / "ds"), "--judgments", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "expected a JSON object" in err and err.count("\n") == 1
    bad.write_text("{not json")
    assert command.main([str(tmp_path / "ds"), "--judgments", str(bad)]) == 2
    assert "not JSON" in capsys.readouterr().err
    assert command.main([str(tmp_path / "ds"), "--judgments", str(tmp_path / "missing.json")]) == 2


def test_judgments_with_unknown_ids_are_counted_not_fatal(tmp_path, capsys):
    rows = make_rows(4, split="train")
    _write(tmp_path, rows, "train")
    judgments = tmp_path / "mine.judgments.json"
    judgments.write_text(json.dumps({rows[0]["id"]: "ok", rows[1]["id"]: "bad", "feedfacefeedface": "ok"}))
    assert command.main([str(tmp_path), "--judgments", str(judgments)]) == 0
    out = capsys.readouterr().out
    assert "1/2" in out and "unknown_id" in out
    kept = json.loads((tmp_path / "review" / "precision-mine.json").read_text())
    assert kept["not_counted"] == [{"id": "feedfacefeedface", "reason": "unknown_id",
                                    "detail": "no row of this folder has this id (a page of another dataset?)"}]
