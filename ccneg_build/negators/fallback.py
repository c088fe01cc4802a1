"""``--fallback``: a negator made of two negators, the primary and the one that stands in for it.

The primary (an LLM backend) negates the batch; the shared filter judges each of its
proposals once; the rows it rejected (the primary's own rejections, or proposals the
filter turned down) go to the fallback (the rule backend). A fallback proposal replaces the
row's outcome and names the primary in ``generator.fallback_from``; the pipeline's verify
step judges it like any other proposal. A row the fallback cannot negate either keeps the
primary's rejection, so the rejected files say why the primary failed.

Composition keeps the filter out of every backend: neither negator knows about the other,
and the filter runs once per proposal because the proposals judged here travel on as
:class:`~ccneg_build.negators.base.Accepted` (proposal plus verdict).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

from ccneg_build.negators.base import Accepted, Negator, Outcome
from ccneg_core.record import Negation, Rejection, SourceRow
from ccneg_build.verify import verify
from ccneg_core.record import Verdict

#: Counter of rows the fallback negated. The name predates this module (``--fallback`` is an
#: LLM flag) and manifests, summaries and scripts already read it, so it stays.
FALLBACK_ROWS = "llm.fallback_rows"

Judge = Callable[[SourceRow, Negation], "Verdict | Rejection"]


class FallbackNegator:
    """``primary``, then ``fallback`` on the rows the primary or the shared filter rejected."""

    def __init__(self, primary: Negator, fallback: Negator, judge: Judge = verify) -> None:
        self.primary = primary
        self.fallback = fallback
        self.judge = judge
        self.backend = primary.backend
        self._fallback_rows = 0

    def negate_batch(self, rows: Sequence[SourceRow]) -> list[Outcome]:
        """One outcome per row: the primary's judged proposal, the fallback's, or a rejection.

        Lets :class:`~ccneg_build.negators.base.RowsOwed` and run-stopping errors of the
        primary through before the fallback sees any row (owed rows are not failures).
        """
        outcomes = [self._judged(row, outcome) for row, outcome in zip(rows, self.primary.negate_batch(rows))]
        failed = [i for i, outcome in enumerate(outcomes) if isinstance(outcome, Rejection)]
        if failed:
            replacements = self.fallback.negate_batch([rows[i] for i in failed])
            for i, replacement in zip(failed, replacements):
                if not isinstance(replacement, Rejection):
                    outcomes[i] = self._credited(replacement)
                    self._fallback_rows += 1
        return outcomes

    def _judged(self, row: SourceRow, outcome: Outcome) -> Outcome:
        """A primary proposal with the filter's verdict (:class:`Accepted`) or its rejection."""
        if not isinstance(outcome, Negation):
            return outcome
        verdict = self.judge(row, outcome)
        return verdict if isinstance(verdict, Rejection) else Accepted(outcome, verdict)

    def _credited(self, outcome: Negation | Accepted) -> Negation | Accepted:
        """The fallback's proposal, its generator naming the primary it stands in for."""
        negation = outcome.negation if isinstance(outcome, Accepted) else outcome
        generator = dataclasses.replace(negation.generator, fallback_from=self.primary.backend)
        negation = dataclasses.replace(negation, generator=generator)
        return dataclasses.replace(outcome, negation=negation) if isinstance(outcome, Accepted) else negation

    def describe(self) -> dict[str, Any]:
        """The primary's settings with ``fallback`` naming the stand-in (part of the resume check)."""
        return {**self.primary.describe(), "fallback": self.fallback.backend}

    def take_stats(self) -> dict[str, int]:
        """Both negators' counters since the previous call, plus :data:`FALLBACK_ROWS`."""
        counts = dict(self.primary.take_stats())
        for key, value in self.fallback.take_stats().items():
            counts[key] = counts.get(key, 0) + value
        if self._fallback_rows:
            counts[FALLBACK_ROWS] = counts.get(FALLBACK_ROWS, 0) + self._fallback_rows
            self._fallback_rows = 0
        return counts

    def close(self) -> None:
        try:
            self.primary.close()
        finally:
            self.fallback.close()
