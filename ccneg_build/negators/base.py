"""The one interface every negation backend implements (rule, openai, gemini, ...).

A negator receives a batch of :class:`~ccneg_core.record.SourceRow` and returns, in the
same order, one :class:`~ccneg_core.record.Negation` or
:class:`~ccneg_core.record.Rejection` per row. It never filters: the shared filter in
:mod:`ccneg_build.verify` judges every backend's output the same way, in the pipeline's
verify step. The one exception is a composed negator that must know the filter's verdict
to decide (``--fallback``, :mod:`ccneg_build.negators.fallback`): it returns the proposals
it has judged as :class:`Accepted`, so that the filter still runs once per proposal.

Batches (not single rows) are the unit so that spaCy can ``nlp.pipe`` and LLM backends
can keep many requests in flight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence, Union, runtime_checkable

from ccneg_core.record import Negation, Rejection, SourceRow
from ccneg_core.record import Verdict


class BackendError(RuntimeError):
    """A backend that cannot be built or cannot go on (unknown name, missing package or model,
    refused key): ``ccneg-build`` prints it as one line and stops the run."""


@dataclass(frozen=True)
class Accepted:
    """A proposal the shared filter has already accepted, with the filter's verdict.

    Only composed negators return it (they judge to decide); the verify step keeps the
    verdict instead of judging the same proposal a second time.
    """

    negation: Negation
    verdict: Verdict


#: What a negator returns per row.
Outcome = Union[Negation, Accepted, Rejection]


@runtime_checkable
class Negator(Protocol):
    """A backend that proposes a negated and an exclusion caption per row."""

    #: short backend name stored in ``generator.backend`` ("rule", "openai", ...)
    backend: str

    def negate_batch(self, rows: Sequence[SourceRow]) -> list[Outcome]:
        """Propose one outcome per row, in input order. Must not raise for a bad row."""
        ...

    def take_stats(self) -> dict[str, int]:
        """Counters accumulated since the previous call (requests, tokens, fallback rows, ...).

        The negate step adds them to each shard's counts, so they reach the manifest and the
        end-of-run summary; a backend that counts nothing returns ``{}``. Names are
        ``group.name`` (``llm.relation_parsing.requests``); a name ending in ``_microusd``
        is an amount of money.
        """
        ...

    def describe(self) -> dict[str, Any]:
        """Settings that determine the output (for the manifest and the resume check).

        Must never contain secrets (API keys, tokens).
        """
        ...

    def close(self) -> None:
        """Release clients, caches and processes."""
        ...


class RowsOwed(Exception):
    """Some rows of a batch got no verdict because the backend's service could not be reached.

    Not a judgement on the rows: the shard stays unfinished (no marker), so the same
    command negates those rows once the service is back. Raised by ``negate_batch`` after
    the batch's other rows were answered (an LLM backend has cached their answers).
    """

    def __init__(self, rows: int, detail: str) -> None:
        super().__init__(rows, detail)
        self.rows, self.detail = rows, detail

    def __str__(self) -> str:
        return f"{self.rows} rows got no answer ({self.detail})"


class ServiceUnreachable(Exception):
    """The service a backend needs cannot be reached: stop the run (exit code 1).

    The message names the service and what failed; finished shards and answered
    requests are kept, so the same command continues once the service is back.
    """
