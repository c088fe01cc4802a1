"""The released CC-Neg format (ccneg-facts.md section 1): the one reader and writer.

``ccneg_preprocessed.pt`` is a pickled dict ``{"image_paths": [...], "annotations": [...]}``
(plus, in some copies, ``num_ops``: number of object-predicate pairs -> indices). Each
annotation holds ``json`` {caption, url, key}, ``caption``, ``labels``, ``MIDs``,
``confidence_scores`` and ``sop_data`` {negative-prompt, exclusion-prompt,
sop_chosen_object, sop_decomposition {subject, object-predicate-pairs}}.

Everything that reads or writes this format goes through this module (``import-official``,
``export-official`` and ``ccneg-bench`` on a release folder), so that a sample gets the same
id, text, labels and split whichever way it is read:

* the file is loaded with ``torch.load(weights_only=True)``, which accepts plain containers
  of strings and numbers and refuses to run pickled code (torch is optional, ``ccneg[bench]``,
  and imported only here, only when needed);
* the true caption is ``json.caption`` (the field the release's loaders read), the top-level
  ``caption`` only when ``json`` has none;
* the negated caption is ``negative-prompt`` with its commas removed, as the release's
  evaluation and fine-tuning loaders feed it to the text encoder (the original text stays in
  the annotation, which ``import-official`` keeps and ``export-official`` gives back);
* the eval split is positional, as in the release: the last 40,000 rows, whatever the file
  size (``data[-40000:]``), so a file of fewer rows is all eval (:func:`split_range`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ccneg_core.record import make_id
from ccneg_core.negation_labels import negation_labels
from ccneg_core.writer import atomic_output

RELEASED_FILE = "ccneg_preprocessed.pt"
IMAGE_SUBDIR = "ccneg_images/cc3m_subset_images_extracted_final"
RELEASED_TOTAL = 228_246
#: the release's loaders take the last ``num_ccneg_eval_samples`` = 40,000 rows as eval
RELEASED_EVAL = 40_000
#: splits a released file can be read as: the last rows, the rows before them, every row
RELEASED_SPLITS = ("eval", "train", "all")
#: ``source`` column of imported rows (ids are ``make_id(SOURCE_NAME, index, caption)``).
SOURCE_NAME = "ccneg-official"
GENERATOR = {"backend": "released", "model": "text-bison-001", "version": "CC-Neg release", "fallback_from": None}
PROMPT_VERSION = "cc-neg-release"


class ReleasedFormatError(ValueError):
    """The released file cannot be read as CC-Neg; the message names the file and the fix."""


def released_eval_size(total: int, eval_size: int | None = None) -> int:
    """How many of a file's ``total`` rows are eval: the last ``eval_size`` (default 40,000).

    The release slices ``data[-40000:]``, so a file of fewer rows is eval in full.
    """
    wanted = RELEASED_EVAL if eval_size is None else eval_size
    if wanted < 0:
        raise ReleasedFormatError(f"eval size {wanted}: must not be negative")
    return min(total, wanted)


def split_range(total: int, split: str, eval_size: int | None = None) -> tuple[int, int]:
    """Row range ``[start, stop)`` of ``split`` (eval, train or all) in a file of ``total`` rows."""
    first_eval = total - released_eval_size(total, eval_size)
    ranges = {"eval": (first_eval, total), "train": (0, first_eval), "all": (0, total)}
    if split not in ranges:
        raise ReleasedFormatError(
            f"released CC-Neg has the splits {', '.join(RELEASED_SPLITS)} (eval = the last "
            f"{RELEASED_EVAL if eval_size is None else eval_size} rows), not {split!r}"
        )
    return ranges[split]


def scored_negation(text: str | None) -> str | None:
    """The negated caption as the release's loaders feed it to the model: commas removed."""
    return None if text is None else text.replace(",", "")


def row_id(index: int, caption: str | None) -> str:
    """The id of row ``index`` of a released file (the same in an import and in ccneg-bench)."""
    return make_id(SOURCE_NAME, index, caption)


