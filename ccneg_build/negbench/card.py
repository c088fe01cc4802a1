"""The dataset card of a ``--style negbench`` build: what the rows and the CSV files hold, and how they were made.

It keeps the ccneg card's parts that do not depend on the style (YAML header, statistics,
images line, licence note) and says what is particular to this style: the templates, where
absent objects came from, the CSV configurations and their column layout.
"""

from __future__ import annotations

from typing import Any

from ccneg_build.card_parts import CITATION, LICENCE_NOTE, images_line, statistics


NEGBENCH_CITATION = """@inproceedings{alhamoud2025vision,
  title     = {Vision-Language Models Do Not Understand Negation},
  author    = {Alhamoud, Kumail and Alshammari, Shaden and Tian, Yonglong and Li, Guohao and Torr, Philip and
               Kim, Yoon and Ghassemi, Marzyeh},
  booktitle = {Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  year      = {2025},
  note      = {arXiv:2501.09425}
}"""


def header_changes(header: dict[str, Any], manifest: dict[str, Any], present: list[str]) -> dict[str, Any]:
    """The ccneg header with this style's name and tags.

    The CSV files get no ``configs`` entry: ``datasets`` builds every configuration of a folder
    with one file format, so a CSV configuration beside the Parquet ones breaks ``load_dataset``.
    """
    header["pretty_name"] = "NegBench-style negation MCQ and retrieval data (ccneg)"
    header["task_categories"] = ["zero-shot-image-classification", "image-to-text", "text-to-image",
                                 "multiple-choice"]
    header["tags"] = ["negation", "clip", "negbench", "multiple-choice", "vision-language"]
    return header


def render_negbench_card(manifest: dict[str, Any], header: str) -> str:
    counts = manifest["counts"]
    facts = manifest.get("negbench", {})
    settings = manifest.get("settings", {}).get("negbench", {})
    splits = ", ".join(counts["splits"])
    source = settings.get("absent_source")
    absent_how = ("objects that often appear in the corpus with the row's objects but not in this row "
                  "(co-occurrence statistics over the whole input)" if source == "cooccurrence"
                  else f"objects an LLM (`{manifest.get('model')}`) proposed as plausible but absent")
    sections = [
        "---\n" + header + "---\n",
        "# NegBench-style negation data\n",
        "Each row names the objects an image shows (from its caption, and its image labels when the input has "
        "them) and one object it does **not** show, and asks a 4-way multiple-choice question about them in "
        "the three templates of NegBench ([arXiv 2501.09425](https://arxiv.org/abs/2501.09425)): "
        "*affirmation* (`positive`, \"This image features a dog.\"), *negation* (`negative`, \"This image does "
        "not feature a cat.\") and *hybrid* (\"This image features a dog, but not a cat.\"). It also holds a "
        "negated retrieval caption (the caption with a clause about the absent object). The absent object is "
        "never one the caption mentions, nor its plural, a synonym, a kind or a category of one.\n",
        "## Files\n\n"
        "- `data/{split}-*.parquet`: every field of every row (the options' templates, the objects, where the "
        "absent object came from, the candidates the rules refused and why).\n"
        "- `negbench/mcq_{split}.csv`: `correct_answer, caption_0..caption_3, correct_answer_template, image_path`, "
        "NegBench's own MCQ layout, options shuffled (the right one may be at any position).\n"
        "- `negbench/retrieval_{split}.csv`: `filepath, captions` (a Python list literal), NegBench's retrieval "
        "layout.\n"
        + (f"- `negbench/images/`: the {facts.get('images', 0)} images the CSVs name (paths are relative to "
           "`negbench/`).\n" if facts.get("images") else ""),
        "## Loading\n\n```python\nfrom datasets import load_dataset\n\nds = load_dataset(\"PATH_OR_REPO\")  "
        "# splits: " + splits + "\nrow = ds[\"train\"][0]\n"
        "print(row[\"mcq_options\"], row[\"correct_answer\"])\n"
        "mcq = load_dataset(\"csv\", data_files={\"eval\": \"PATH/negbench/mcq_eval.csv\"})  # the CSV view\n```\n",
        statistics(manifest),
        _distributions(manifest),
        _examples(manifest),
        "## How it was generated\n\n"
        f"- backend: `{manifest.get('backend')}`, model: `{manifest.get('model')}`, seed: `{manifest.get('seed')}`\n"
        f"- ccneg version: `{manifest['versions'].get('ccneg')}`, negbench rules version `{settings.get('version')}`, "
        f"object lexicon `{settings.get('lexicon')}`\n"
        f"- input: `{manifest['inputs'][0].get('path') or manifest['inputs'][0].get('name')}` "
        f"(sha256 `{manifest['inputs'][0].get('sha256', 'n/a')}`)\n"
        f"- steps: parse the caption (spaCy) for its objects; absent objects: {absent_how}; refuse candidates "
        "the caption mentions or names under another form; choose one (seeded per row); write the question in "
        "one of several phrasings, shuffle its options (seeded); split by a hash of the row id.\n"
        + images_line(manifest)
        + "- `manifest.json` holds the full settings, versions, counts and timings.\n",
        "## Licence\n\n" + LICENCE_NOTE.replace("The negated and exclusion captions were",
                                                 "The questions and negated captions were") + "\n",
        "## Citation\n\n```bibtex\n" + NEGBENCH_CITATION + "\n\n" + CITATION + "\n```\n",
    ]
    return "\n".join(sections)


def _distributions(manifest: dict[str, Any]) -> str:
    dist = manifest.get("distributions", {})
    lines = []
    for key, title in (("correct_answer_template", "Template of the right answer"),
                       ("correct_answer", "Position of the right answer"), ("phrasing", "Phrasing"),
                       ("absent_source", "Source of the absent object"),
                       ("absent_object_top20", "Most frequent absent objects")):
        if dist.get(key):
            lines.append(f"{title}: " + ", ".join(f"`{k}` {v}" for k, v in dist[key].items()) + "\n")
    return "\n".join(lines)


def _examples(manifest: dict[str, Any]) -> str:
    examples = manifest.get("examples") or []
    if not examples:
        return ""
    lines = ["## Examples\n", "| caption | present | absent | options (right one in bold) | split |",
             "| --- | --- | --- | --- | --- |"]
    for row in examples:
        options = [f"**{o}**" if i == row.get("correct_answer") else o for i, o in enumerate(row.get("mcq_options") or [])]
        cells = [str(row.get("caption") or ""), ", ".join(row.get("present_objects") or []),
                 str(row.get("absent_object") or ""), " / ".join(options), str(row.get("split") or "")]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
