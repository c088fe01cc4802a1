"""The negate step: the run's negator proposes a negated and an exclusion caption per row.

The negator is whatever the registry built (a backend, or a composed negator for
``--fallback``). A negator that raises for a whole batch costs that batch's rows
(``negator_error``), not the run, except for the errors that say every row would fail
the same way (a refused key, no server) or that rows are owed: those stop the shard.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Sequence

from ccneg_build.negators.base import Accepted, Negator, Outcome, RowsOwed, ServiceUnreachable
from ccneg_build.negators.base import BackendError
from ccneg_core.record import Rejection, SourceRow
from ccneg_build.steps.base import BatchContext, Item

if TYPE_CHECKING:
    from ccneg_build.config import BuildConfig


class NegateStep:
    """Attaches each row's proposal (or its rejection); the negator's counters are the step's."""

    name = "negate"

    def __init__(self, negator: Negator) -> None:
        self.negator = negator

    def process(self, items: Sequence[Item], context: BatchContext) -> list[Item | Rejection]:
        proposals = negate(self.negator, [item.row for item in items])
        results: list[Item | Rejection] = []
        for item, proposal in zip(items, proposals):
            if isinstance(proposal, Rejection):
                results.append(proposal)
            elif isinstance(proposal, Accepted):  # a composed negator judged it already
                results.append(dataclasses.replace(item, negation=proposal.negation, verdict=proposal.verdict))
            else:
                results.append(dataclasses.replace(item, negation=proposal))
        return results

    def take_stats(self) -> dict[str, int]:
        return self.negator.take_stats()


def negate(negator: Negator, rows: list[SourceRow]) -> list[Outcome]:
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


def make_step(config: "BuildConfig", negator: Negator) -> NegateStep | None:
    """The negate step of the ccneg style (another style, e.g. negbench, writes its rows itself)."""
    if config.style != "ccneg":
        return None
    return NegateStep(negator)
