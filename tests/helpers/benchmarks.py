"""Small copies of the public negation benchmarks, written in their released layouts.

Each writer draws its own images (coloured shapes) and writes the files the benchmark ships,
with the awkward cases a loader and a scorer must survive: exact ties (options that are the
same string, or differ only past the 77-token text window), a right answer that is not
always the first option, authors' absolute paths to be mapped with ``--image-root``, and a few
broken rows (missing image, malformed list literal, unknown template value). Each returns a
small record of what it wrote so that tests know which rows are broken and why.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers.data import COLOURS, OBJECTS, draw_image

#: NegBench's released paths point at the authors' machine
AUTHOR_COCO = "/home/negbench-authors/data/coco/val2017"
LONG = " ".join(["a very long description of a busy street scene with many things"] * 12)


@dataclass
class Written:
    path: Path
    image_root: Path | None = None
    #: row index (0-based data row or JSON key) -> expected rejection code
    bad_rows: dict[Any, str] = field(default_factory=dict)
    #: rows whose image file does not exist
    missing_images: list[Any] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _coco_name(i: int) -> str:
    return f"{500000 + i:012d}.jpg"


def _write_image(path: Path, index: int, size: int = 40) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(draw_image(index, size=size, fmt="JPEG"))


def _csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_negbench_mcq(folder: Path, n: int = 24) -> Written:
    """A MCQ-Neg CSV (columns in NegBench's order) plus COCO-style images under ``folder/coco/val2017``."""
    folder = Path(folder)
    templates = ["positive", "negative", "hybrid"]
    rows, bad, missing = [], {}, []
    for i in range(n):
        _write_image(folder / "coco" / "val2017" / _coco_name(i), i)
        colour, thing, absent = COLOURS[i % len(COLOURS)], OBJECTS[i % len(OBJECTS)], OBJECTS[(i + 3) % len(OBJECTS)]
        options = [f"this image features a {colour} {thing}", f"this image features a {absent}, but no {thing}",
                   f"a {absent} is in this image", f"this image does not feature a {colour} {thing}"]
        correct = i % 4
        if i % 6 == 5:  # every option the same string: an exact four-way tie at the top
            options = [f"a {colour} shape number {i}"] * 4
        if i % 6 == 2:  # options that differ only after the 77-token window: tokenized identically
            options = [f"{LONG} {w}" for w in ("cat", "dog", "bird", "fish")]
        rows.append([correct, *options, templates[i % 3], f"{AUTHOR_COCO}/{_coco_name(i)}"])
    # broken rows: unknown template value, a correct_answer that is not an index, a missing image
    rows.append([1, "a", "b", "c", "d", "Affirmation", f"{AUTHOR_COCO}/{_coco_name(0)}"])
    bad[n] = "unknown_template"
    rows.append(["x", "a", "b", "c", "d", "positive", f"{AUTHOR_COCO}/{_coco_name(1)}"])
    bad[n + 1] = "bad_index"
    rows.append([2, "red", "green", "blue", "yellow", "hybrid", f"{AUTHOR_COCO}/{_coco_name(999)}"])
    missing.append(n + 2)
    path = folder / "COCO_val_mcq_llama3.1_rephrased.csv"
    _csv(path, ["correct_answer", "caption_0", "caption_1", "caption_2", "caption_3", "correct_answer_template",
                "image_path"], rows)
    return Written(path=path, image_root=folder / "coco", bad_rows=bad, missing_images=missing)


def write_negbench_binary(folder: Path, n: int = 12) -> Written:
    """A binary MCQ CSV (CheXpert-style columns) with relative image paths."""
    folder = Path(folder)
    rows = []
    for i in range(n):
        _write_image(folder / "images" / f"view{i}.jpg", 100 + i)
        finding = OBJECTS[i % len(OBJECTS)]
        options = [f"the picture shows a {finding}", f"the picture shows no {finding}"]
        if i % 5 == 4:
            options = [options[0], options[0]]  # exact tie
        rows.append([f"images/view{i}.jpg", *options, i % 2])
    path = folder / "chexpert_binary_mcq_random.csv"
    _csv(path, ["image_path", "caption_0", "caption_1", "correct_answer"], rows)
    return Written(path=path)


def write_negbench_retrieval(folder: Path, n: int = 14) -> Written:
    """A Retrieval-Neg CSV: ``filepath`` and ``captions`` as a Python list literal."""
    folder = Path(folder)
    rows, bad = [], {}
    for i in range(n):
        _write_image(folder / "coco" / "val2017" / _coco_name(i), 200 + i)
        colour, absent = COLOURS[i % len(COLOURS)], OBJECTS[i % len(OBJECTS)]
        captions = [f"a {colour} shape, with no {absent} in sight", f"no {absent} is visible; a {colour} shape is"]
        if i % 4 == 1:
            captions.append(f"a {colour} shape")  # three captions; also repeated across rows: ties
        image = _coco_name(i if i != n - 1 else 0)  # the last row repeats the first image
        rows.append([f"{AUTHOR_COCO}/{image}", repr(captions)])
    rows.append([f"{AUTHOR_COCO}/{_coco_name(2)}", "['a caption that is cut off', 'and"])
    bad[n] = "malformed_list"
    rows.append([f"{AUTHOR_COCO}/{_coco_name(3)}", "__import__('os').getcwd()"])
    bad[n + 1] = "malformed_list"
    path = folder / "COCO_val_negated_retrieval_llama3.1_rephrased_affneg_true.csv"
    _csv(path, ["filepath", "captions"], rows)
    return Written(path=path, image_root=folder / "coco", bad_rows=bad)


def write_sugarcrepe(folder: Path, subsets: tuple[str, ...] = ("add_att", "swap_obj"), n: int = 10) -> Written:
    """SugarCREPE JSON files (string keys, not contiguous) and ``folder/val2017`` images shared across entries."""
    folder = Path(folder)
    bad: dict[Any, str] = {}
    missing: list[Any] = []
    for i in range(6):
        _write_image(folder / "val2017" / _coco_name(i), 300 + i)
    for s_index, subset in enumerate(subsets):
        entries: dict[str, Any] = {}
        for i in range(n):
            if i == 1:
                continue  # keys are not contiguous (swap_obj lacks "108")
            colour, thing = COLOURS[(i + s_index) % len(COLOURS)], OBJECTS[i % len(OBJECTS)]
            caption = f"a {colour} shape next to a {thing}"
            negative = f"a {thing} next to a {colour} shape" if i % 2 else f"a {colour} shape not next to a {thing}"
            if i % 4 == 3:
                negative = caption  # exact tie: strict > counts it wrong
            entries[str(i)] = {"filename": _coco_name(i % 6), "caption": caption, "negative_caption": negative}
        entries[str(n)] = {"filename": _coco_name(0), "caption": "a shape"}
        bad[f"{subset}:{n}"] = "missing_field"
        entries[str(n + 1)] = {"filename": _coco_name(777), "caption": "a red shape", "negative_caption": "a blue shape"}
        missing.append(f"{subset}:{n + 1}")
        (folder / f"{subset}.json").write_text(json.dumps(entries, indent=4), encoding="utf-8")
    return Written(path=folder, image_root=folder / "val2017", bad_rows=bad, missing_images=missing)


def write_crepe(folder: Path, n: int = 12) -> Written:
    """A CREPE negate CSV with Visual Genome images split over ``VG_100K`` and ``VG_100K_2``."""
    folder = Path(folder)
    rows, bad = [], {}
    for i in range(n):
        image_id = 2400000 + i
        sub = "VG_100K" if i % 2 else "VG_100K_2"
        _write_image(folder / "vg" / sub / f"{image_id}.jpg", 400 + i, size=64)
        colour, thing = COLOURS[i % len(COLOURS)], OBJECTS[i % len(OBJECTS)]
        caption = f"a {colour} shape on a {thing}"
        foils = [f"a {colour} shape not on a {thing}", f"no {colour} shape on a {thing}", f"a {colour} shape without a {thing}"]
        if i % 5 == 2:
            foils[1] = caption  # a foil identical to the true caption: a tie
        if i % 6 == 4:
            foils = foils[:2]  # a row with fewer foils
        x, y = (i * 7) % 40, (i * 5) % 40
        width, height = (30 + i, 28) if i != 3 else (80, 80)  # row 3's box overhangs the image
        rows.append([image_id, x, y, width, height, caption, repr(foils)])
    rows.append([2400000, 0, 0, 10, 10, "a shape", "['not closed"])
    bad[n] = "malformed_list"
    path = folder / "prod_vg_hard_negs_negate_complexity_4.csv"
    _csv(path, ["image_id", "x", "y", "width", "height", "caption", "hard_negs"], rows)
    return Written(path=path, image_root=folder / "vg", bad_rows=bad)


IMAGEFOLDER_CLASSES = ("bird", "boat", "car", "cat", "house", "tree")


def write_imagefolder(folder: Path, per_class: int = 3) -> Written:
    """``folder/<class>/<n>.png`` for six classes (so acc5 is defined)."""
    folder = Path(folder)
    for c, name in enumerate(IMAGEFOLDER_CLASSES):
        for j in range(per_class):
            path = folder / name / f"{j:03d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(draw_image(500 + 10 * c + j, fmt="PNG"))
    (folder / "bird" / "notes.txt").write_text("not an image")
    return Written(path=folder)


def write_cifar10(folder: Path, n: int = 20) -> Written:
    """``folder/cifar-10-batches-py/{test_batch,batches.meta}`` as Python pickles (protocol 2, str keys).

    The class list repeats ``bird`` (indices 2 and 6): their prompts are identical, so every image
    ties between them.
    """
    import io

    import numpy as np
    from PIL import Image

    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "bird", "horse", "ship", "truck"]
    pixels, labels = [], []
    for i in range(n):
        image = Image.open(io.BytesIO(draw_image(600 + i, size=32))).convert("RGB")
        pixels.append(np.asarray(image).transpose(2, 0, 1).reshape(-1))
        labels.append(i % 10)
    root = Path(folder) / "cifar-10-batches-py"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "test_batch", "wb") as handle:
        pickle.dump({"batch_label": "testing batch 1 of 1", "labels": labels, "data": np.stack(pixels).astype(np.uint8),
                     "filenames": [f"img_{i}.png" for i in range(n)]}, handle, protocol=2)
    with open(root / "batches.meta", "wb") as handle:
        pickle.dump({"num_cases_per_batch": n, "label_names": names, "num_vis": 3072}, handle, protocol=2)
    return Written(path=Path(folder), extra={"names": names, "labels": labels})


