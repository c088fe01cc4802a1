"""The one protocol every step of the build pipeline implements, and what flows between steps.

A shard's rows travel through the steps as :class:`Item` s (the row, then the negator's
proposal, then the filter's verdict). Each step takes the items still alive and returns,
in the same order, one result per item: the item (possibly carrying more) or a
:class:`~ccneg_core.record.Rejection`, which takes the row out of the shard's remaining
steps. A step counts what it did and hands the counts over through :meth:`Step.take_stats`
(datatrove style): they become the shard's counts, the manifest's and the summary's.

Because a step sees only rows (never their order, batch or worker), a rerun of any shard
gives the same result whichever engine runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

from ccneg_core.record import Negation, Rejection, SourceRow
from ccneg_core.record import Verdict


@dataclass(frozen=True)
class Item:
    """One row on its way through the pipeline: what the steps so far have attached."""

    row: SourceRow
    negation: Negation | None = None
    verdict: Verdict | None = None
    #: the finished record, for a step that writes rows of another style's schema itself
    #: (``--style negbench``); the ccneg style builds it from ``negation`` and ``verdict``
    record: dict[str, Any] | None = None


@dataclass(frozen=True)
class BatchContext:
    """What a step may use besides the rows: ``scratch`` is the shard's folder for files
    that should survive a crash of the shard (the image step's downloads); it is removed
    once the shard is stored."""

    scratch: Path


@runtime_checkable
class Step(Protocol):
    """A pipeline step: a name, one batch in -> one result per row out, and its counters."""

    #: short name, used in the registry and in messages ("read", "images", "negate", ...)
    name: str

    def process(self, items: Sequence[Item], context: BatchContext) -> list[Item | Rejection]:
        """One result per item, in input order; must not raise for a bad row."""
        ...

    def take_stats(self) -> dict[str, int]:
        """Counters accumulated since the previous call (``{}`` when the step counts nothing)."""
        ...
