"""The released CC-Neg format (ccneg-facts.md section 1) and its mapping to record rows.

``ccneg_preprocessed.pt`` is a pickled dict ``{"image_paths": [...], "annotations": [...]}``
(plus, in some copies, ``num_ops``: number of object-predicate pairs -> indices). Each
annotation holds ``json`` {caption, url, key}, ``caption``, ``labels``, ``MIDs``,
``confidence_scores`` and ``sop_data`` {negative-prompt, exclusion-prompt,
sop_chosen_object, sop_decomposition {subject, object-predicate-pairs}}.

It is read with ``torch.load(weights_only=True)``, which accepts plain containers of
strings and numbers and refuses to run pickled code. torch is an optional dependency
(``ccneg[bench]``), imported only here and only when needed.

The split of the release is positional: the last 40,000 of 228,246 samples are the
evaluation split. :func:`released_eval_size` applies the same rule to other sizes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ccneg_build.verify import negation_labels

RELEASED_FILE = "ccneg_preprocessed.pt"
IMAGE_SUBDIR = "ccneg_images/cc3m_subset_images_extracted_final"
RELEASED_TOTAL = 228_246
RELEASED_EVAL = 40_000
#: ``source`` column of imported rows (ids are ``make_id(SOURCE_NAME, index, caption)``).
SOURCE_NAME = "ccneg-official"
GENERATOR = {"backend": "released", "model": "text-bison-001", "version": "CC-Neg release", "fallback_from": None}
PROMPT_VERSION = "cc-neg-release"


class ReleasedFormatError(ValueError):
    """The released file cannot be read as CC-Neg; the message names the file and the fix."""


def released_eval_size(total: int) -> int:
    """The released split rule: the last 40,000 of 228,246 rows are eval.

    A file of at least 228,246 rows keeps exactly the last 40,000; a smaller file (a
    fixture, a subset) keeps the same share, 40,000 / 228,246 (17.5 %), rounded.
    """
    if total >= RELEASED_TOTAL:
        return RELEASED_EVAL
    return round(total * RELEASED_EVAL / RELEASED_TOTAL)


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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(data, str(temporary))
    torch.load(str(temporary), map_location="cpu", weights_only=True)
    os.replace(temporary, path)


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


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _pairs(decomposition: Any) -> list[dict[str, str]] | None:
    pairs = decomposition.get("object-predicate-pairs") if isinstance(decomposition, dict) else None
    if not isinstance(pairs, list):
        return None
    return [{"object": str(p.get("object", "")), "predicate": str(p.get("predicate", ""))}
            for p in pairs if isinstance(p, dict)]


def _labels(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def record_fields(annotation: dict[str, Any]) -> dict[str, Any]:
    """The record columns (text only, no id/image/split) that one annotation determines."""
    meta = annotation.get("json") if isinstance(annotation.get("json"), dict) else {}
    sop = annotation.get("sop_data") if isinstance(annotation.get("sop_data"), dict) else {}
    decomposition = sop.get("sop_decomposition") if isinstance(sop.get("sop_decomposition"), dict) else {}
    caption = _text(meta.get("caption", annotation.get("caption")))
    negated = _text(sop.get("negative-prompt"))
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
