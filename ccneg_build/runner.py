"""Shards, one batch's run through the pipeline steps, completion markers.

The work is cut into *shards* of ``--shard-size`` consecutive input rows. A shard is named
by its content (its row range, its rows' ids and the run's settings), processed as one
batch by :func:`process_batch` (the steps of :mod:`ccneg_build.steps`: read checks ->
images -> negate -> verify), and stored by :class:`PartStore` as two Parquet files plus a
completion marker, each written atomically. A rerun skips every shard whose marker exists,
so after a crash only the missing shards are computed, and because every step depends only
on the row (never on order, batch or worker), the result is identical.

Engines (:mod:`ccneg_build.engines`: this process, a process pool, Ray) decide *where* shards
run; each builds the steps once where the shards run with
:func:`ccneg_build.steps.registry.build_steps`, calls :func:`process_batch` / :func:`process_shard`
and then the same :func:`ccneg_build.publish.publish` step.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from ccneg_core.record import Rejection, SourceRow, StepStats, record_row, reject_row
from ccneg_build.shards import PartStore, ShardPlan
from ccneg_build.steps.base import BatchContext, Item, Step


@dataclass
class BatchResult:
    """What one batch produced: accepted rows, rejected rows, and the counts behind them."""

    records: list[dict[str, Any]]
    rejects: list[dict[str, Any]]
    stats: StepStats


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
        if result.record is not None:  # a step of another output style wrote the record itself
            records.append(result.record)
            stats.add("accepted")
            continue
        if result.negation is None or result.verdict is None:
            raise RuntimeError("a row left the pipeline without a verified negation: the steps lack negate/verify")
        records.append(record_row(result.row, result.negation, result.verdict))
        stats.add("accepted")
        if result.negation.generator.fallback_from:
            stats.add("accepted_by_fallback")
    return BatchResult(records=records, rejects=rejects, stats=stats)


# ----------------------------------------------------------------------------- shards
# (naming, the part files and the "skip what is done" loop live in ccneg_build.shards)


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
