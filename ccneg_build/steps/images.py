"""The image step (``--images``): each row gets its image or is rejected at stage "image".

``download`` fetches each row's URL through :mod:`ccneg_build.images` (keeping a shard's
downloads in the shard's scratch folder, so a rerun after a crash does not fetch them
again); ``column`` takes the image the reader found in ``--image-column`` and rejects rows
without one; ``none`` adds no step.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from ccneg_core.record import Rejection, SourceRow, StepStats
from ccneg_build.steps.base import BatchContext, Item

if TYPE_CHECKING:
    from ccneg_build.config import BuildConfig
    from ccneg_build.negators.base import Negator

#: Rows in, each row back with its image or as a Rejection; counts go to the StepStats.
AttachImages = Callable[[Sequence[SourceRow], Path, StepStats], list["SourceRow | Rejection"]]


class ImageStep:
    """Wraps an image source (download or column) as a pipeline step."""

    name = "images"

    def __init__(self, attach: AttachImages) -> None:
        self.attach = attach
        self._stats = StepStats()

    def process(self, items: Sequence[Item], context: BatchContext) -> list[Item | Rejection]:
        # a batch whose shard was not stored (rows owed) counts nothing: its rerun counts the
        # downloads it finds in the scratch folder as resumed
        self._stats = StepStats()
        attached = self.attach([item.row for item in items], context.scratch, self._stats)
        return [result if isinstance(result, Rejection) else dataclasses.replace(item, row=result)
                for item, result in zip(items, attached)]

    def take_stats(self) -> dict[str, int]:
        counts, self._stats = self._stats.counts, StepStats()
        return counts


def require_column_image(rows: Sequence[SourceRow], _dir: Path, stats: StepStats) -> list[SourceRow | Rejection]:
    """``--images column``: keep the reader's image, reject a row whose cell is empty."""
    results: list[SourceRow | Rejection] = []
    for row in rows:
        image = row.image or {}
        if image.get("bytes") or image.get("path"):
            results.append(row)
        else:
            stats.add("images_missing")
            results.append(Rejection(reason="missing_image", detail="the image column is empty", stage="image"))
    return results


def make_step(config: "BuildConfig", negator: "Negator") -> ImageStep | None:
    """The image step for ``config.images`` (``None`` for ``--images none``)."""
    if config.images == "column":
        return ImageStep(require_column_image)
    if config.images == "download":
        try:
            from ccneg_build.images.step import make_image_step  # lazy: httpx (the images extra)
        except ImportError as exc:
            raise RuntimeError(f"--images download is not available in this installation ({exc})") from None
        return ImageStep(make_image_step(config))
    return None