NEGBENCH_TRAIN_HEADER = ["correct_answer", "caption_0", "caption_1", "caption_2", "caption_3",
                         "correct_answer_template", "image_path"]


def write_negbench_training(folder: Path, split: str = "train", n: int = 16, seed: int = 0) -> Written:
    """``folder/mcq_{split}.csv`` as NegBench's fine-tuning generator writes it, images under ``folder/images``.

    Options are shuffled (the right one at every index), templates include ``modified_positive``,
    image paths are the authors' absolute paths (found with ``--image-root folder/images``), and
    two rows are broken: a ``correct_answer`` out of range and an image that does not exist.
    """
    import random

    folder = Path(folder)
    rng = random.Random(seed)
    rows, bad, missing = [], {}, []
    templates = ["positive", "negative", "hybrid", "modified_positive"]
    for i in range(n):
        name = f"{split}_{i:04d}.jpg"
        _write_image(folder / "images" / name, 700 + 37 * seed + i)
        colour, present, absent = COLOURS[i % len(COLOURS)], OBJECTS[i % len(OBJECTS)], OBJECTS[(i + 3) % len(OBJECTS)]
        right = {"positive": f"This image features a {colour} shape and a {present}.",
                 "negative": f"This image does not feature a {absent}.",
                 "hybrid": f"This image features a {present}, but not a {absent}.",
                 "modified_positive": f"This image features a {colour} shape."}[templates[i % 4]]
        wrong = [f"This image features a {absent}, but not a {present}.", f"This image features a {absent}.",
                 f"This image does not feature a {colour} shape."]
        options = [right, *wrong]
        rng.shuffle(options)
        rows.append([options.index(right), *options, templates[i % 4], f"/home/negbench-authors/cc12m/{name}"])
    rows.append([4, "a", "b", "c", "d", "hybrid", f"/home/negbench-authors/cc12m/{split}_0000.jpg"])
    bad[n] = "bad_index"
    rows.append([0, "w", "x", "y", "z", "negative", f"/home/negbench-authors/cc12m/{split}_gone.jpg"])
    missing.append(n + 1)
    path = folder / f"mcq_{split}.csv"
    _csv(path, NEGBENCH_TRAIN_HEADER, rows)
    return Written(path=path, image_root=folder / "images", bad_rows=bad, missing_images=missing)


