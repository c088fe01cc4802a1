"""Proof, from the written files, that the shapes world keeps evaluation out of training.

The miniature reproduction is evidence only if a score cannot come from having seen the
test: :func:`audit_held_out` reads a world written by
:func:`benchmarks.shapes.world.write_shapes_dataset` (and its mined distractors) and counts
every way eval material could have reached a model during training. The reproduction refuses
to run on a world whose counts are not all zero, and reports them with its results.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

import pyarrow.parquet as pq

from benchmarks.shapes.world import MIRROR, TRAINING_SPLITS, pair_of


def _read_splits(data_dir: Path, splits: Iterable[str], columns: list[str]) -> list[dict]:
    rows = []
    for split in splits:
        path = Path(data_dir) / "data" / f"{split}-00000-of-00001.parquet"
        if path.is_file():
            rows.extend(pq.read_table(path, columns=columns).to_pylist())
    return rows


def _compositions(row: dict) -> set[tuple[str, str, str]]:
    """The (subject, relation, object) triples a row shows, each with its mirror image."""
    out = set()
    for rel in row["relations"] or []:
        out.add((row["subject"], rel["predicate"], rel["object"]))
        out.add((rel["object"], MIRROR.get(rel["predicate"], rel["predicate"]), row["subject"]))
    return out


def audit_held_out(data_dir: Path) -> dict[str, int]:
    """Count every way evaluation material leaks into training (all zeros when sound).

    - ``eval_compositions_in_training``: eval rows whose (subject, relation, object), or its
      mirror, is shown by any training-side row;
    - ``eval_pairs_in_training``: eval rows whose pair of things appears together in training;
    - ``eval_captions_in_training``: eval rows whose caption or negated caption is, word for
      word, a caption or negated caption of a training-side row;
    - ``eval_images_in_training``: eval-side images byte-identical to a training-side image;
    - ``eval_distractors_outside_eval_pool`` / ``train_distractors_outside_train_pool``:
      mined distractors (``distractors/assignments.parquet``, when present) drawn from the
      wrong pool.
    """
    columns = ["id", "subject", "relations", "caption", "negated_caption", "image"]
    training = _read_splits(data_dir, TRAINING_SPLITS, columns)
    eval_rows = _read_splits(data_dir, ("eval",), columns)
    seen = set().union(*(_compositions(r) for r in training)) if training else set()
    seen_pairs = {pair_of(r["subject"], rel["object"]) for r in training for rel in r["relations"] or []}
    seen_texts = {t for r in training for t in (r["caption"], r["negated_caption"]) if t}
    digest = lambda r: hashlib.sha256(r["image"]["bytes"]).hexdigest()  # noqa: E731
    train_images = {digest(r) for r in training}
    eval_side = eval_rows + _read_splits(data_dir, ("eval_pool",), columns)
    report = {
        "eval_rows": len(eval_rows),
        "eval_compositions_in_training": sum(bool(_compositions(r) & seen) for r in eval_rows),
        "eval_pairs_in_training": sum(
            any(pair_of(r["subject"], rel["object"]) in seen_pairs for rel in r["relations"] or []) for r in eval_rows),
        "eval_captions_in_training": sum(
            r["caption"] in seen_texts or r["negated_caption"] in seen_texts for r in eval_rows),
        "eval_images_in_training": sum(digest(r) in train_images for r in eval_side),
    }
    assignments = Path(data_dir) / "distractors" / "assignments.parquet"
    if assignments.is_file():
        ids = {split: {r["id"] for r in _read_splits(data_dir, (split,), ["id"])}
               for split in ("train", "eval", "train_pool", "eval_pool")}
        wrong = {"eval": 0, "train": 0}
        for a in pq.read_table(assignments, columns=["id", "distractor_ids"]).to_pylist():
            for side in ("eval", "train"):
                if a["id"] in ids[side]:
                    wrong[side] += sum(d not in ids[f"{side}_pool"] for d in a["distractor_ids"] or [])
        report["eval_distractors_outside_eval_pool"] = wrong["eval"]
        report["train_distractors_outside_train_pool"] = wrong["train"]
    return report


#: the audit counts that must be zero
LEAK_KEYS = ("eval_compositions_in_training", "eval_pairs_in_training", "eval_captions_in_training",
             "eval_images_in_training", "eval_distractors_outside_eval_pool", "train_distractors_outside_train_pool")


def require_held_out(data_dir: Path) -> dict[str, int]:
    """:func:`audit_held_out`, raising ``ValueError`` (naming each leak) unless every count is zero."""
    report = audit_held_out(data_dir)
    leaks = {key: report[key] for key in LEAK_KEYS if report.get(key)}
    if leaks:
        raise ValueError(f"{data_dir}: evaluation material reaches training ({leaks}); the world is not held out")
    return report
