"""Publishing: finished shards -> the dataset files users load.

Runs after every shard is marked done, on whatever engine produced them. It streams the
parts in input order (one part in memory at a time), assigns each accepted row its split
(:mod:`ccneg_build.splits`), and stages ``data/{split}-NNNNN-of-NNNNN.parquet``,
``rejected/rejected-NNNNN-of-NNNNN.parquet`` and the id lists ``splits/{split}.txt`` in a
:class:`~ccneg_build.publication.Publication`; the caller adds the manifest and the card and
commits it, which puts every file in place under its published name at once. The same parts
always give byte-identical files (and so the same names), so a resumed run equals an
uninterrupted one. A run that accepted no row publishes nothing (:class:`NothingAccepted`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import pyarrow as pa

from ccneg_core.layout import DATA_DIR, REJECTED_DIR, STATE_DIR, split_list
from ccneg_build.publication import Publication
from ccneg_core.record import RECORD_SCHEMA, REJECT_SCHEMA, StepStats
from ccneg_build.shards import PartStore, ShardPlan
from ccneg_build.splits import SPLITS, TRAIN, SplitAssigner
from ccneg_build.splits import EvalSize
from ccneg_core.writer import SplitFileWriter, hub_schema


class NothingAccepted(RuntimeError):
    """Every row was rejected: there is no dataset to publish (the message names the leading reasons)."""


@dataclass
class Published:
    """What publishing staged: rows per split, the publication, and the summed shard counts."""

    split_rows: dict[str, int]
    rejected_rows: int
    publication: Publication
    stats: StepStats
    examples: list[dict[str, Any]] = field(default_factory=list)
    distributions: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def files(self) -> list[dict[str, Any]]:
        """The manifest's file list (seals the publication: stage every file before asking)."""
        return self.publication.files()


def publish(out: Path, store: PartStore, plans: Sequence[ShardPlan], eval_size: EvalSize,
            rows_per_file: int, assigner: SplitAssigner | None = None, progress: bool = False,
            describe: Callable[[PartStore, Sequence[ShardPlan], Published], None] | None = None) -> Published:
    """Stage the published files from the finished parts of ``plans`` (all must be done).

    ``assigner`` replaces the id-hash split (``import-official`` keeps the released split);
    ``progress`` shows a bar on stderr while the data files are written. The records' schema
    is the store's (that of the run's output style); ``describe`` fills the card's
    distributions and examples for a style whose records are not the ccneg style's. Nothing is
    visible to a reader until the caller commits ``Published.publication``. Raises
    :class:`NothingAccepted` (before writing anything) when no row was accepted.
    """
    out = Path(out)
    missing = [p for p in plans if not store.is_done(p)]
    if missing:
        raise RuntimeError(f"{len(missing)} shards are not finished (first: rows {missing[0].start}-{missing[0].end})")
    _remove_part_temporaries(out)
    stats = StepStats()
    rejected_rows = 0
    for plan in plans:
        marker = store.marker(plan)
        stats.merge(marker["counts"])
        rejected_rows += marker["rejected"]
    if not stats.counts.get("accepted"):
        raise NothingAccepted(_nothing_accepted(store, plans, stats))

    assigner = assigner or SplitAssigner(eval_size)
    if assigner.needs_ids:
        assigner.prepare(_ids(store, plans))
    split_rows = {name: 0 for name in SPLITS}
    for row_id in _ids(store, plans):
        split_rows[assigner.split_of(row_id)] += 1

    publication = Publication(out)
    try:
        _write_data(publication, store, _with_bar(plans, progress), assigner, split_rows, rows_per_file)
        _write_rejected(publication, store, plans, rejected_rows, rows_per_file)
    except BaseException:
        publication.discard()
        raise
    published = Published(split_rows=split_rows, rejected_rows=rejected_rows, publication=publication, stats=stats)
    (describe or _describe_content)(store, plans, published)
    for example in published.examples:  # the card shows each example's split
        example["split"] = assigner.split_of(example["id"])
    return published


def _nothing_accepted(store: PartStore, plans: Sequence[ShardPlan], stats: StepStats) -> str:
    """One line: rows read, the leading reject reasons, the first rejected row's detail."""
    reasons = sorted(((k.split(":", 1)[1], v) for k, v in stats.counts.items() if k.startswith("rejected:")),
                     key=lambda kv: (-kv[1], kv[0]))
    leading = ", ".join(f"{reason} {n}" for reason, n in reasons[:3]) + (", ..." if len(reasons) > 3 else "")
    example = ""
    for plan in plans:
        rejects = store.read_rejects(plan)
        if rejects.num_rows:
            first = rejects.slice(0, 1).to_pylist()[0]
            example = f"; first: row {first['source_row']}: {first['reason']} ({first['detail']})"
            break
    rows = stats.counts.get("rows_read", 0)
    advice = "check the input's columns and encoding; " if stats.counts.get("stage:read", 0) * 2 > rows else ""
    return (f"no row was accepted: {rows} rows read, all rejected ({leading or 'no reason recorded'}){example}; "
            f"nothing was published: {advice}`ccneg-build reasons` explains every code")


