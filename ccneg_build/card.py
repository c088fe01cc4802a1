"""``OUT/README.md``: the dataset card the Hugging Face Hub shows and ``load_dataset`` reads.

The YAML header declares the ``configs`` (which files are which split: the exact files of
the manifest, never a glob, so ``load_dataset`` reads one publication and nothing else; see
:mod:`ccneg_build.publication`) and the features (so the viewer shows the image, both
captions, the decomposition and the split); the body
gives statistics, examples, how the data was generated, the Conceptual Captions licence
note and the paper's citation. Everything comes from the manifest, so the card never
says something the manifest does not.
"""

from __future__ import annotations

from typing import Any

import yaml

from ccneg_core.layout import DATA_DIR, REJECTED_DIR
from ccneg_core.record import DEFAULT_STYLE, RECORD_SCHEMA, record_schema
from ccneg_build.splits import SPLITS, TRAIN
from ccneg_build.card_parts import CITATION, LICENCE_NOTE, images_line, statistics, visual_line
from ccneg_build.negbench.card import header_changes, render_negbench_card


def _size_category(n: int) -> str:
    for bound, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < bound:
            return label
    return "10M<n<100M"


def features_yaml(schema: Any = RECORD_SCHEMA) -> list[dict[str, Any]]:
    """The record schema as the Hub's YAML ``features`` list (image as an Image feature)."""
    import datasets
    from datasets.info import DatasetInfo

    features = datasets.Features.from_arrow_schema(schema)
    features["image"] = datasets.Image()
    return DatasetInfo(features=features)._to_yaml_dict()["features"]


def card_header(manifest: dict[str, Any]) -> dict[str, Any]:
    """The YAML header as a dict (also checked by tests and by a Hub upload)."""
    split_rows = manifest["counts"]["splits"]
    present = [s for s in SPLITS if split_rows.get(s, 0) > 0 or s == TRAIN]
    total = sum(split_rows.values())
    style = manifest.get("style", DEFAULT_STYLE)
    if style == "negbench":
        return header_changes(_header(manifest, present, total, record_schema(style)), manifest, present)
    return _header(manifest, present, total, RECORD_SCHEMA)


def _header(manifest: dict[str, Any], present: list[str], total: int, schema: Any) -> dict[str, Any]:
    split_rows = manifest["counts"]["splits"]
    return {
        "pretty_name": "CC-Neg-style negation captions (ccneg)",
        "language": ["en"],
        "license": "other",
        "task_categories": ["zero-shot-image-classification", "image-to-text", "text-to-image"],
        "tags": ["negation", "clip", "cc-neg", "conceptual-captions", "vision-language"],
        "size_categories": [_size_category(total)],
        "configs": [
            {
                "config_name": "default",
                "default": True,
                "data_files": [{"split": s, "path": _paths(manifest, DATA_DIR, s)} for s in present],
            },
            {"config_name": "rejected",
             "data_files": [{"split": "rejected", "path": _paths(manifest, REJECTED_DIR, "rejected")}]},
        ],
        "dataset_info": [
            {
                "config_name": "default",
                "features": features_yaml(schema),
                "splits": [{"name": s, "num_bytes": _split_bytes(manifest, s), "num_examples": split_rows.get(s, 0)}
                           for s in present],
            }
        ],
    }


def _paths(manifest: dict[str, Any], folder: str, split: str) -> list[str]:
    """The exact published files of ``split`` under ``folder``, as the manifest lists them."""
    return [f["path"] for f in manifest.get("files", [])
            if f.get("split") == split and str(f.get("path", "")).startswith(folder + "/")]


def _split_bytes(manifest: dict[str, Any], split: str) -> int:
    """Bytes of a split's Parquet files (other published files, e.g. the negbench CSVs, are not the split)."""
    return sum(int(f.get("bytes", 0)) for f in manifest.get("files", [])
               if f.get("split") == split and str(f.get("path", "")).startswith(DATA_DIR + "/"))


