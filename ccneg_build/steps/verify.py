"""The verify step: the shared filter (:func:`ccneg_build.verify.verify`) judges every proposal.

Each proposal is judged exactly once: an item that already carries a verdict (a composed
negator judged it to decide on its fallback) keeps it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Sequence

from ccneg_core.record import Rejection
from ccneg_build.steps.base import BatchContext, Item
from ccneg_build.verify import verify

if TYPE_CHECKING:
    from ccneg_build.config import BuildConfig
    from ccneg_build.negators.base import Negator


class VerifyStep:
    """Turns each proposal into an accepted item (with its verdict) or a rejection (stage "verify")."""

    name = "verify"

    def process(self, items: Sequence[Item], context: BatchContext) -> list[Item | Rejection]:
        results: list[Item | Rejection] = []
        for item in items:
            if item.verdict is not None:
                results.append(item)
                continue
            if item.negation is None:
                raise ValueError("the verify step needs a negate step before it in the pipeline")
            judged = verify(item.row, item.negation)
            results.append(judged if isinstance(judged, Rejection) else dataclasses.replace(item, verdict=judged))
        return results

    def take_stats(self) -> dict[str, int]:
        return {}


def make_step(config: "BuildConfig", negator: "Negator") -> VerifyStep | None:
    """The filter of the ccneg style's proposals (another style checks its own outputs)."""
    if config.style != "ccneg":
        return None
    return VerifyStep()