def _coco_train_name(i: int) -> str:
    return f"COCO_train2014_{300000 + i:012d}.jpg"


def write_negrefcocog(folder: Path, n: int = 10) -> Written:
    """``folder/NegRefCOCOg.json`` (a JSON list, COCO ``[x, y, w, h]`` float boxes) and 64-px images
    under ``folder/train2014``.

    The ordinary items put the reference first or second and use half-pixel coordinates (PIL
    rounds each edge); the awkward ones: two boxes that cut the same pixels (an exact tie, with
    the reference first and then second), boxes that overhang the image edges or lie outside it
    (black fill, as PIL crops), a repeated box, three candidates; and rows that cannot be scored
    (zero, negative and sub-pixel sizes, a three-number box, a reference that is not a candidate,
    one distinct box, an empty phrase, a missing image).
    """
    folder = Path(folder)
    items: list[dict[str, Any]] = []
    bad: dict[Any, str] = {}
    extra: dict[str, Any] = {"ties": []}
    for i in range(n + 8):
        _write_image(folder / "train2014" / _coco_train_name(i), 900 + i, size=64)

    def add(image: int, phrase: str, boxes: list[Any], reference: Any) -> int:
        items.append({"image": _coco_train_name(image), "phrase": phrase, "ref_bbox": reference, "bbox_list": boxes})
        return len(items) - 1

    for i in range(n):
        colour, thing = COLOURS[i % len(COLOURS)], OBJECTS[i % len(OBJECTS)]
        first = [2.5 + i, 4.0, 24.5, 30.25]
        second = [30.0, 20.5 + i, 28.0, 26.5]
        boxes = [first, second]
        add(i, f"a {colour} shape not next to a {thing}", boxes, boxes[i % 2])
    same_pixels = [[10.2, 8.0, 20.0, 20.0], [9.8, 8.3, 20.1, 19.9]]  # both cut pixels (10, 8)-(30, 28)
    extra["ties"].append(add(n, "a shape with no tree", same_pixels, same_pixels[0]))
    extra["ties"].append(add(n + 1, "a shape with no tree", list(reversed(same_pixels)), same_pixels[0]))
    add(n + 2, "the part that is not black", [[50.0, 50.0, 30.0, 30.0], [-5.6, 3.0, 20.0, 20.0],
                                               [70.0, 70.0, 10.0, 10.0]], [-5.6, 3.0, 20.0, 20.0])
    add(n + 3, "a thing not on the left", [[0, 0, 32, 64], [32, 0, 32, 64], [0, 0, 32, 64]], [32, 0, 32, 64])
    bad[add(n + 4, "nothing", [[10, 10, 0, 12], [1, 1, 5, 5]], [1, 1, 5, 5])] = "degenerate_box"
    bad[add(n + 4, "nothing", [[10, 10, 12, -3], [1, 1, 5, 5]], [1, 1, 5, 5])] = "degenerate_box"
    bad[add(n + 5, "a sliver", [[10.1, 10, 0.3, 5], [1, 1, 5, 5]], [1, 1, 5, 5])] = "degenerate_box"
    bad[add(n + 5, "three numbers", [[1, 2, 3], [1, 1, 5, 5]], [1, 1, 5, 5])] = "bad_box"
    bad[add(n + 6, "not listed", [[1, 1, 20, 20], [30, 30, 20, 20]], [2, 2, 20, 20])] = "reference_not_listed"
    bad[add(n + 6, "one box", [[1, 1, 20, 20], [1.0, 1.0, 20.0, 20.0]], [1, 1, 20, 20])] = "too_few_boxes"
    bad[add(n + 7, "  ", [[1, 1, 20, 20], [30, 30, 20, 20]], [1, 1, 20, 20])] = "missing_field"
    missing = [len(items)]
    items.append({"image": "COCO_train2014_000000999999.jpg", "phrase": "a shape not in a box",
                  "ref_bbox": [1, 1, 20, 20], "bbox_list": [[1, 1, 20, 20], [30, 30, 20, 20]]})
    path = folder / "NegRefCOCOg.json"
    path.write_text(json.dumps(items, indent=1), encoding="utf-8")
    return Written(path=path, image_root=folder / "train2014", bad_rows=bad, missing_images=missing, extra=extra)
