"""Small ccneg datasets with generated images, in the real record schema (shared test helper).

``write_ccneg_folder`` writes ``OUT/data/{split}-00000-of-00001.parquet`` as ccneg-build lays
a dataset out (listed in ``OUT/manifest.json``, which every reader checks), with PNG/JPEG images drawn here (coloured shapes on random
backgrounds), plus optionally the trainer miner's ``OUT/distractors/`` files.
``write_released_folder`` writes the released CC-Neg layout (``ccneg_preprocessed.pt`` and
``ccneg_images/cc3m_subset_images_extracted_final/<key>.jpg``).
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageDraw

from ccneg_build.publication import record_files
from ccneg_core.record import RECORD_SCHEMA, make_id

COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"]
RGB = {"red": (220, 30, 30), "green": (30, 180, 30), "blue": (30, 30, 220),
       "yellow": (230, 220, 40), "purple": (140, 40, 160), "orange": (240, 140, 20)}
OBJECTS = ["table", "dome", "snow", "tree", "car", "boat", "house", "cloud"]
PREDICATES = ["on", "next to", "under", "near", "behind"]
CUES = ["not", "without", "no"]
TYPES = {"not": "relation", "without": "without", "no": "absence"}


def draw_image(index: int, size: int = 40, fmt: str = "PNG") -> bytes:
    """A deterministic little picture: a coloured shape on a noisy background."""
    rng = random.Random(index)
    colour = COLOURS[index % len(COLOURS)]
    image = Image.new("RGB", (size, size), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    a, b = rng.randrange(size // 2), rng.randrange(size // 2)
    box = (a, b, a + size // 2, b + size // 2)
    (draw.ellipse if index % 2 else draw.rectangle)(box, fill=RGB[colour])
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def make_rows(n: int, split: str = "eval", source: str = "synthetic", seed: int = 0,
              duplicate_every: int = 0, fmt: str = "PNG") -> list[dict[str, Any]]:
    """``n`` records in :data:`RECORD_SCHEMA` order; every ``duplicate_every``-th negation equals
    its caption (an exact tie), to exercise tie handling."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        colour = COLOURS[i % len(COLOURS)]
        k = 1 + (i % 6)  # 1..6 relations, so the 5+ bucket is exercised
        relations = [{"object": OBJECTS[(i + j) % len(OBJECTS)], "predicate": PREDICATES[(i + j) % len(PREDICATES)]}
                     for j in range(k)]
        chosen = relations[rng.randrange(k)]
        cue = CUES[i % len(CUES)]
        caption = f"a {colour} shape {chosen['predicate']} a {chosen['object']} number {i}"
        if cue == "not":
            negated = f"a {colour} shape not {chosen['predicate']} a {chosen['object']} number {i}"
        elif cue == "without":
            negated = f"a {colour} shape without a {chosen['object']} number {i}"
        else:
            negated = f"a {colour} shape with no {chosen['object']} number {i}"
        if duplicate_every and i % duplicate_every == duplicate_every - 1:
            negated = caption
        data = draw_image(i + 1000 * seed, fmt=fmt)
        rows.append({
            "id": make_id(source, i, caption), "source": source, "source_row": i, "url": None,
            "image": {"bytes": data, "path": f"{i:06d}.{fmt.lower()}"}, "image_sha256": None,
            "caption": caption, "negated_caption": negated,
            "exclusion_caption": f"a {colour} shape number {i}", "subject": "shape",
            "relations": relations, "num_relations": k,
            "negated_object": chosen["object"], "negated_predicate": chosen["predicate"],
            "negation_cue": cue, "negation_type": TYPES[cue], "labels": [colour],
            "generator": {"backend": "test", "model": "helper", "version": "0", "fallback_from": None},
            "prompt_version": None, "split": split,
        })
    return rows


