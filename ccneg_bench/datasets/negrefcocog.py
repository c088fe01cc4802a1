"""NegationCLIP's NegRefCOCOg (``negrefcocog:FILE.json``): pick the box a negated phrase refers to.

The file is a JSON list of items ``{"image", "phrase", "ref_bbox", "bbox_list"}``: a COCO
train2014 file name (found under ``--image-root``, else next to the file), a referring
expression with a negation ("a zebra not eating grass"), the reference box and the candidate
boxes, all in COCO's ``[x, y, width, height]`` pixels (floats). The official scorer crops each
candidate with PIL (``image.crop((x, y, x + w, y + h))``, which rounds each edge to the nearest
pixel and fills any part outside the image with black), scores every crop against the phrase and
counts the item right when the best crop's box equals ``ref_bbox``.

Here each candidate becomes the pixel box PIL would cut (edges rounded the same way), so two
boxes that cut the same pixels share one encoded crop and tie exactly. Boxes repeated with the
same coordinates are kept once (the first), which leaves the official argmax unchanged. An item
that cannot be scored is a failed row with its reason: ``bad_box`` (not four finite numbers),
``degenerate_box`` (no pixel left: width or height at most 0, or below a pixel after rounding),
``reference_not_listed`` (``ref_bbox`` is none of the candidates), ``too_few_boxes`` (under two
distinct candidates: nothing to choose), ``missing_field`` (no image or phrase).
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

from ccneg_bench.datasets.base import DatasetOptions, EvalDataset, Sample
from ccneg_bench.datasets.image_files import resolve_under
from ccneg_bench.datasets.rows import ImageIndex, RowProblem

#: the keys of an item, as the released file names them
FIELDS = ("image", "phrase", "ref_bbox", "bbox_list")


def _numbers(box: Any, where: str) -> tuple[float, float, float, float]:
    """Four finite numbers ``[x, y, width, height]``, or a ``bad_box`` problem."""
    if not isinstance(box, (list, tuple)) or len(box) != 4 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in box):
        raise RowProblem("bad_box", f"{where}: {json.dumps(box)[:80]} is not four finite numbers [x, y, w, h]")
    return float(box[0]), float(box[1]), float(box[2]), float(box[3])


def pixel_box(box: tuple[float, float, float, float], where: str) -> tuple[int, int, int, int]:
    """The ``(x, y, width, height)`` in whole pixels that PIL cuts for the COCO box ``box``.

    PIL's ``crop`` rounds each edge (left, top, right = x + w, bottom = y + h) with Python's
    ``round``; a box with nothing left after that is a ``degenerate_box`` problem.
    """
    x, y, width, height = box
    if width <= 0 or height <= 0:
        raise RowProblem("degenerate_box", f"{where}: the box {list(box)} has width {width:g} and height {height:g}")
    left, top, right, bottom = round(x), round(y), round(x + width), round(y + height)
    if right <= left or bottom <= top:
        raise RowProblem("degenerate_box", f"{where}: the box {list(box)} covers no whole pixel "
                                           f"({right - left} x {bottom - top} after rounding)")
    return left, top, right - left, bottom - top


def _text(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RowProblem("missing_field", f"{where}: {key!r} is missing or empty")
    return value


def _item(item: Any, where: str, image_root: str | None, base: str,
          images: ImageIndex) -> tuple[str, tuple[int, ...], int]:
    """(phrase, image rows of the distinct candidate crops, index of the reference among them)."""
    if not isinstance(item, dict):
        raise RowProblem("missing_field", f"{where}: not an object with {', '.join(FIELDS)}")
    image = resolve_under(_text(item, "image", where), image_root, base)
    phrase = _text(item, "phrase", where)
    candidates = item.get("bbox_list")
    if not isinstance(candidates, list):
        raise RowProblem("missing_field", f"{where}: 'bbox_list' is missing or not a list")
    reference = _numbers(item.get("ref_bbox"), f"{where} ref_bbox")
    boxes: list[tuple[float, float, float, float]] = []
    for number, box in enumerate(candidates):
        numbers = _numbers(box, f"{where} bbox_list[{number}]")
        if numbers not in boxes:
            boxes.append(numbers)
    if reference not in boxes:
        raise RowProblem("reference_not_listed", f"{where}: ref_bbox {list(reference)} is not in bbox_list")
    if len(boxes) < 2:
        raise RowProblem("too_few_boxes", f"{where}: {len(boxes)} distinct candidate box; nothing to choose between")
    crops = [pixel_box(box, f"{where} box {list(box)}") for box in boxes]
    return phrase, tuple(images.row(image, crop) for crop in crops), boxes.index(reference)


def load_negrefcocog(path: str, image_root: str | None = None, split: str = "eval") -> EvalDataset:
    """Load the NegRefCOCOg JSON file (one sample per item, ids ``NegRefCOCOg:<index>``)."""
    if not os.path.isfile(path):
        raise ValueError(f"negrefcocog:{path}: no such file (give NegRefCOCOg/NegRefCOCOg.json)")
    try:
        with open(path, encoding="utf-8") as handle:
            items = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a readable JSON file ({err})") from None
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a JSON list of items {{{', '.join(FIELDS)}}}, found {type(items).__name__}")
    stem = os.path.splitext(os.path.basename(path))[0]
    base = os.path.dirname(os.path.abspath(path))
    images = ImageIndex()
    samples: list[Sample] = []
    rejected: list[dict[str, str]] = []
    for number, item in enumerate(items):
        sample_id, where = f"{stem}:{number}", f"{os.path.basename(path)} item {number}"
        try:
            phrase, rows, reference = _item(item, where, image_root, base, images)
        except RowProblem as problem:
            rejected.append(problem.record(sample_id))
            continue
        samples.append(Sample(id=sample_id, caption=phrase, negated_caption="", image_options=rows, correct=reference,
                              image_row=rows[reference]))
    dataset = EvalDataset(spec=f"negrefcocog:{os.path.abspath(path)}", split=split, samples=samples,
                          images=images.table(), name="negrefcocog", default_tasks=("grounding",),
                          rejected=rejected, kind="grounding")
    dataset.attach_distractors(None)
    return dataset


def open_dataset(path: str, split: str, options: DatasetOptions) -> EvalDataset:
    """``negrefcocog:FILE`` (the dataset registry's entry)."""
    return load_negrefcocog(path, image_root=options.image_root, split=split)
