"""Publishing: finished shards -> the dataset files users load.

Runs after every shard is marked done, on whatever engine produced them. It streams the
parts in input order (one part in memory at a time), assigns each accepted row its split
(:mod:`ccneg_build.splits`), and writes ``data/{split}-NNNNN-of-NNNNN.parquet``,
``rejected/rejected-NNNNN-of-NNNNN.parquet`` and the id lists ``splits/{split}.txt``.
The same parts always give byte-identical files, so a resumed run equals an
uninterrupted one.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import pyarrow as pa

from ccneg_core.layout import DATA_DIR, REJECTED_DIR, SPLITS_DIR, STATE_DIR, shard_name, split_list
from ccneg_build.outdir import Ledger, remove_stale
from ccneg_core.record import RECORD_SCHEMA, REJECT_SCHEMA, StepStats
from ccneg_build.shards import PartStore, ShardPlan
from ccneg_build.splits import SPLITS, TRAIN, SplitAssigner
from ccneg_build.splits import EvalSize
from ccneg_core.writer import PendingFile, SplitFileWriter, hub_schema


@dataclass
class Published:
    """What publishing wrote: rows per split, files, and the summed shard counts."""

    split_rows: dict[str, int]
    rejected_rows: int
    files: list[dict[str, Any]]
    stats: StepStats
    examples: list[dict[str, Any]] = field(default_factory=list)
    distributions: dict[str, dict[str, int]] = field(default_factory=dict)


def publish(out: Path, store: PartStore, plans: Sequence[ShardPlan], eval_size: EvalSize,
            rows_per_file: int, assigner: SplitAssigner | None = None, progress: bool = False,
            describe: Callable[[PartStore, Sequence[ShardPlan], Published], None] | None = None) -> Published:
    """Write the published files from the finished parts of ``plans`` (all must be done).

    ``assigner`` replaces the id-hash split (``import-official`` keeps the released split);
    ``progress`` shows a bar on stderr while the data files are written. The records' schema
    is the store's (that of the run's output style); ``describe`` fills the card's
    distributions and examples for a style whose records are not the ccneg style's.
    """
    out = Path(out)
    missing = [p for p in plans if not store.is_done(p)]
    if missing:
        raise RuntimeError(f"{len(missing)} shards are not finished (first: rows {missing[0].start}-{missing[0].end})")
    _remove_temporaries(out)
    stats = StepStats()
    rejected_rows = 0
    for plan in plans:
        marker = store.marker(plan)
        stats.merge(marker["counts"])
        rejected_rows += marker["rejected"]

    assigner = assigner or SplitAssigner(eval_size)
    if assigner.needs_ids:
        assigner.prepare(_ids(store, plans))
    split_rows = {name: 0 for name in SPLITS}
    for row_id in _ids(store, plans):
        split_rows[assigner.split_of(row_id)] += 1

    Ledger(out).claim(_planned_files(split_rows, rejected_rows, rows_per_file))
    files = _write_data(out, store, _with_bar(plans, progress), assigner, split_rows, rows_per_file)
    files += _write_rejected(out, store, plans, rejected_rows, rows_per_file)
    remove_stale(out, DATA_DIR, {f["path"] for f in files})
    remove_stale(out, REJECTED_DIR, {f["path"] for f in files})
    published = Published(split_rows=split_rows, rejected_rows=rejected_rows, files=files, stats=stats)
    (describe or _describe_content)(store, plans, published)
    for example in published.examples:  # the card shows each example's split
        example["split"] = assigner.split_of(example["id"])
    return published


def _planned_files(split_rows: dict[str, int], rejected_rows: int, rows_per_file: int) -> list[str]:
    """Every published file this publication will write (claimed in the ledger first)."""
    planned = [("rejected", REJECTED_DIR, rejected_rows)]
    planned += [(s, DATA_DIR, split_rows[s]) for s in SPLITS if split_rows[s] > 0 or s == TRAIN]
    names = []
    for prefix, folder, rows in planned:
        count = max(1, -(-rows // rows_per_file))
        names += [f"{folder}/{shard_name(prefix, i, count)}" for i in range(count)]
    return names


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


def _write_data(out: Path, store: PartStore, plans: Sequence[ShardPlan], assigner: SplitAssigner,
                split_rows: dict[str, int], rows_per_file: int) -> list[dict[str, Any]]:
    record_schema = getattr(store, "schema", RECORD_SCHEMA)
    schema = hub_schema(record_schema)
    names = [s for s in SPLITS if split_rows[s] > 0 or s == TRAIN]
    writers = {s: SplitFileWriter(out / DATA_DIR, s, split_rows[s], rows_per_file, schema) for s in names}
    id_files = {s: _IdList(out / split_list(s)) for s in names}
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
        files = []
        for name in names:
            files += [{**f, "path": f"{DATA_DIR}/{f['path']}", "split": name} for f in writers[name].close()]
            id_files[name].commit()
    finally:
        for handle in id_files.values():
            handle.discard()
    for stale in set(SPLITS) - set(names):
        (out / split_list(stale)).unlink(missing_ok=True)
    return files


def _write_rejected(out: Path, store: PartStore, plans: Sequence[ShardPlan], total: int,
                    rows_per_file: int) -> list[dict[str, Any]]:
    writer = SplitFileWriter(out / REJECTED_DIR, "rejected", total, rows_per_file, REJECT_SCHEMA)
    for plan in plans:
        table = store.read_rejects(plan)
        if table.num_rows:
            writer.write(table)
    return [{**f, "path": f"{REJECTED_DIR}/{f['path']}", "split": "rejected"} for f in writer.close()]


def _remove_temporaries(out: Path) -> None:
    """Delete half-written files (``.NAME.tmp-PID``) that a killed run left behind."""
    for folder in (out / DATA_DIR, out / REJECTED_DIR, out / SPLITS_DIR, out / STATE_DIR / "parts", out):
        if folder.exists():
            for path in folder.glob(".*.tmp-*"):
                path.unlink(missing_ok=True)


class _IdList:
    """An id list file written to a temporary name and renamed when complete."""

    def __init__(self, path: Path):
        self.path = path
        self.pending = PendingFile(path)
        self.handle = self.pending.tmp.open("w", encoding="utf-8")

    def extend(self, ids: list[str]) -> None:
        self.handle.writelines(i + "\n" for i in ids)

    def commit(self) -> None:
        self.handle.close()
        self.pending.commit()

    def discard(self) -> None:
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