def _torch():
    try:
        import torch
    except ImportError:
        raise ReleasedFormatError(
            f"reading or writing {RELEASED_FILE} needs PyTorch: pip install 'ccneg[bench]' (or just torch)"
        ) from None
    return torch


def load_released(path: Path) -> dict[str, Any]:
    """Load the released dict safely; check its shape; never unpickle code."""
    torch = _torch()
    if not Path(path).is_file():
        raise ReleasedFormatError(f"{path}: not found; give the folder that holds {RELEASED_FILE}")
    try:
        data = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as error:  # UnpicklingError and friends: report, never retry unsafely
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ReleasedFormatError(
            f"{path}: cannot be read as plain data with weights_only=True ({first[:200]}); "
            "ccneg never unpickles code, so re-save the file with plain lists and dicts"
        ) from None
    if not isinstance(data, dict) or "image_paths" not in data or "annotations" not in data:
        raise ReleasedFormatError(f"{path}: expected a dict with 'image_paths' and 'annotations'")
    if len(data["image_paths"]) != len(data["annotations"]):
        raise ReleasedFormatError(
            f"{path}: {len(data['image_paths'])} image paths but {len(data['annotations'])} annotations"
        )
    return data


def save_released(path: Path, data: dict[str, Any]) -> None:
    """Write the released dict atomically, then prove it loads with ``weights_only=True``."""
    torch = _torch()
    with atomic_output(Path(path)) as temporary:
        torch.save(data, str(temporary))
        torch.load(str(temporary), map_location="cpu", weights_only=True)


def relative_image_path(original: str) -> str:
    """The part of a released image path under the release folder (``ccneg_images/...``).

    The release stores paths of the authors' machine (``/workspace/datasets/cc3m/...``).
    """
    normal = str(original).replace("\\", "/")
    marker = "ccneg_images/"
    if marker in normal:
        return normal[normal.index(marker):]
    return f"{IMAGE_SUBDIR}/{normal.rsplit('/', 1)[-1]}"


def find_image(folder: Path, original: str) -> Path | None:
    """The image file of a released path inside ``folder`` (or as given, if it exists)."""
    candidates = [folder / relative_image_path(original), folder / IMAGE_SUBDIR / Path(original).name]
    if os.path.isabs(original):
        candidates.append(Path(original))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def image_location(folder: Path, original: str) -> Path:
    """Where the image of a stored path is in ``folder`` (the expected place when it is missing)."""
    found = find_image(Path(folder), original)
    return found if found is not None else Path(folder) / relative_image_path(original)


@dataclass(frozen=True)
class ReleasedRow:
    """One row of a released file as every ccneg tool reads it."""

    #: position in the file (the split is positional)
    index: int
    #: :func:`row_id` of the row
    id: str
    #: the image path as stored in the file (a path on the authors' machine)
    image_path: str
    #: the record columns the annotation determines (:func:`record_fields`)
    fields: dict[str, Any]


def released_rows(data: dict[str, Any], start: int = 0, stop: int | None = None) -> Iterator[ReleasedRow]:
    """Rows ``start:stop`` of a loaded file; an annotation that is not a dict reads as empty."""
    annotations, paths = data["annotations"], data["image_paths"]
    stop = len(annotations) if stop is None else stop
    for index in range(start, stop):
        annotation = annotations[index] if isinstance(annotations[index], dict) else {}
        fields = record_fields(annotation)
        yield ReleasedRow(index=index, id=row_id(index, fields["caption"]), image_path=str(paths[index]),
                          fields=fields)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _pair(value: Any) -> dict[str, str] | None:
    """One object-predicate pair, written as ``{"object", "predicate"}`` or as ``[object, predicate]``."""
    if isinstance(value, dict):
        return {"object": str(value.get("object", "")), "predicate": str(value.get("predicate", ""))}
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return {"object": str(value[0]), "predicate": str(value[1])}
    return None