def render_card(manifest: dict[str, Any]) -> str:
    """The full README.md text for a built dataset."""
    header = yaml.safe_dump(card_header(manifest), sort_keys=False, allow_unicode=True, width=1000)
    if manifest.get("style", DEFAULT_STYLE) == "negbench":
        return render_negbench_card(manifest, header)
    counts = manifest["counts"]
    negator = manifest.get("negator", {})
    sections = [
        "---\n" + header + "---\n",
        "# CC-Neg-style negation captions\n",
        "Each row pairs a caption with a **negated caption** (the link between the subject and one "
        "object negated with *not*, *no*, *without* or *never*) and an **exclusion caption** (that object "
        "and its predicate removed), following the method of CC-Neg / CoN-CLIP "
        "([arXiv 2403.20312](https://arxiv.org/abs/2403.20312)). Every row passed the same automatic "
        "checks; rows that failed are kept in the `rejected` configuration with a reason.\n",
        "## Loading\n\n```python\nfrom datasets import load_dataset\n\nds = load_dataset(\"PATH_OR_REPO\")  "
        "# splits: " + ", ".join(counts["splits"]) + "\nrow = ds[\"train\"][0]\n"
        "print(row[\"caption\"], \"->\", row[\"negated_caption\"])\n```\n",
        statistics(manifest),
        _examples(manifest),
        "## How it was generated\n\n"
        f"- backend: `{manifest.get('backend')}`, model: `{manifest.get('model')}`, seed: `{manifest.get('seed')}`\n"
        f"- ccneg version: `{manifest['versions'].get('ccneg')}`, record schema version "
        f"`{manifest['ccneg_schema_version']}`\n"
        f"- input: `{manifest['inputs'][0].get('path') or manifest['inputs'][0].get('name')}` "
        f"(sha256 `{manifest['inputs'][0].get('sha256', 'n/a')}`)\n"
        + (f"- prompt version: `{negator['prompt_version']}`\n" if negator.get("prompt_version") else "")
        + "- steps: decompose the caption into a subject and object-predicate pairs; choose one pair "
        "(seeded per row); write the negated and exclusion captions; filter with the shared checks; "
        "split by a hash of the row id (id lists in `splits/`).\n"
        + (f"- split: {manifest['split_rule']} (id lists in `splits/`)\n" if manifest.get("split_rule") else "")
        + images_line(manifest)
        + visual_line(manifest)
        + "- `manifest.json` holds the full settings, versions, counts and timings.\n",
        "## Licence\n\n" + LICENCE_NOTE + "\n",
        "## Citation\n\n```bibtex\n" + CITATION + "\n```\n",
    ]
    return "\n".join(sections)


def _examples(manifest: dict[str, Any]) -> str:
    examples = manifest.get("examples") or []
    if not examples:
        return ""
    lines = ["## Examples\n",
             "The dataset viewer shows every column, the image included; a few rows as text:\n",
             "| caption | negated caption | exclusion caption | decomposition | split |",
             "| --- | --- | --- | --- | --- |"]
    for row in examples:
        cells = [str(row.get(k) or "") for k in ("caption", "negated_caption", "exclusion_caption")]
        cells += [_decomposition(row), str(row.get("split") or "")]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _decomposition(row: dict[str, Any]) -> str:
    """``subject: woman; (table, next to)*, (dining area, in the)``: * marks the negated pair."""
    if row.get("subject") is None and not row.get("relations"):
        return ""
    pairs = []
    for relation in row.get("relations") or []:
        chosen = relation.get("object") == row.get("negated_object") and \
            relation.get("predicate") == row.get("negated_predicate")
        pairs.append(f"({relation.get('object')}, {relation.get('predicate')})" + ("*" if chosen else ""))
    return f"subject: {row.get('subject')}; " + ", ".join(pairs)
