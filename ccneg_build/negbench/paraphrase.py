"""``--negbench-paraphrase``: an LLM rewords a row's four options and its retrieval caption, then is checked.

NegBench paraphrases its templated texts with an LLM for variety. Here a row's five texts go in
one request (``prompts/<version>/negbench_paraphrase.yaml``, through the run's LLM request engine),
and the answer is kept only if every rewritten text passes the checks of every output (markup,
characters, commentary), keeps as many negation words as its original ("does not feature a lamp" may
become "there is no lamp", but no negation is lost or added), still
names every object its original names, stays within a sane length, and the four options stay
distinct. Otherwise the row keeps its template texts, and ``paraphrase_status`` says why: the
paraphrase is all or nothing per row, so the wording of one option never differs in kind from the
others'.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Sequence

from ccneg_build.verify import check_output_text
from ccneg_core.lexicon import negation_words_in, word_tokens
from ccneg_build.negators.llm.prompts import load_stage
from ccneg_build.negators.base import RowsOwed
from ccneg_build.negators.llm.engine import RequestOwed
from ccneg_build.negators.llm.parse import ParseFailure, parse_string_list

PARAPHRASE_STAGE = "negbench_paraphrase"
KEPT = "kept"

#: Why a paraphrase was not used (the row keeps its template texts); docs/format.md mirrors them.
PARAPHRASE_REASONS: dict[str, str] = {
    "paraphrase_wrong_count": "the answer does not hold one sentence per text",
    "paraphrase_negation_changed": "a rewritten text has more or fewer negation words than its original",
    "paraphrase_object_lost": "a rewritten text no longer names an object its original names",
    "paraphrase_length": "a rewritten text is under half or over twice its original's length (+20 characters)",
    "paraphrase_duplicate": "two rewritten options are the same",
}


def check_paraphrase(originals: Sequence[str], rewritten: Sequence[str], objects: Sequence[str],
                     caption: str, lemma: Any) -> tuple[str, str] | None:
    """``None`` when ``rewritten`` may replace ``originals`` (see the module doc), else (reason, detail)."""
    if len(rewritten) != len(originals):
        return "paraphrase_wrong_count", f"{len(rewritten)} sentences for {len(originals)} texts"
    for index, (before, after) in enumerate(zip(originals, rewritten)):
        problem = check_output_text(caption, after, f"paraphrase {index}")
        if problem:
            return problem
        if len(negation_words_in(before)) != len(negation_words_in(after)):
            return "paraphrase_negation_changed", f"{before!r} -> {after!r}"
        words = {lemma(w) for w in word_tokens(after)}
        for obj in objects:
            named = [lemma(w) for w in word_tokens(obj)]
            if _names(before, obj, lemma) and not all(w in words for w in named):
                return "paraphrase_object_lost", f"{obj!r} is missing from {after!r}"
        if not 0.5 * len(before) <= len(after) <= 2 * len(before) + 20:
            return "paraphrase_length", f"{len(after)} characters for {len(before)}: {after!r}"
    options = [" ".join(word_tokens(t)) for t in rewritten[:4]]
    if len(set(options)) != len(options):
        return "paraphrase_duplicate", "two options read the same"
    return None


def _names(text: str, obj: str, lemma: Any) -> bool:
    words = [lemma(w) for w in word_tokens(text)]
    wanted = [lemma(w) for w in word_tokens(obj)]
    return any(words[i:i + len(wanted)] == wanted for i in range(len(words) - len(wanted) + 1))


class Paraphraser:
    """Sends each row's texts to the run's LLM negator's engine and returns the answers' sentences."""

    def __init__(self, negator: Any, prompt_version: str) -> None:
        self.negator = negator
        self.template, self.digest = load_stage(prompt_version, PARAPHRASE_STAGE)

    def rewrite(self, texts: Sequence[Sequence[str]]) -> list[tuple[list[str] | None, str | None, str]]:
        """Per row: (sentences or None, raw answer, reason or ``KEPT``-to-be-checked detail)."""
        return self.negator.run(self._all(texts))

    async def _all(self, texts: Sequence[Sequence[str]]) -> list[tuple[list[str] | None, str | None, str]]:
        tasks = [asyncio.ensure_future(self._one(list(row))) for row in texts]
        if not tasks:
            return []
        done, _pending = await asyncio.wait(tasks)
        stop = next((t.exception() for t in tasks if t.exception() is not None
                     and not isinstance(t.exception(), RequestOwed)), None)
        if stop is not None:
            raise stop
        owed = [t.exception() for t in tasks if t.exception() is not None]
        if owed:
            raise RowsOwed(len(owed), str(owed[0]))
        return [t.result() for t in tasks]

    async def _one(self, texts: list[str]) -> tuple[list[str] | None, str | None, str]:
        answer = await self.negator.engine.answer(self.template.request({"sentences": texts}))
        if answer.completion is None:
            return None, None, answer.reason or "negator_error"
        raw = json.dumps({PARAPHRASE_STAGE: answer.text}, ensure_ascii=False)
        parsed = parse_string_list(answer.text, "sentences", len(texts) + 2)
        if isinstance(parsed, ParseFailure):
            return None, raw, parsed.reason
        return parsed, raw, KEPT
