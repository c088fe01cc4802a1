"""The read-check step: a row its reader could not make sense of is rejected here (stage "read").

Readers never drop a bad row; they mark it (``SourceRow.error``) so that it is kept, with
its reason, in the rejected files. This step is where such rows leave the pipeline, before
any image is fetched or any backend is asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ccneg_core.record import Rejection
from ccneg_build.steps.base import BatchContext, Item
from ccneg_core.record import read_rejection

if TYPE_CHECKING:
    from ccneg_build.config import BuildConfig
    from ccneg_build.negators.base import Negator


class ReadCheckStep:
    """Rejects the rows a reader marked with an error code."""

    name = "read"

    def process(self, items: Sequence[Item], context: BatchContext) -> list[Item | Rejection]:
        return [read_rejection(item.row) if item.row.error else item for item in items]

    def take_stats(self) -> dict[str, int]:
        return {}


def make_step(config: "BuildConfig", negator: "Negator") -> ReadCheckStep:
    return ReadCheckStep()
