"""The one interface every negation backend implements (rule, openai, gemini, ...).

A negator receives a batch of :class:`~ccneg_build.record.SourceRow` and returns, in the
same order, one :class:`~ccneg_build.record.Negation` or
:class:`~ccneg_build.record.Rejection` per row. It never filters: the shared filter in
:mod:`ccneg_build.verify` judges every backend's output the same way, in the runner.

Batches (not single rows) are the unit so that spaCy can ``nlp.pipe`` and LLM backends
can keep many requests in flight.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

from ccneg_build.record import Negation, Rejection, SourceRow


@runtime_checkable
class Negator(Protocol):
    """A backend that proposes a negated and an exclusion caption per row."""

    #: short backend name stored in ``generator.backend`` ("rule", "openai", ...)
    backend: str

    def negate_batch(self, rows: Sequence[SourceRow]) -> list[Negation | Rejection]:
        """Propose one outcome per row, in input order. Must not raise for a bad row."""
        ...

    def describe(self) -> dict[str, Any]:
        """Settings that determine the output (for the manifest and the resume check).

        Must never contain secrets (API keys, tokens).
        """
        ...

    def close(self) -> None:
        """Release clients, caches and processes."""
        ...