def _pairs(decomposition: Any) -> list[dict[str, str]] | None:
    pairs = decomposition.get("object-predicate-pairs") if isinstance(decomposition, dict) else None
    if not isinstance(pairs, (list, tuple)):
        return None
    return [pair for pair in map(_pair, pairs) if pair is not None]


def _labels(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def true_caption(annotation: Any) -> str | None:
    """The true caption c: ``json.caption`` (what the release's loaders read), else ``caption``."""
    if not isinstance(annotation, dict):
        return None
    meta = annotation.get("json") if isinstance(annotation.get("json"), dict) else {}
    return _text(meta.get("caption") if meta.get("caption") is not None else annotation.get("caption"))


def row_ids(data: dict[str, Any]) -> list[str]:
    """The :func:`row_id` of every row of a loaded file, in file order."""
    return [row_id(index, true_caption(annotation)) for index, annotation in enumerate(data["annotations"])]


def record_fields(annotation: dict[str, Any]) -> dict[str, Any]:
    """The record columns (text only, no id/image/split) that one annotation determines.

    ``negated_caption`` is the text the release scores and trains on (commas removed), so an
    imported folder and the release folder give the model the same two captions.
    """
    meta = annotation.get("json") if isinstance(annotation.get("json"), dict) else {}
    sop = annotation.get("sop_data") if isinstance(annotation.get("sop_data"), dict) else {}
    decomposition = sop.get("sop_decomposition") if isinstance(sop.get("sop_decomposition"), dict) else {}
    caption = true_caption(annotation)
    negated = scored_negation(_text(sop.get("negative-prompt")))
    chosen = _text(sop.get("sop_chosen_object"))
    relations = _pairs(decomposition)
    predicate = next((r["predicate"] for r in relations or [] if r["object"] == chosen), None)
    verdict = negation_labels(caption, negated) if caption and negated else None
    subject = decomposition.get("subject")
    return {
        "url": _text(meta.get("url")),
        "caption": caption,
        "negated_caption": negated,
        "exclusion_caption": _text(sop.get("exclusion-prompt")),
        "subject": None if subject is None else str(subject),
        "relations": relations,
        "num_relations": None if relations is None else len(relations),
        "negated_object": chosen,
        "negated_predicate": predicate,
        "negation_cue": verdict.negation_cue if verdict else None,
        "negation_type": verdict.negation_type if verdict else None,
        "labels": _labels(annotation.get("labels")),
    }


def annotation_from_record(record: dict[str, Any], key: str) -> dict[str, Any]:
    """A released-format annotation written from a record row (fields the release lacks are empty)."""
    labels = record.get("labels")
    return {
        "json": {"caption": record.get("caption"), "url": record.get("url") or "", "key": key},
        "caption": record.get("caption"),
        "labels": ",".join(labels) if labels else "",
        "MIDs": "",
        "confidence_scores": "",
        "sop_data": {
            "negative-prompt": record.get("negated_caption"),
            "exclusion-prompt": record.get("exclusion_caption"),
            "sop_chosen_object": record.get("negated_object"),
            "sop_decomposition": {
                "subject": record.get("subject"),
                "object-predicate-pairs": [{"object": r["object"], "predicate": r["predicate"]}
                                           for r in record.get("relations") or []],
            },
        },
    }


_MISSING = object()


def overlay(original: Any, baseline: Any, current: Any) -> Any:
    """Keep the original annotation except where the record was changed since the import.

    ``baseline`` is what the original maps to through record and back; where ``current``
    (the record as it is now) still equals it, the original value is kept byte for byte
    (so fields our columns normalise, like a labels string, survive the round trip).
    """
    if isinstance(current, dict) and isinstance(original, dict):
        merged = dict(original)
        base = baseline if isinstance(baseline, dict) else {}
        for key, value in current.items():
            merged[key] = overlay(original.get(key, _MISSING), base.get(key, _MISSING), value)
        return merged
    if original is _MISSING or current != baseline:
        return current
    return original
