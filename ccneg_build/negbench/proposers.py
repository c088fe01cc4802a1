"""Who proposes a row's absent objects: the corpus statistics (offline) or an LLM backend.

Both return, per row, a ranked list of candidates (or a rejection when the LLM's answer is
unusable); neither judges them: the rules of :mod:`ccneg_build.negbench.absent` do, the same
for every source. The LLM proposer sends its requests through the run's LLM negator's request
engine (cache, pacing, retries, accounting and the probe are those of every LLM request), with
the versioned prompt ``prompts/<version>/absent_objects.yaml``; rows whose requests got no
answer make the shard owed (:class:`~ccneg_build.negators.base.RowsOwed`), as for negation.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, Sequence

from ccneg_build.negbench.cooccurrence import Statistics
from ccneg_build.negbench.objects import RowObjects
from ccneg_build.negbench.settings import ABSENT_STAGE, COOCCURRENCE, LLM
from ccneg_core.record import Rejection, SourceRow
from ccneg_build.negators.llm.prompts import load_stage
from ccneg_build.negators.base import RowsOwed
from ccneg_build.negators.llm.engine import RequestOwed
from ccneg_build.negators.llm.parse import ParseFailure, parse_string_list

#: Candidates the statistics hand to the rules (the best passing ones are kept).
STATISTICS_CANDIDATES = 20
#: Candidates an LLM may list (the prompt asks for up to 5).
LLM_CANDIDATES = 8
#: The stage of rejections about absent objects.
STAGE = "absent"


@dataclass(frozen=True)
class Proposal:
    """Ranked candidate absent objects for one row, with their scores (None when the source gives none)."""

    candidates: tuple[tuple[str, float | None], ...]
    source: str
    raw_response: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Proposed = Proposal | Rejection


class CooccurrenceProposer:
    """Candidates from the corpus statistics (:mod:`ccneg_build.negbench.cooccurrence`)."""

    source = COOCCURRENCE

    def __init__(self, statistics: Statistics, limit: int = STATISTICS_CANDIDATES) -> None:
        self.statistics = statistics
        self.limit = limit

    def propose(self, rows: Sequence[SourceRow], objects: Sequence[RowObjects]) -> list[Proposed]:
        return [Proposal(tuple(self.statistics.ranked(found.concepts(), self.limit)), self.source)
                for found in objects]

    def take_stats(self) -> dict[str, int]:
        return {}


class LLMProposer:
    """Candidates from an LLM backend, through the run's LLM negator (see the module doc)."""

    source = LLM

    def __init__(self, negator: Any, prompt_version: str) -> None:
        self.negator = negator
        self.template, self.digest = load_stage(prompt_version, ABSENT_STAGE)
        self.prompt_version = prompt_version

    def propose(self, rows: Sequence[SourceRow], objects: Sequence[RowObjects]) -> list[Proposed]:
        return self.negator.run(self._all(rows, objects))

    def take_stats(self) -> dict[str, int]:
        return self.negator.take_stats()

    async def _all(self, rows: Sequence[SourceRow], objects: Sequence[RowObjects]) -> list[Proposed]:
        tasks = [asyncio.ensure_future(self._one(row, found)) for row, found in zip(rows, objects)]
        if not tasks:
            return []
        pending = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            stop = next((t.exception() for t in done if t.exception() is not None
                         and not isinstance(t.exception(), RequestOwed)), None)
            if stop is not None:  # a refused key or no server: stops the run
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                raise stop
        owed = [t.exception() for t in tasks if t.exception() is not None]
        if owed:
            raise RowsOwed(len(owed), str(owed[0]))
        return [t.result() for t in tasks]

    async def _one(self, row: SourceRow, found: RowObjects) -> Proposed:
        data = {"caption": row.caption or "", "objects": [o.name for o in found.present]}
        answer = await self.negator.engine.answer(self.template.request(data))
        generator = self.negator.generator
        if answer.completion is None:
            return Rejection(answer.reason or "negator_error", answer.detail, stage=STAGE, generator=generator)
        raw = json.dumps({ABSENT_STAGE: answer.text}, ensure_ascii=False)
        parsed = parse_string_list(answer.text, "absent-objects", LLM_CANDIDATES)
        if isinstance(parsed, ParseFailure):
            return Rejection(parsed.reason, parsed.detail, stage=STAGE, raw_response=raw, generator=generator)
        return Proposal(tuple((name, None) for name in parsed), self.source, raw_response=raw)
