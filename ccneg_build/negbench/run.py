"""The negbench style's parts of a build around the shards: the statistics pass, the card's content, the CSVs.

:func:`run_build <ccneg_build.orchestration.run_build>` calls :func:`before_shards` once the output
folder is prepared (the co-occurrence pass, when the run's absent objects need it),
:func:`describe_content` while publishing (distributions and examples for the card) and
:func:`after_publish` once the data files are written (``OUT/negbench/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ccneg_build.negbench.settings import uses_statistics
from ccneg_core.layout import DATA_DIR
from ccneg_core.record import SourceRow
from ccneg_build.negbench.cooccurrence import prepare_statistics
from ccneg_build.negbench.objects import ObjectReader
from ccneg_build.shards import iter_shards
from ccneg_build.publish import _generator_label
from ccneg_build.negbench.export import export_negbench

if TYPE_CHECKING:
    from ccneg_build.config import BuildConfig
    from ccneg_build.publish import Published
    from ccneg_build.shards import PartStore, ShardPlan


def before_shards(config: "BuildConfig", rows: Iterable[SourceRow], run_fingerprint: str,
                  expected_rows: int | None) -> dict[str, Any] | None:
    """Run (or resume) the co-occurrence pass over the same shards the build will process."""
    if not uses_statistics(config):
        return None

    reader = ObjectReader()
    return prepare_statistics(config.out, iter_shards(rows, config.shard_size, run_fingerprint), reader.concepts,
                              progress=config.progress, total_rows=expected_rows)


def describe_content(store: "PartStore", plans: Sequence["ShardPlan"], published: "Published",
                     max_examples: int = 5) -> None:
    """Distributions (correct template, phrasing, absent source, options' templates) and a few examples."""
    columns = ["id", "caption", "present_objects", "absent_object", "absent_source", "mcq_options", "mcq_templates",
               "correct_answer", "correct_answer_template", "phrasing", "retrieval_captions", "generator"]
    dist: dict[str, dict[str, int]] = {"correct_answer_template": {}, "correct_answer": {}, "phrasing": {},
                                       "absent_source": {}, "absent_object": {}, "generator": {}}
    for plan in plans:
        table = store.read_records(plan, columns=columns)
        for key in dist:
            for value in table.column(key).to_pylist():
                value = _generator_label(value) if key == "generator" else value
                dist[key][str(value)] = dist[key].get(str(value), 0) + 1
        if len(published.examples) < max_examples:
            for row in table.slice(0, max_examples - len(published.examples)).to_pylist():
                row["present_objects"] = [o["name"] for o in row["present_objects"] or []]
                row.pop("generator", None)
                published.examples.append(row)
    top_absent = sorted(dist.pop("absent_object").items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    published.distributions = {k: dict(sorted(v.items())) for k, v in dist.items()}
    published.distributions["absent_object_top20"] = dict(top_absent)


def after_publish(out: Path, published: "Published") -> dict[str, Any]:
    """Write ``OUT/negbench/`` and add its CSVs to the published files; returns the manifest's ``negbench`` facts."""
    exported = export_negbench(out, published.publication.staged(DATA_DIR))
    return {"csv_files": exported["files"], "images": exported["images"], "image_bytes": exported["image_bytes"]}
