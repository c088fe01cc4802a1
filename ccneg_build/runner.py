"""Shards, one batch's run through the pipeline steps, completion markers.

The work is cut into *shards* of ``--shard-size`` consecutive input rows. A shard is named
by its content (its row range, its rows' ids and the run's settings), processed as one
batch by :func:`process_batch` (the steps of :mod:`ccneg_build.steps`: read checks ->
images -> negate -> verify), and stored by :class:`PartStore` as two Parquet files plus a
completion marker, each written atomically. A rerun skips every shard whose marker exists,
so after a crash only the missing shards are computed, and because every step depends only
on the row (never on order, batch or worker), the result is identical.

Engines decide *where* shards run: :mod:`ccneg_build.engines.local` (this process or a
process pool); a distributed engine builds the steps once per worker with
:func:`ccneg_build.steps.build_steps`, calls :func:`process_batch` / :func:`process_shard`
and then the same :func:`ccneg_build.publish.publish` step.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import pyarrow.parquet as pq

from ccneg_build.outdir import STATE_DIR
from ccneg_build.record import Rejection, SourceRow, StepStats, conform
from ccneg_build.steps.base import BatchContext, Item, Step
from ccneg_build.writer import (
    atomic_write_json,
    atomic_write_table,
    record_row,
    records_table,
    reject_row,
    rejects_table,
)


@dataclass
class BatchResult:
    """What one batch produced: accepted rows, rejected rows, and the counts behind them."""

    records: list[dict[str, Any]]
    rejects: list[dict[str, Any]]
    stats: StepStats


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


# ----------------------------------------------------------------------------- one batch


def process_batch(rows: Sequence[SourceRow], steps: Sequence[Step], scratch: Path | None = None) -> BatchResult:
    """Run one batch through ``steps``; pure apart from what the steps themselves touch.

    Every row ends in exactly one of ``records`` / ``rejects``, and both keep input order.
    ``scratch`` is the shard's folder for files a step keeps across a crash (downloads).
    """
    stats = StepStats()
    stats.add("rows_read", len(rows))
    context = BatchContext(scratch or Path("."))
    outcome: dict[int, Item | Rejection] = {}
    live: list[tuple[int, Item]] = [(position, Item(row)) for position, row in enumerate(rows)]
    for step in steps:
        if not live:
            break
        results = step.process([item for _, item in live], context)
        if len(results) != len(live):
            raise RuntimeError(f"pipeline step {step.name!r} returned {len(results)} results for {len(live)} rows")
        kept: list[tuple[int, Item]] = []
        for (position, _item), result in zip(live, results):
            if isinstance(result, Rejection):
                outcome[position] = result
            else:
                kept.append((position, result))
        live = kept
    for step in steps:
        stats.merge(step.take_stats())
    for position, item in live:
        outcome[position] = item

    records: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    for position, row in enumerate(rows):
        result = outcome[position]
        if isinstance(result, Rejection):
            rejects.append(reject_row(row, result))
            stats.add(f"rejected:{result.reason}")
            stats.add(f"stage:{result.stage}")
            continue
        if result.negation is None or result.verdict is None:
            raise RuntimeError("a row left the pipeline without a verified negation: the steps lack negate/verify")
        records.append(record_row(result.row, result.negation, result.verdict))
        stats.add("accepted")
        if result.negation.generator.fallback_from:
            stats.add("accepted_by_fallback")
    return BatchResult(records=records, rejects=rejects, stats=stats)


# ----------------------------------------------------------------------------- shards


def shard_key(run_fingerprint: str, start: int, end: int, ids: Iterable[str]) -> str:
    """Name a shard by everything that determines its output."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(f"{run_fingerprint}\x1f{start}\x1f{end}".encode())
    for row_id in ids:
        digest.update(b"\x1f" + row_id.encode())
    return digest.hexdigest()


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
            yield _plan(index, start, batch, run_fingerprint), batch
            index, start, batch = index + 1, start + len(batch), []
    if batch:
        yield _plan(index, start, batch, run_fingerprint), batch


def _plan(index: int, start: int, batch: list[SourceRow], run_fingerprint: str) -> ShardPlan:
    end = start + len(batch)
    return ShardPlan(index, start, end, shard_key(run_fingerprint, start, end, (r.id for r in batch)))


class PartStore:
    """The working files of a run under ``OUT/.ccneg/parts``: one trio per finished shard.

    ``<stem>.records.parquet`` and ``<stem>.rejected.parquet`` hold the shard's rows; the
    marker ``<stem>.done.json`` (written last) holds its counts. A shard is finished
    exactly when its marker exists.
    """

    def __init__(self, out: Path):
        self.folder = Path(out) / STATE_DIR / "parts"

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

    def save(self, plan: ShardPlan, result: BatchResult, seconds: float) -> dict[str, Any]:
        """Write the shard's rows, then its marker; returns the marker."""
        atomic_write_table(self.records_path(plan), records_table(result.records))
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

    def read_records(self, plan: ShardPlan, columns: list[str] | None = None):  # -> pa.Table
        table = pq.read_table(self.records_path(plan), columns=columns)
        return conform(table) if columns is None else table  # parts of an older version lack new columns

    def read_rejects(self, plan: ShardPlan):  # -> pa.Table
        return pq.read_table(self.rejects_path(plan))


def process_shard(plan: ShardPlan, rows: Sequence[SourceRow], steps: Sequence[Step], store: PartStore) -> dict[str, Any]:
    """Process one shard and store it with its completion marker; returns the marker."""
    started = time.perf_counter()
    result = process_batch(rows, steps, store.image_dir(plan))
    marker = store.save(plan, result, time.perf_counter() - started)
    # the shard's images now live in its records part: free the download store
    shutil.rmtree(store.image_dir(plan), ignore_errors=True)
    return marker


def strip_images(rows: Iterable[SourceRow]) -> Iterator[SourceRow]:
    """With ``--images none``, rows carry no image even if the input had one."""
    for row in rows:
        yield dataclasses.replace(row, image=None) if row.image is not None else row
