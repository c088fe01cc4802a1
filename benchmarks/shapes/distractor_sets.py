"""Distractor sets of the shapes world, and what the world's own labels say about them.

The miniature reproduction compares models on several sets of distractor images for the same
samples: mined (``ccneg-train mine-distractors``), mined and checked (``--verify-absence``), and
drawn by the world's labels (a random eval-pool image that shows the subject and not the
negated object, chosen without any model). Each set is a *view*: a dataset folder whose
``data/`` is the world's (a symlink) and whose ``distractors/`` is the set's own, so the miner,
the trainer, ccneg-bench and :func:`benchmarks.shapes.audit.require_held_out` read it like any
dataset.

A distractor is *right* when the negated caption is true of it: it shows the subject and not
the negated object (:func:`is_right`, from the ``labels`` column). The labels are never shown
to a model or to the verifier; they only grade.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ccneg_core.layout import ASSIGNMENTS_FILE, DATA_DIR, DISTRACTOR_DIR, MANIFEST, POOL_IMAGES_FILE
from ccneg_core.writer import atomic_output

SIDES = ("train", "eval")


def make_view(world: Path, folder: Path) -> Path:
    """A dataset folder sharing ``world``'s data (and the manifest that lists it, which every
    reader checks), with room for its own ``distractors/``."""
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / DATA_DIR
    if not link.exists():
        link.symlink_to((Path(world) / DATA_DIR).resolve(), target_is_directory=True)
    if not (folder / MANIFEST).exists():
        shutil.copyfile(Path(world) / MANIFEST, folder / MANIFEST)
    return folder


def _rows(world: Path, split: str, columns: list[str]) -> list[dict[str, Any]]:
    return pq.read_table(Path(world) / DATA_DIR / f"{split}-00000-of-00001.parquet", columns=columns).to_pylist()


def is_right(sample: dict[str, Any], image_labels: list[str]) -> bool:
    """Does the image make the sample's negated caption true? (It shows the subject, not the object.)"""
    return sample["subject"] in image_labels and sample["negated_object"] not in image_labels


def write_label_distractors(world: Path, view: Path, seed: int) -> Path:
    """Give every eval sample one distractor drawn by the labels alone: a seeded random
    ``eval_pool`` image that :func:`is_right` accepts (the miner's files' format)."""
    from ccneg_bench.mining import ASSIGNMENT_SCHEMA, POOL_IMAGE_SCHEMA

    pool = _rows(world, "eval_pool", ["id", "labels", "image"])
    assignments, used = [], {}
    for sample in _rows(world, "eval", ["id", "subject", "negated_object"]):
        right = [p for p in pool if is_right(sample, p["labels"])]
        pick = random.Random(f"label-distractor-{seed}-{sample['id']}").choice(right) if right else None
        assignments.append({"id": sample["id"], "distractor_ids": [pick["id"]] if pick else [],
                            "distractor_scores": None, "object_scores": None})
        if pick:
            used[pick["id"]] = pick["image"]
    out = Path(view) / DISTRACTOR_DIR
    out.mkdir(parents=True, exist_ok=True)
    for table, name in ((pa.Table.from_pylist(assignments, schema=ASSIGNMENT_SCHEMA), ASSIGNMENTS_FILE),
                        (pa.Table.from_pylist([{"image_id": i, "image": im} for i, im in used.items()],
                                              schema=POOL_IMAGE_SCHEMA), POOL_IMAGES_FILE)):
        with atomic_output(out / name) as tmp:
            pq.write_table(table, tmp)
    return view


