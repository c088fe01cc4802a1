"""The shapes world keeps evaluation out of training, and its audit notices when it does not.

The held-out properties are recomputed here straight from the Parquet files (plain pyarrow,
hashlib and sets), not through ``benchmarks.shapes.audit``, so a mistake in the audit cannot hide a leak.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmarks.shapes.world import split_pairs, write_shapes_dataset
from benchmarks.shapes.audit import LEAK_KEYS, audit_held_out, require_held_out
from ccneg_core.record import RECORD_SCHEMA

MIRROR = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
TRAINING = ("pretrain", "train", "train_pool")


def read(folder: Path, split: str) -> list[dict]:
    return pq.read_table(folder / "data" / f"{split}-00000-of-00001.parquet").to_pylist()


def triples(rows: list[dict]) -> set[tuple[str, str, str]]:
    out = set()
    for r in rows:
        for rel in r["relations"]:
            out.add((r["subject"], rel["predicate"], rel["object"]))
            out.add((rel["object"], MIRROR[rel["predicate"]], r["subject"]))
    return out


def sha(rows: list[dict]) -> set[str]:
    return {hashlib.sha256(r["image"]["bytes"]).hexdigest() for r in rows}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    return write_shapes_dataset(tmp_path_factory.mktemp("world") / "w", 300, 120, seed=3, n_pretrain=300,
                                n_train_pool=200, n_eval_pool=200)


def test_eval_compositions_and_captions_never_appear_in_training(world):
    training = [r for split in TRAINING for r in read(world, split)]
    evals = read(world, "eval")
    assert len(evals) == 120 and all(len(r["relations"]) == 1 for r in evals)
    assert not triples(evals) & triples(training)
    pairs = lambda rows: {frozenset((r["subject"], rel["object"])) for r in rows for rel in r["relations"]}  # noqa: E731
    assert not pairs(evals) & pairs(training)
    texts = {t for r in training for t in (r["caption"], r["negated_caption"]) if t}
    assert not {r["caption"] for r in evals} & texts
    assert not {r["negated_caption"] for r in evals} & texts
    # the things themselves are all known from training: only their combinations are new
    things = lambda rows: {r["subject"] for r in rows} | {rel["object"] for r in rows for rel in r["relations"]}  # noqa: E731
    assert things(evals) <= things(read(world, "train"))


def test_the_two_distractor_pools_are_disjoint(world):
    train_pool, eval_pool = read(world, "train_pool"), read(world, "eval_pool")
    assert not {r["id"] for r in train_pool} & {r["id"] for r in eval_pool}
    training_images = sha([r for split in TRAINING for r in read(world, split)])
    assert not sha(eval_pool) & training_images
    assert not sha(read(world, "eval")) & training_images
    # both pools hold single things as well as pairs (candidates that lack the negated object)
    for pool in (train_pool, eval_pool):
        assert 0 < sum(not r["relations"] for r in pool) < len(pool)


def test_held_out_pairs_are_spread_over_the_things():
    for seed in range(5):
        train_pairs, eval_pairs = split_pairs(seed)
        assert len(eval_pairs) == 21 and len(train_pairs) == 84 and not set(train_pairs) & set(eval_pairs)
        degree = Counter(name for pair in eval_pairs for name in pair)
        assert max(degree.values()) <= 4
    assert split_pairs(0) == split_pairs(0) and split_pairs(0) != split_pairs(1)


def test_audit_reports_zero_on_the_world_and_catches_a_planted_leak(world, tmp_path):
    report = audit_held_out(world)
    assert report["eval_rows"] == 120
    assert all(report[key] == 0 for key in LEAK_KEYS if key in report)
    # plant one eval sample (image, caption, composition) in the training split of a copy
    leaky = tmp_path / "leaky"
    (leaky / "data").mkdir(parents=True)
    for split in ("pretrain", "train_pool", "eval", "eval_pool"):
        (leaky / "data" / f"{split}-00000-of-00001.parquet").write_bytes(
            (world / "data" / f"{split}-00000-of-00001.parquet").read_bytes())
    planted = read(world, "eval")[0]
    train = read(world, "train") + [dict(planted, split="train", id="planted")]
    pq.write_table(pa.Table.from_pylist(train, schema=RECORD_SCHEMA),
                   leaky / "data" / "train-00000-of-00001.parquet")
    leaks = audit_held_out(leaky)
    same_scene = sum(bool(triples([r]) & triples([planted])) for r in read(world, "eval"))  # mirrors included
    assert leaks["eval_compositions_in_training"] == same_scene >= 1
    assert leaks["eval_pairs_in_training"] >= same_scene
    assert leaks["eval_captions_in_training"] >= 1
    assert leaks["eval_images_in_training"] == 1
    with pytest.raises(ValueError, match="eval_compositions_in_training"):
        require_held_out(leaky)
