"""The pipeline steps every engine runs: shards, one batch's processing, completion markers.

The work is cut into *shards* of ``--shard-size`` consecutive input rows. A shard is named
by its content (its row range, its rows' ids and the run's settings), processed as one
batch by :func:`process_batch` (read errors -> image step -> negator -> shared filter),
and stored by :class:`PartStore` as two Parquet files plus a completion marker, each
written atomically. A rerun skips every shard whose marker exists, so after a crash only
the missing shards are computed, and because every step depends only on the row (never on
order, batch or worker), the result is identical.

Engines decide *where* shards run: :mod:`ccneg_build.engines.local` (this process or a
process pool); a distributed engine can call :func:`process_batch` / :func:`process_shard`
on its own workers and then the same :func:`ccneg_build.publish.publish` step.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from ccneg_build.config import BuildConfig
from ccneg_build.negators.base import Negator, RowsOwed, ServiceUnreachable
from ccneg_build.negators.registry import BackendError
from ccneg_build.record import Negation, Rejection, SourceRow, StepStats, read_rejection, record_row, reject_row
from ccneg_build.shards import PartStore, ShardPlan, iter_shards, shard_key  # noqa: F401 (re-exported)
from ccneg_build.verify import verify

#: An image step: rows in, each row back with its image or as a Rejection (stage "image").
ImageStep = Callable[[Sequence[SourceRow], Path, StepStats], list["SourceRow | Rejection"]]



@dataclass
class BatchResult:
    """What one batch produced: accepted rows, rejected rows, and the counts behind them."""

    records: list[dict[str, Any]]
    rejects: list[dict[str, Any]]
    stats: StepStats


# ----------------------------------------------------------------------------- one batch


def process_batch(
    rows: Sequence[SourceRow],
    negator: Negator,
    image_step: ImageStep | None = None,
    image_dir: Path | None = None,
) -> BatchResult:
    """Run one batch through the pipeline; pure apart from the negator and image step.

    Every row ends in exactly one of ``records`` / ``rejects``, and both keep input order.
    """
    stats = StepStats()
    stats.add("rows_read", len(rows))
    outcome: dict[int, Any] = {}  # position -> Rejection | (row, Negation, Verdict)
    live: list[tuple[int, SourceRow]] = []
    for position, row in enumerate(rows):
        if row.error:
            outcome[position] = read_rejection(row)
        else:
            live.append((position, row))

    if image_step is not None and live:
        fetched = image_step([row for _, row in live], image_dir or Path("."), stats)
        kept: list[tuple[int, SourceRow]] = []
        for (position, _row), result in zip(live, fetched):
            if isinstance(result, Rejection):
                outcome[position] = result
            else:
                kept.append((position, result))
        live = kept

    proposals = _negate(negator, [row for _, row in live])
    take_stats = getattr(negator, "take_stats", None)  # LLM backends: requests, tokens, cost
    if take_stats is not None:
        stats.merge(take_stats())
    for (position, row), proposal in zip(live, proposals):
        if isinstance(proposal, Rejection):
            outcome[position] = proposal
            continue
        judged = verify(row, proposal)
        outcome[position] = judged if isinstance(judged, Rejection) else (row, proposal, judged)

    records: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    for position, row in enumerate(rows):
        result = outcome[position]
        if isinstance(result, Rejection):
            rejects.append(reject_row(row, result))
            stats.add(f"rejected:{result.reason}")
            stats.add(f"stage:{result.stage}")
        else:
            record_source, negation, verdict = result
            records.append(record_row(record_source, negation, verdict))
            stats.add("accepted")
            if negation.generator.fallback_from:
                stats.add("accepted_by_fallback")
    return BatchResult(records=records, rejects=rejects, stats=stats)


def _negate(negator: Negator, rows: list[SourceRow]) -> list[Negation | Rejection]:
    """Call the negator; a backend that raises costs its batch's rows, not the run."""
    if not rows:
        return []
    try:
        proposals = list(negator.negate_batch(rows))
    except (BackendError, ServiceUnreachable):  # every row would fail the same way (a refused key, no server)
        raise
    except RowsOwed:  # no verdict for some rows: the shard stays unfinished
        raise
    except Exception as exc:  # the Negator contract says "must not raise"; be safe anyway
        detail = f"{type(exc).__name__}: {exc}"[:500]
        return [Rejection(reason="negator_error", detail=detail, stage="negate") for _ in rows]
    if len(proposals) != len(rows):
        detail = f"backend returned {len(proposals)} results for {len(rows)} rows"
        return [Rejection(reason="negator_error", detail=detail, stage="negate") for _ in rows]
    return proposals


# ----------------------------------------------------------------------------- shards


def process_shard(
    plan: ShardPlan,
    rows: Sequence[SourceRow],
    negator: Negator,
    store: PartStore,
    image_step: ImageStep | None = None,
) -> dict[str, Any]:
    """Process one shard and store it with its completion marker; returns the marker."""
    started = time.perf_counter()
    result = process_batch(rows, negator, image_step, store.image_dir(plan))
    marker = store.save(plan, result, time.perf_counter() - started)
    # the shard's images now live in its records part: free the download store
    shutil.rmtree(store.image_dir(plan), ignore_errors=True)
    return marker


# ----------------------------------------------------------------------------- hooks


def build_image_step(config: BuildConfig) -> ImageStep | None:
    """The image step for ``--images``: ``download`` plugs in :mod:`ccneg_build.images`.

    ``none`` drops no rows and attaches nothing; ``column`` takes images from the input
    column (read by the source) and rejects rows without one.
    """
    if config.images == "column":
        return _require_column_image
    if config.images == "download":
        try:
            from ccneg_build.images import make_image_step  # type: ignore[attr-defined]
        except ImportError as exc:
            raise RuntimeError(f"--images download is not available in this installation ({exc})") from None
        return make_image_step(config)
    return None


def _require_column_image(rows: Sequence[SourceRow], _dir: Path, stats: StepStats) -> list[SourceRow | Rejection]:
    results: list[SourceRow | Rejection] = []
    for row in rows:
        image = row.image or {}
        if image.get("bytes") or image.get("path"):
            results.append(row)
        else:
            stats.add("images_missing")
            results.append(Rejection(reason="missing_image", detail="the image column is empty", stage="image"))
    return results


def strip_images(rows: Iterable[SourceRow]) -> Iterator[SourceRow]:
    """With ``--images none``, rows carry no image even if the input had one."""
    for row in rows:
        yield dataclasses.replace(row, image=None) if row.image is not None else row