def _labels_and_sides(world: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    rows, side = {}, {}
    for split in ("train_pool", "eval_pool", "train", "eval"):
        for r in _rows(world, split, ["id", "subject", "negated_object", "labels"]):
            rows[r["id"]] = r
            side[r["id"]] = split
    return rows, side


def label_precision(world: Path, view: Path) -> dict[str, dict[str, float]]:
    """Per side that the view assigns: the share of first distractors, and of all distractors,
    that the labels call right, and the share of samples that have a distractor at all."""
    rows, side_of = _labels_and_sides(world)
    samples = {s: sum(1 for v in side_of.values() if v == s) for s in SIDES}
    counts = {s: {"rows": 0, "first": 0, "first_n": 0, "all": 0, "all_n": 0} for s in SIDES}
    for a in pq.read_table(Path(view) / DISTRACTOR_DIR / ASSIGNMENTS_FILE, columns=["id", "distractor_ids"]).to_pylist():
        side, picks = side_of.get(a["id"]), [d for d in a["distractor_ids"] or [] if d in rows]
        if side not in counts:
            continue
        c = counts[side]
        c["rows"] += 1
        if not picks:
            continue
        verdicts = [is_right(rows[a["id"]], rows[d]["labels"]) for d in picks]
        c["first"] += verdicts[0]
        c["first_n"] += 1
        c["all"] += sum(verdicts)
        c["all_n"] += len(verdicts)
    return {s: {"first": c["first"] / max(c["first_n"], 1), "all": c["all"] / max(c["all_n"], 1),
                "with_distractor": c["first_n"] / max(samples[s], 1), "n": c["first_n"]}
            for s, c in counts.items() if c["rows"]}


def verifier_quality(world: Path, view: Path) -> dict[str, Any]:
    """How the ``--verify-absence`` verdicts compare with the labels, over every candidate the
    verifier scored: of the candidates whose object the labels say is there, the share it dropped
    (``object_present``); of those asked about the subject whose subject the labels say is
    missing, the share it dropped (``subject_absent``), and of those whose subject is there, the
    share it dropped all the same."""
    rows, _ = _labels_and_sides(world)
    folder = Path(view) / DISTRACTOR_DIR
    kept = [(a["id"], d) for a in pq.read_table(folder / ASSIGNMENTS_FILE).to_pylist() for d in a["distractor_ids"] or []]
    dropped = pq.read_table(folder / "dropped.parquet").to_pylist()
    by_reason = {r: [(d["id"], d["candidate_id"]) for d in dropped if d["reason"] == r]
                 for r in ("object_present", "subject_absent")}
    has = lambda pair, key: rows[pair[0]][key] in rows[pair[1]]["labels"]  # noqa: E731

    def share(dropped_pairs: list, other_pairs: list, wanted: Any) -> dict[str, float]:
        hit = [p for p in dropped_pairs if wanted(p)]
        miss = [p for p in other_pairs if wanted(p)]
        return {"n": len(hit) + len(miss), "dropped": len(hit) / max(len(hit) + len(miss), 1)}

    asked_object_kept = kept + by_reason["subject_absent"]
    return {
        "kept": len(kept), "dropped": {r: len(v) for r, v in by_reason.items()},
        "object_there": share(by_reason["object_present"], asked_object_kept, lambda p: has(p, "negated_object")),
        "subject_missing": share(by_reason["subject_absent"], kept, lambda p: not has(p, "subject")),
        "subject_there": share(by_reason["subject_absent"], kept, lambda p: has(p, "subject")),
    }


def miner_agreement(model_spec: str, view: Path, k: int) -> dict[str, float]:
    """Scores of the shortcut "agree with the miner" on the view's eval distractors.

    The rule: the negated caption fits an image exactly when the miner (``model_spec``, the
    mining score ``sim(image, exclusion) - sim(image, object)``) would have assigned that image
    to the sample, i.e. it scores at least the sample's ``k``-th best ``eval_pool`` image; else
    the caption fits. It never looks for the object. Returns ``ccneg`` (true image side) and
    ``ccneg-balanced`` with its distractor side, on the samples that have a distractor.
    """
    from ccneg_bench.features import encode_image_table
    from ccneg_bench.mining import open_pool, query_vectors
    from ccneg_bench.models.registry import load_model

    adapter = load_model(model_spec, pretrained=None, device="cpu")
    samples = _rows(view, "eval", ["id", "exclusion_caption", "negated_object"])
    pool, own = open_pool(str(view), "eval_pool"), open_pool(str(view), "eval")
    pool_features = encode_image_table(adapter, pool.table, workers=0, progress=False).features
    own_features = encode_image_table(adapter, own.table, workers=0, progress=False).features
    queries = query_vectors(adapter, [s["exclusion_caption"] for s in samples], [s["negated_object"] for s in samples],
                            None)
    scores = queries @ pool_features.T
    kth = -np.sort(-scores, axis=1)[:, min(k, scores.shape[1]) - 1]
    own_scores = np.einsum("ij,ij->i", queries, own_features)
    true_side = own_scores < kth  # the own image would not be mined: the caption fits
    row_of = {pid: r for r, pid in enumerate(pool.table.ids)}
    first = {a["id"]: (a["distractor_ids"] or [None])[0]
             for a in pq.read_table(Path(view) / DISTRACTOR_DIR / ASSIGNMENTS_FILE).to_pylist()}
    picked = [(i, row_of[first[s["id"]]]) for i, s in enumerate(samples) if first.get(s["id"]) in row_of]
    distractor_side = np.array([scores[i, r] >= kth[i] for i, r in picked], dtype=float)
    both = np.array([true_side[i] for i, _ in picked], dtype=float)
    return {"ccneg": float(true_side.mean()),
            "ccneg-balanced": float(((both + distractor_side) / 2).mean()) if picked else float("nan"),
            "distractor side": float(distractor_side.mean()) if picked else float("nan")}
