"""The image step of the pipeline: the one function both engines (local, Ray) call.

Rows in, the same rows out, each either carrying its image (Hugging Face ``{bytes,
path}`` struct) or replaced by a :class:`~ccneg_core.record.Rejection` of stage
``image``. Rows already in the shard's store are not fetched again.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ccneg_build.images.fetch import ImageFetcher, ImageOutcome
from ccneg_build.images.store import ImageStore
from ccneg_core.record import Rejection, SourceRow, StepStats
from ccneg_build.options.images import options_from_config

if TYPE_CHECKING:
    from ccneg_build.config import BuildConfig


def attach_images(
    rows: Sequence[SourceRow],
    fetcher: ImageFetcher,
    store_dir: Path | None = None,
    stats: StepStats | None = None,
    progress: bool = False,
) -> list[SourceRow | Rejection]:
    """Fetch the image of every row (or take it from the store); one result per row, in order.

    Counts go to ``stats``: ``images_fetched`` (new downloads kept), ``images_resumed``
    (taken from the store), ``images_failed``, ``image_requests`` (HTTP attempts made)
    and ``image_rejected:<reason>``.
    """
    store = ImageStore(store_dir, flush_every=fetcher.options.flush_every) if store_dir else None
    known = store.load() if store else {}
    todo = [(row.id, row.url) for row in rows if row.id not in known]
    bar = _progress_bar(len(todo), progress)

    def finished(outcome: ImageOutcome) -> None:
        if store:
            store.add(outcome)
        if bar is not None:
            bar.update(1)

    try:
        fresh = {o.id: o for o in fetcher.fetch(todo, on_outcome=finished)}
    finally:
        if store:
            store.flush()
        if bar is not None:
            bar.close()
    results: list[SourceRow | Rejection] = []
    for row in rows:
        resumed = row.id in known
        outcome = known[row.id] if resumed else fresh[row.id]
        _count(stats, outcome, resumed)
        results.append(with_image(row, outcome))
    return results


def with_image(row: SourceRow, outcome: ImageOutcome) -> SourceRow | Rejection:
    """The row carrying its image, or its rejection with the image's reason."""
    if outcome.image is None:
        failure = outcome.failure
        assert failure is not None
        detail = f"{failure.detail} (url {row.url})" if row.url else failure.detail
        return Rejection(reason=failure.reason, detail=detail, stage="image")
    image = outcome.image
    return dataclasses.replace(row, image={"bytes": image.data, "path": f"{row.id}.{image.extension}"})


def _count(stats: StepStats | None, outcome: ImageOutcome, resumed: bool) -> None:
    if stats is None:
        return
    if not resumed:
        stats.add("image_requests", outcome.attempts)
    if outcome.ok:
        stats.add("images_resumed" if resumed else "images_fetched")
    else:
        stats.add("images_failed")
        stats.add(f"image_rejected:{outcome.failure.reason}")  # type: ignore[union-attr]


def _progress_bar(total: int, enabled: bool):
    if not enabled or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="images", unit="img", file=sys.stderr, leave=False)


def make_image_step(config: "BuildConfig"):
    """The runner's image step for ``--images download`` (built once per worker)."""
    fetcher = ImageFetcher(options_from_config(config.options))

    def image_step(rows: Sequence[SourceRow], image_dir: Path, stats: StepStats) -> list[SourceRow | Rejection]:
        return attach_images(rows, fetcher, image_dir, stats)

    return image_step
