"""The negbench step: objects present and absent, the MCQ and the negated retrieval caption of each row.

Per batch: parse the captions and read their objects (:mod:`ccneg_build.negbench.objects`); ask
the run's source for absent candidates (:mod:`ccneg_build.negbench.proposers`); keep those the
rules allow (:mod:`ccneg_build.negbench.absent`) and choose one, seeded per row; write the
options and the retrieval caption (:mod:`ccneg_build.negbench.templates`), check them as every
output is checked (markup, characters, commentary), and hand the finished record to the
pipeline. With ``--fallback rule`` an LLM row that yields no usable absent object gets the
statistics' proposal instead (``generator.fallback_from`` names the LLM backend).

It replaces the negate and verify steps in this style; like every step, it depends only on the
rows (and the corpus statistics, fixed before any shard runs), never on order, batch or workers.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Sequence

from ccneg_core import __version__
from ccneg_build.negbench.absent import Refusal, check_absent
from ccneg_build.negbench.lexicon import normalise
from ccneg_build.negbench.objects import ObjectMention, ObjectReader, RowObjects
from ccneg_build.negbench.proposers import STAGE, CooccurrenceProposer, LLMProposer, Proposed
from ccneg_build.negbench.settings import COOCCURRENCE, absent_source, prompt_version, uses_statistics
from ccneg_build.negbench.templates import Phrase, build_mcq, retrieval_caption, seeded_rng
from ccneg_core.record import Generator, Rejection, SourceRow, StepStats, new_negbench_record
from ccneg_build.steps.base import BatchContext, Item
from ccneg_build.verify import check_output_text
from ccneg_build.negbench.paraphrase import KEPT, check_paraphrase
from ccneg_build.negbench.cooccurrence import load_statistics
from ccneg_build.negators.registry import BackendError
from ccneg_build.negbench.paraphrase import Paraphraser

if TYPE_CHECKING:
    from ccneg_build.config import BuildConfig
    from ccneg_build.negators.base import Negator

#: How many rule-abiding candidates are kept per row; the absent object is drawn among them.
KEPT_CANDIDATES = 3
#: Refused candidates recorded per row (the audit trail of the rules).
RECORDED_REFUSALS = 5


class NegBenchStep:
    """See the module doc."""

    name = "negbench"

    def __init__(self, seed: int, reader: ObjectReader, proposer: Any, generator: Generator,
                 fallback: CooccurrenceProposer | None = None, prompt_version: str | None = None,
                 paraphraser: Any = None) -> None:
        self.seed = seed
        self.paraphraser = paraphraser
        self.reader = reader
        self.proposer = proposer
        self.fallback = fallback
        self.generator = generator
        self.prompt_version = prompt_version
        self._stats = StepStats()

    def process(self, items: Sequence[Item], context: BatchContext) -> list[Item | Rejection]:
        rows = [item.row for item in items]
        found = self.reader.read([row.caption or "" for row in rows], [row.labels for row in rows])
        results: list[Item | Rejection | None] = [None] * len(items)
        todo: list[int] = []
        for index, objects in enumerate(found):
            if objects is None:
                results[index] = Rejection("parse_failed", "spaCy raised while parsing this caption", stage="objects",
                                           generator=self.generator)
            elif not objects.known:
                nouns = ", ".join(objects.mentioned[:6]) or "none"
                results[index] = Rejection("no_present_object", f"no object the lexicon knows (nouns: {nouns})",
                                           stage="objects", generator=self.generator)
            else:
                todo.append(index)
        proposals = self.proposer.propose([rows[i] for i in todo], [found[i] for i in todo])
        retry: list[int] = []
        for index, proposal in zip(todo, proposals):
            objects = found[index]
            assert objects is not None
            outcome = self._finish(rows[index], objects, proposal, self.generator)
            if isinstance(outcome, Rejection) and self.fallback is not None:
                retry.append(index)
            results[index] = outcome if isinstance(outcome, Rejection) else dataclasses.replace(items[index], record=outcome)
        if retry:
            generator = dataclasses.replace(self.generator, backend="rule", model=self.reader.model,
                                            fallback_from=self.generator.backend)
            assert self.fallback is not None
            for index, proposal in zip(retry, self.fallback.propose([rows[i] for i in retry], [found[i] for i in retry])):
                objects = found[index]
                assert objects is not None
                outcome = self._finish(rows[index], objects, proposal, generator)
                if not isinstance(outcome, Rejection):
                    self._stats.add("accepted_by_fallback")
                    results[index] = dataclasses.replace(items[index], record=outcome)
        final: list[Item | Rejection] = []
        for result in results:
            assert result is not None
            final.append(result)
        if self.paraphraser is not None:
            self._paraphrase([item.record for item in final if isinstance(item, Item) and item.record is not None])
        return final

    def _paraphrase(self, records: list[dict[str, Any]]) -> None:
        """``--negbench-paraphrase``: each record's texts reworded by the LLM, kept only when checked."""
        texts = [[*record["mcq_options"], *record["retrieval_captions"]] for record in records]
        for record, original, (sentences, _raw, status) in zip(records, texts, self.paraphraser.rewrite(texts)):
            if sentences is not None:
                objects = [*record["affirmed_objects"], record["absent_object"]]
                problem = check_paraphrase(original, sentences, objects, record["caption"] or "",
                                           self.reader.lemmatizer.lemma)
                status = problem[0] if problem else KEPT
            if status == KEPT:
                assert sentences is not None
                record.update(mcq_options=sentences[:4], retrieval_captions=sentences[4:], paraphrased=True)
            record["paraphrase_status"] = status
            self._stats.add(f"negbench_paraphrase_{status}")

    def take_stats(self) -> dict[str, int]:
        counts, self._stats = self._stats.counts, StepStats()
        for key, value in self.proposer.take_stats().items():
            counts[key] = counts.get(key, 0) + value
        return counts

    # ------------------------------------------------------------------ one row

    def _finish(self, row: SourceRow, objects: RowObjects, proposal: Proposed,
                generator: Generator) -> dict[str, Any] | Rejection:
        if isinstance(proposal, Rejection):
            return proposal
        lexicon, lemmatizer = self.reader.lexicon, self.reader.lemmatizer
        kept: list[tuple[str, float | None]] = []
        refused: list[Refusal] = []
        for candidate, score in proposal.candidates:
            refusal = check_absent(candidate, objects, lexicon, lemmatizer)
            if refusal is None:
                if normalise(candidate) not in (k for k, _ in kept):
                    kept.append((normalise(candidate), score))
            else:
                refused.append(refusal)
            if len(kept) >= KEPT_CANDIDATES:
                break
        if not kept:
            if not refused:
                return Rejection("no_absent_object", "the source proposed no candidate", stage=STAGE,
                                 raw_response=proposal.raw_response, generator=generator)
            first = refused[0]
            detail = "; ".join(f"{r.object}: {r.reason}" for r in refused[:RECORDED_REFUSALS])
            return Rejection(first.reason, detail[:500], stage=STAGE, raw_response=proposal.raw_response,
                             generator=generator)
        chosen, score = kept[seeded_rng(self.seed, row.id, "absent").randrange(len(kept))]
        absent = Phrase(chosen, plural=_looks_plural(chosen, lemmatizer), mass=lexicon.is_mass(chosen))
        present = [self._phrase(o) for o in objects.known]
        mcq = build_mcq(present, absent, self.seed, row.id)
        retrieval = retrieval_caption(row.caption or "", absent, self.seed, row.id)
        for index, text in enumerate((*mcq.options, retrieval)):
            problem = check_output_text(row.caption or "", text, f"option {index}" if index < 4 else "retrieval caption")
            if problem:
                return Rejection(problem[0], problem[1], stage="verify", raw_response=proposal.raw_response,
                                 generator=generator)
        self._stats.add(f"negbench_absent_{proposal.source}")
        return new_negbench_record(
            row,
            present_objects=[_object_struct(o) for o in objects.present],
            absent_object=chosen,
            absent_objects=[k for k, _ in kept],
            absent_source=proposal.source,
            absent_score=score,
            absent_refused=[dataclasses.asdict(r) for r in refused[:RECORDED_REFUSALS]],
            affirmed_objects=list(mcq.affirmed),
            mcq_options=list(mcq.options),
            mcq_templates=list(mcq.templates),
            correct_answer=mcq.correct,
            correct_answer_template=mcq.correct_template,
            phrasing=mcq.phrasing,
            retrieval_captions=[retrieval],
            paraphrased=False,
            generator=generator.as_dict(),
            prompt_version=self.prompt_version if proposal.source != COOCCURRENCE else None,
        )

    def _phrase(self, mention: ObjectMention) -> Phrase:
        lexicon = self.reader.lexicon
        mass = lexicon.is_mass(mention.name) or lexicon.is_mass(mention.name.rpartition(" ")[2])
        return Phrase(mention.text, plural=mention.plural, mass=mass and not mention.plural)