def _with_bar(plans: Sequence[ShardPlan], enabled: bool) -> Sequence[ShardPlan]:
    """The plans, behind a progress bar on stderr when there are many to publish."""
    if not enabled or len(plans) < 20:
        return plans
    from tqdm import tqdm

    tqdm.monitor_interval = 0
    return tqdm(plans, desc="publishing", unit="shard", file=sys.stderr, leave=False)  # type: ignore[return-value]


def _ids(store: PartStore, plans: Sequence[ShardPlan]) -> Iterator[str]:
    for plan in plans:
        yield from store.read_records(plan, columns=["id"]).column("id").to_pylist()


def _write_data(publication: Publication, store: PartStore, plans: Sequence[ShardPlan], assigner: SplitAssigner,
                split_rows: dict[str, int], rows_per_file: int) -> None:
    record_schema = getattr(store, "schema", RECORD_SCHEMA)
    schema = hub_schema(record_schema)
    names = [s for s in SPLITS if split_rows[s] > 0 or s == TRAIN]
    writers = {s: SplitFileWriter(publication, DATA_DIR, s, split_rows[s], rows_per_file, schema, s) for s in names}
    id_files = {s: _IdList(publication, s) for s in names}
    split_index = record_schema.get_field_index("split")
    try:
        for plan in plans:
            table = store.read_records(plan)
            ids = table.column("id").to_pylist()
            splits = [assigner.split_of(i) for i in ids]
            table = table.set_column(split_index, "split", pa.array(splits, pa.string()))
            for name in names:
                mask = pa.array([s == name for s in splits], pa.bool_())  # typed: a shard may have no accepted row
                part = table.filter(mask)
                if part.num_rows:
                    writers[name].write(part)
                    id_files[name].extend(part.column("id").to_pylist())
        for name in names:
            writers[name].close()
            id_files[name].finish()
    finally:
        for handle in id_files.values():
            handle.discard()


def _write_rejected(publication: Publication, store: PartStore, plans: Sequence[ShardPlan], total: int,
                    rows_per_file: int) -> None:
    writer = SplitFileWriter(publication, REJECTED_DIR, "rejected", total, rows_per_file, REJECT_SCHEMA, "rejected")
    for plan in plans:
        table = store.read_rejects(plan)
        if table.num_rows:
            writer.write(table)
    writer.close()


def _remove_part_temporaries(out: Path) -> None:
    """Delete half-written shard parts and top-level files (``.NAME.tmp-PID``) a killed run left behind
    (a publication cleans the folders it writes into itself)."""
    for folder in (out / STATE_DIR / "parts", out):
        if folder.exists():
            for path in folder.glob(".*.tmp-*"):
                path.unlink(missing_ok=True)


class _IdList:
    """The id list of one split, streamed into the publication as rows are written."""

    def __init__(self, publication: Publication, split: str):
        self.publication, self.split, self.name = publication, split, split_list(split)
        self.pending = publication.stage(self.name)
        self.handle = self.pending.tmp.open("w", encoding="utf-8")
        self.count = 0

    def extend(self, ids: list[str]) -> None:
        self.handle.writelines(i + "\n" for i in ids)
        self.count += len(ids)

    def finish(self) -> None:
        self.handle.close()
        self.publication.add(self.name, self.pending, split=self.split, rows=self.count)

    def discard(self) -> None:
        """Close the file; a list never finished loses its temporary file."""
        if not self.handle.closed:
            self.handle.close()
            self.pending.discard()


def _describe_content(store: PartStore, plans: Sequence[ShardPlan], published: Published,
                      max_examples: int = 5) -> None:
    """Distributions for the card (cue, type, relation count) and a few example rows."""
    columns = ["id", "caption", "negated_caption", "exclusion_caption", "subject", "relations", "negated_object",
               "negated_predicate", "negation_cue", "negation_type", "num_relations", "generator"]
    dist: dict[str, dict[str, int]] = {"negation_cue": {}, "negation_type": {}, "num_relations": {},
                                       "generator": {}}
    for plan in plans:
        table = store.read_records(plan, columns=columns)
        for key in dist:
            for value in table.column(key).to_pylist():
                if key == "generator":
                    value = _generator_label(value)
                dist[key][str(value)] = dist[key].get(str(value), 0) + 1
        if len(published.examples) < max_examples:
            for row in table.slice(0, max_examples - len(published.examples)).to_pylist():
                row.pop("generator", None)
                published.examples.append(row)
    published.distributions = {k: dict(sorted(v.items())) for k, v in dist.items()}


def _generator_label(generator: dict[str, Any] | None) -> str:
    """``backend/model`` (plus ``<-fallback_from``) of a row's generator, for counting."""
    if not generator:
        return "unknown"
    label = f"{generator.get('backend')}/{generator.get('model')}"
    if generator.get("fallback_from"):
        label += f" (fallback from {generator['fallback_from']})"
    return label
