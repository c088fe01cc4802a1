"""Shard bookkeeping: content-named shards, their stored parts, and the one "skip what is done" loop.

A run's input is cut into *shards* of consecutive rows. Each shard is named by everything
that determines its output (the run's fingerprint, its row range and its rows' ids), so a
rerun with the same settings meets the same names. A finished shard is stored by
:class:`PartStore` as two Parquet parts plus a completion marker written last; a shard is
finished exactly when its marker exists. :class:`ShardLedger` is the loop every engine
(local, process pool, Ray) and the official importer share: it records every shard's plan,
reports finished shards as resumed and hands on only the others.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Protocol, Sequence, TypeVar

import pyarrow.parquet as pq

from ccneg_build.outdir import STATE_DIR
from ccneg_core.record import RECORD_SCHEMA, SourceRow, StepStats, conform, record_schema
from ccneg_core.writer import atomic_write_json, atomic_write_table
from ccneg_core.record import records_table, rejects_table

if TYPE_CHECKING:
    import pyarrow as pa

#: Called for every shard with (plan, marker, resumed): resumed is True for a shard found finished.
OnShard = Callable[["ShardPlan", dict[str, Any], bool], None]

Work = TypeVar("Work")


@dataclass(frozen=True)
class ShardPlan:
    """One shard: input rows ``[start, end)`` and its content-addressed key."""

    index: int
    start: int
    end: int
    key: str

    @property
    def stem(self) -> str:
        return f"{self.start:012d}-{self.key}"


class ShardRows(Protocol):
    """What a processed shard hands to :meth:`PartStore.save` (``runner.BatchResult``)."""

    records: list[dict[str, Any]]
    rejects: list[dict[str, Any]]
    stats: StepStats


def shard_key(run_fingerprint: str, start: int, end: int, ids: Iterable[str]) -> str:
    """Name a shard by everything that determines its output."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(f"{run_fingerprint}\x1f{start}\x1f{end}".encode())
    for row_id in ids:
        digest.update(b"\x1f" + row_id.encode())
    return digest.hexdigest()


def plan_shard(index: int, start: int, ids: Sequence[str], run_fingerprint: str) -> ShardPlan:
    """The plan of shard ``index``: rows ``[start, start + len(ids))`` with these ids."""
    end = start + len(ids)
    return ShardPlan(index, start, end, shard_key(run_fingerprint, start, end, ids))


def iter_shards(
    rows: Iterable[SourceRow], shard_size: int, run_fingerprint: str
) -> Iterator[tuple[ShardPlan, list[SourceRow]]]:
    """Cut a row stream into consecutive shards; holds one shard in memory at a time."""
    batch: list[SourceRow] = []
    index = 0
    start = 0
    for row in rows:
        batch.append(row)
        if len(batch) == shard_size:
            yield plan_shard(index, start, [r.id for r in batch], run_fingerprint), batch
            index, start, batch = index + 1, start + len(batch), []
    if batch:
        yield plan_shard(index, start, [r.id for r in batch], run_fingerprint), batch


class PartStore:
    """The working files of a run under ``OUT/.ccneg/parts``: one trio per finished shard.

    ``<stem>.records.parquet`` and ``<stem>.rejected.parquet`` hold the shard's rows; the
    marker ``<stem>.done.json`` (written last) holds its counts. A shard is finished
    exactly when its marker exists. ``schema`` is the records' schema (that of the run's style).
    """

    def __init__(self, out: Path, schema: "pa.Schema" = RECORD_SCHEMA):
        self.folder = Path(out) / STATE_DIR / "parts"
        self.schema = schema

    @classmethod
    def for_style(cls, out: Path, style: str) -> "PartStore":
        """The store of a run of output style ``style`` (``ccneg``, ``negbench``)."""
        return cls(out, record_schema(style))

    def records_path(self, plan: ShardPlan) -> Path:
        return self.folder / f"{plan.stem}.records.parquet"

    def rejects_path(self, plan: ShardPlan) -> Path:
        return self.folder / f"{plan.stem}.rejected.parquet"

    def marker_path(self, plan: ShardPlan) -> Path:
        return self.folder / f"{plan.stem}.done.json"

    def image_dir(self, plan: ShardPlan) -> Path:
        """Where an image step keeps a shard's downloads so a rerun does not fetch them again."""
        return Path(self.folder).parent / "images" / plan.stem

    def is_done(self, plan: ShardPlan) -> bool:
        return (
            self.marker_path(plan).exists()
            and self.records_path(plan).exists()
            and self.rejects_path(plan).exists()
        )

    def marker(self, plan: ShardPlan) -> dict[str, Any]:
        return json.loads(self.marker_path(plan).read_text(encoding="utf-8"))

    def save(self, plan: ShardPlan, result: ShardRows, seconds: float) -> dict[str, Any]:
        """Write the shard's rows, then its marker; returns the marker."""
        atomic_write_table(self.records_path(plan), records_table(result.records, self.schema))
        atomic_write_table(self.rejects_path(plan), rejects_table(result.rejects))
        marker = {
            "shard": dataclasses.asdict(plan),
            "rows": plan.end - plan.start,
            "accepted": len(result.records),
            "rejected": len(result.rejects),
            "counts": dict(sorted(result.stats.counts.items())),
            "seconds": round(seconds, 4),
        }
        atomic_write_json(self.marker_path(plan), marker)
        return marker

    def read_records(self, plan: ShardPlan, columns: list[str] | None = None) -> "pa.Table":
        table = pq.read_table(self.records_path(plan), columns=columns)
        return conform(table, self.schema) if columns is None else table  # older parts lack new columns

    def read_rejects(self, plan: ShardPlan) -> "pa.Table":
        return pq.read_table(self.rejects_path(plan))


class ShardLedger:
    """The one "skip what is done" loop: every engine and the importer run their shards through it.

    ``for plan, work in ledger.pending(shards)`` yields only unfinished shards; finished ones
    are reported to ``on_shard`` as resumed (with their stored marker) on the way. The caller
    reports each shard it completes with :meth:`finished`; a shard it leaves unfinished (rows
    owed) is simply not reported, stays unmarked, and a rerun meets it again. ``plans`` holds
    every shard seen, in input order, which is what publishing needs.
    """

    def __init__(self, store: PartStore, on_shard: OnShard | None = None) -> None:
        self.store = store
        self.on_shard = on_shard
        self.plans: list[ShardPlan] = []

    def pending(self, shards: Iterable[tuple[ShardPlan, Work]]) -> Iterator[tuple[ShardPlan, Work]]:
        for plan, work in shards:
            self.plans.append(plan)
            if self.store.is_done(plan):
                self._report(plan, self.store.marker(plan), True)
            else:
                yield plan, work

    def finished(self, plan: ShardPlan, marker: dict[str, Any]) -> None:
        """Report a shard this run has just completed (its marker is on disk)."""
        self._report(plan, marker, False)

    def _report(self, plan: ShardPlan, marker: dict[str, Any], resumed: bool) -> None:
        if self.on_shard is not None:
            self.on_shard(plan, marker, resumed)
