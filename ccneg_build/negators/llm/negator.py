"""The paper's two-stage method on any LLM backend, as a :class:`~ccneg_build.negators.base.Negator`.

Per row: stage 1 (relation parsing) -> the seeded choice of one pair, in our code
(:func:`ccneg_build.select.choose_relation`) -> stage 2 (sentence formation). All rows of a
batch run concurrently on one event loop that lives as long as the negator, so the HTTP
client keeps its connections between batches.

It never judges its own output: ``--fallback rule`` is a composed negator
(:mod:`ccneg_build.negators.fallback`) around this one.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any, Sequence

from ccneg_core import __version__
from ccneg_build.negators.base import RowsOwed
from ccneg_build.negators.llm.accounting import Usage
from ccneg_build.negators.llm.engine import Answer, RequestEngine, RequestOwed
from ccneg_build.negators.llm.parse import NO_RELATION, ParseFailure, parse_decomposition, parse_sentences
from ccneg_build.negators.llm.prompts import STAGE_RELATIONS, STAGE_SENTENCES, PromptSet
from ccneg_core.record import Decomposition, Generator, Negation, Rejection, SourceRow
from ccneg_build.select import choose_relation

#: Stage names as they appear in ``rejected/*.parquet`` (the ``stage`` column).
REJECT_STAGE = {STAGE_RELATIONS: "decompose", STAGE_SENTENCES: "negate"}


class LLMNegator:
    """Negates captions with two few-shot requests per row through a :class:`RequestEngine`."""

    def __init__(self, engine: RequestEngine, prompts: PromptSet, *, seed: int = 0, progress: bool = False) -> None:
        self.engine = engine
        self.progress = progress
        self.prompts = prompts
        self.seed = seed
        self.backend = engine.backend.name
        self.generator = Generator(backend=self.backend, model=engine.backend.model, version=__version__)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_pid = -1
        self._reported: dict[str, int] = {}

    # ------------------------------------------------------------------ Negator interface

    def negate_batch(self, rows: Sequence[SourceRow]) -> list[Negation | Rejection]:
        """One outcome per row, in order.

        Raises :class:`FatalBackendError` (refused key), :class:`ServiceUnreachable` (no
        server) or, when some rows got no answer, :class:`RowsOwed` after the other rows'
        answers are cached.
        """
        return self._run(self._negate_all(rows))

    def describe(self) -> dict[str, Any]:
        """Output-determining settings (no secrets): backend, model, params, prompt version."""
        info = self.engine.backend.describe()
        info.update(
            prompt_version=self.prompts.version,
            prompt_digest=self.prompts.digest,
            seed=self.seed,
            # named here so that runs without --fallback keep their resume fingerprint; the
            # composed negator fills it in
            fallback=None,
        )
        return info

    def usage(self) -> dict[str, Any]:
        """Requests, cache hits, retries, failures, tokens (and cost) per stage."""
        return self.engine.usage.as_dict()

    def stats(self) -> dict[str, int]:
        """Flat counters for the run's step statistics."""
        return self.engine.usage.counters()

    def take_stats(self) -> dict[str, int]:
        """Counters accumulated since the previous call (the runner adds them to each shard)."""
        current = self.stats()
        delta = {k: v - self._reported.get(k, 0) for k, v in current.items()}
        self._reported = current
        return {k: v for k, v in delta.items() if v}

    def progress_postfix(self) -> dict[str, int]:
        """Short live counters for a progress bar."""
        total = Usage()
        for usage in self.engine.usage.stages.values():
            total.stage("all").merge(usage)
        all_ = total.stage("all")
        return {"req": all_.requests, "cached": all_.cache_hits, "retry": all_.retries, "err": all_.failures}

    def close(self) -> None:
        if self._loop is not None and self._loop_pid == os.getpid() and not self._loop.is_closed():
            self._loop.run_until_complete(self.engine.backend.aclose())
            self._loop.close()
        self._loop = None
        self.engine.cache.close()

    def run(self, coroutine: Any) -> Any:
        """Run a coroutine on this negator's event loop: how another step (the negbench style's
        absent objects) sends its requests through :attr:`engine`, sharing its client, cache,
        pacing and accounting."""
        return self._run(coroutine)

    # ------------------------------------------------------------------ the two stages

    def _run(self, coroutine: Any) -> Any:
        if self._loop is None or self._loop_pid != os.getpid():
            self._loop, self._loop_pid = asyncio.new_event_loop(), os.getpid()
        return self._loop.run_until_complete(coroutine)

    async def _negate_all(self, rows: Sequence[SourceRow]) -> list[Negation | Rejection]:
        """Every row's outcome; rows whose requests got no answer make the batch owed (:class:`RowsOwed`)."""
        tasks = [asyncio.ensure_future(self._negate_one(row)) for row in rows]
        bar = self._progress_bar(tasks)
        try:
            pending = set(tasks)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
                errors = [task.exception() for task in done]  # (retrieves every one)
                stop = next((e for e in errors if e is not None and not isinstance(e, RequestOwed)), None)
                if stop is not None:  # a refused key or no server: stops the run
                    for other in pending:
                        other.cancel()
                    await asyncio.gather(*pending, return_exceptions=True)
                    raise stop
            owed = [task.exception() for task in tasks if task.exception() is not None]
            if owed:
                raise RowsOwed(len(owed), str(owed[0]))
            return [task.result() for task in tasks]
        finally:
            if bar is not None:
                bar.close()

    def _progress_bar(self, tasks: list["asyncio.Future[Any]"]) -> Any:
        """A live bar of the batch's rows with request, cache, retry and error counts (stderr)."""
        if not self.progress or not tasks:
            return None
        import sys

        from tqdm import tqdm

        bar = tqdm(total=len(tasks), unit="row", desc=f"{self.backend} batch", leave=False, position=1,
                   file=sys.stderr, dynamic_ncols=True)

        def advance(_task: Any) -> None:
            bar.update(1)
            bar.set_postfix(self.progress_postfix(), refresh=False)

        for task in tasks:
            task.add_done_callback(advance)
        return bar

    async def _negate_one(self, row: SourceRow) -> Negation | Rejection:
        caption = row.caption or ""
        first = await self.engine.answer(self.prompts.relations.request({"caption": caption}))
        if first.completion is None:
            return self._reject(first.reason or "negator_error", first.detail, STAGE_RELATIONS, None)
        decomposition = parse_decomposition(first.text)
        if isinstance(decomposition, ParseFailure):
            reason = "no_relation" if decomposition.reason == NO_RELATION else decomposition.reason
            return self._reject(reason, decomposition.detail, STAGE_RELATIONS, _raw(first))
        chosen = choose_relation(self.seed, row.id, len(decomposition.relations))
        second = await self.engine.answer(self.prompts.sentences.request(_stage2_input(caption, decomposition, chosen)))
        raw = _raw(first, second)
        if second.completion is None:
            return self._reject(second.reason or "negator_error", second.detail, STAGE_SENTENCES, raw)
        sentences = parse_sentences(second.text)
        if isinstance(sentences, ParseFailure):
            return self._reject(sentences.reason, sentences.detail, STAGE_SENTENCES, raw)
        negated, exclusion = sentences
        return Negation(
            decomposition=decomposition,
            chosen=chosen,
            negated_caption=negated,
            exclusion_caption=exclusion,
            generator=self.generator,
            prompt_version=self.prompts.version,
            raw_response=raw,
        )

    def _reject(self, reason: str, detail: str, stage: str, raw: str | None) -> Rejection:
        return Rejection(reason=reason, detail=detail, stage=REJECT_STAGE[stage], raw_response=raw,
                         generator=self.generator)


def _stage2_input(caption: str, decomposition: Decomposition, chosen: int) -> dict[str, Any]:
    return {
        "caption": caption,
        "subject": decomposition.subject,
        "object-predicate-pairs": [
            {"object": r.object, "predicate": r.predicate} for r in decomposition.relations
        ],
        "chosen-object": decomposition.relations[chosen].object,
    }


def _raw(*answers: Answer) -> str:
    """Both stages' raw answers as one JSON object, for ``raw_response``."""
    return json.dumps(
        {stage: answer.text for stage, answer in zip((STAGE_RELATIONS, STAGE_SENTENCES), answers)},
        ensure_ascii=False,
    )