def _looks_plural(name: str, lemmatizer: Any) -> bool:
    """An LLM may name a plural ("trees"); the statistics always name singulars ("dress" is not plural)."""
    last = name.rpartition(" ")[2]
    if last in lemmatizer.IRREGULAR:
        return True
    return lemmatizer.lemma(last) != last and last.endswith("s") and not last.endswith("ss")


def _object_struct(mention: ObjectMention) -> dict[str, Any]:
    return {"name": mention.name, "text": mention.text, "concept": mention.concept, "plural": mention.plural,
            "source": mention.source}


def make_step(config: "BuildConfig", negator: "Negator") -> NegBenchStep | None:
    """The negbench step for ``--style negbench`` (``None`` otherwise)."""
    if config.style != "negbench":
        return None

    reader = ObjectReader()
    statistics = None
    if uses_statistics(config):
        try:
            statistics = CooccurrenceProposer(load_statistics(config.out, reader.lexicon.proposable))
        except FileNotFoundError:
            raise RuntimeError("the negbench co-occurrence statistics are missing: the first pass did not run") from None
    if absent_source(config) == COOCCURRENCE:
        assert statistics is not None
        generator = Generator(backend=config.backend, model=reader.model, version=__version__)
        return NegBenchStep(config.seed, reader, statistics, generator)
    llm = getattr(negator, "primary", negator)  # --fallback composes the LLM negator with the rules
    if not hasattr(llm, "engine"):
        raise BackendError(f"--style negbench --backend {config.backend}: the backend is neither rule nor an LLM "
                           "provider, so it cannot propose absent objects")
    version = prompt_version(config)
    try:
        proposer = LLMProposer(llm, version)
    except FileNotFoundError as exc:
        raise BackendError(f"--prompt-version {version}: no absent_objects prompt ({exc})") from None
    paraphraser = None
    if config.options.get("negbench_paraphrase"):
        try:
            paraphraser = Paraphraser(llm, version)
        except FileNotFoundError as exc:
            raise BackendError(f"--prompt-version {version}: no negbench_paraphrase prompt ({exc})") from None
    return NegBenchStep(config.seed, reader, proposer, llm.generator, fallback=statistics, prompt_version=version,
                        paraphraser=paraphraser)