def write_rows(out: Path, rows: list[dict[str, Any]], split: str, shards: int = 1, row_group_size: int = 16) -> list[Path]:
    """Write rows as ``OUT/data/{split}-0000i-of-0000n.parquet`` shards, listed in ``OUT/manifest.json``."""
    data_dir = Path(out) / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    per = -(-len(rows) // shards) if rows else 0
    for s in range(shards):
        part = rows[s * per:(s + 1) * per]
        path = data_dir / f"{split}-{s:05d}-of-{shards:05d}.parquet"
        pq.write_table(pa.Table.from_pylist(part, schema=RECORD_SCHEMA), path, row_group_size=row_group_size)
        paths.append(path)
    record_files(out, [f"data/{path.name}" for path in paths])
    return paths


def write_ccneg_folder(out: Path, n: int = 24, split: str = "eval", seed: int = 0, shards: int = 1,
                       duplicate_every: int = 0, row_group_size: int = 16) -> Path:
    """A ccneg-build output folder with ``n`` generated samples in ``split``; returns ``out``."""
    write_rows(out, make_rows(n, split=split, seed=seed, duplicate_every=duplicate_every), split, shards, row_group_size)
    return Path(out)


def write_distractors(out: Path, ids: list[str], pool_size: int = 8, k: int = 3, seed: int = 1) -> None:
    """The trainer miner's files: ``distractors/assignments.parquet`` and ``images.parquet``."""
    rng = random.Random(seed)
    folder = Path(out) / "distractors"
    folder.mkdir(parents=True, exist_ok=True)
    pool = [f"pool-{j}" for j in range(pool_size)]
    images = [{"image_id": pid, "image": {"bytes": draw_image(5000 + j), "path": f"{pid}.png"}} for j, pid in enumerate(pool)]
    pq.write_table(pa.Table.from_pylist(images, schema=pa.schema([
        ("image_id", pa.string()),
        ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())]))])), folder / "images.parquet")
    assignments = [{"id": i, "distractor_ids": rng.sample(pool, k), "distractor_scores": [0.3, 0.2, 0.1][:k]} for i in ids]
    pq.write_table(pa.Table.from_pylist(assignments, schema=pa.schema([
        ("id", pa.string()), ("distractor_ids", pa.list_(pa.string())),
        ("distractor_scores", pa.list_(pa.float32()))])), folder / "assignments.parquet")


def write_released_folder(out: Path, n: int = 30, original_root: str = "/home/someone/data") -> Path:
    """The released CC-Neg layout with ``n`` samples; image paths point at another machine."""
    import torch

    out = Path(out)
    images = out / "ccneg_images" / "cc3m_subset_images_extracted_final"
    images.mkdir(parents=True, exist_ok=True)
    paths, annotations = [], []
    for row in make_rows(n, fmt="JPEG"):
        key = f"{row['source_row']:09d}"
        (images / f"{key}.jpg").write_bytes(row["image"]["bytes"])
        paths.append(f"{original_root}/ccneg_images/cc3m_subset_images_extracted_final/{key}.jpg")
        rels = [[r["object"], r["predicate"]] for r in row["relations"]]
        annotations.append({
            "json": {"caption": row["caption"], "url": f"http://example.invalid/{key}.jpg", "key": key},
            "caption": row["caption"], "labels": "x,y", "MIDs": "/m/1,/m/2", "confidence_scores": "0.9,0.8",
            "sop_data": {"negative-prompt": row["negated_caption"].replace(" a ", ", a ", 1),
                         "exclusion-prompt": row["exclusion_caption"],
                         "sop_chosen_object": row["negated_object"],
                         "sop_decomposition": {"subject": "shape", "object-predicate-pairs": rels}},
        })
    torch.save({"image_paths": paths, "annotations": annotations}, out / "ccneg_preprocessed.pt")
    return out


def write_image_input(path: Path, captions: list[str], size: int = 64) -> Path:
    """A Parquet caption corpus with a generated picture per caption (``ccneg-build --images column``)."""
    images = [{"bytes": draw_image(i, size=size), "path": f"{i:04d}.png"} for i in range(len(captions))]
    pq.write_table(pa.table({"caption": list(captions), "image": images}), path)
    return Path(path)
