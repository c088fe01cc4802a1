"""The offline rule backend (``--backend rule``): the paper's three steps with spaCy.

1. decompose the caption into a subject and object-predicate pairs (dependency parse,
   :mod:`ccneg_build.negators.rule_decompose`);
2. choose one pair with :func:`ccneg_build.select.choose_relation` (seeded per sample id,
   so order, batching and worker count never change the result);
3. write the negated caption and the exclusion caption by editing the caption's own
   tokens (:mod:`ccneg_build.negators.rule_realize`).

A caption the rules cannot handle becomes a :class:`~ccneg_core.record.Rejection` with a
reason code; nothing here raises for a bad row. Judging the output is the shared filter's
job (:mod:`ccneg_build.verify`), exactly as for LLM backends, and so is judging the input:
every reader builds its rows with :func:`ccneg_build.sources.base.make_row` (which runs
:func:`ccneg_build.verify.check_caption`) or :func:`~ccneg_build.sources.base.bad_row`, and
the pipeline's read step rejects every row with an ``error`` before the negate step, so
this module never re-checks captions or reader errors.
"""

from __future__ import annotations

from typing import Any, Sequence

from spacy.tokens import Doc, Token

from ccneg_core import __version__
from ccneg_build.negators.rule_decompose import decompose
from ccneg_build.negators.rule_pairs import Candidate, Refusal
from ccneg_build.negators.rule_verbs import WordClasses
from ccneg_core.lexicon import DANGLING_END_WORDS
from ccneg_build.negators.rule_realize import (
    Surface,
    Unnegatable,
    exclusion_caption,
    is_spaced_style,
    negated_caption,
)
from ccneg_build.nlp import load_english, model_name_and_version
from ccneg_core.record import (
    Decomposition,
    Generator,
    Negation,
    Rejection,
    Relation,
    SourceRow,
)
from ccneg_build.select import choose_relation
from ccneg_build.verify import exclusion_problem, negation_placement_problem, words
from ccneg_core.lexicon import count_tokens

#: Pipeline components the rule negator runs; benchmarks parse with exactly these.
RULE_COMPONENTS = ("tok2vec", "tagger", "parser", "attribute_ruler")
#: Components switched off: named entities and lemmas are not needed (the few verbs we
#: negate are lemmatised one token at a time, on demand).
RULE_DISABLED = ("ner", "lemmatizer", "senter")

DEFAULT_BATCH_SIZE = 256
#: Lemmas remembered per process before the memory is cleared.
_LEMMA_CACHE_SIZE = 50_000

#: Reason codes this backend returns (all at stage "negate" or "decompose"). When a caption
#: has pairs but none can be negated well, the reason is the earliest pair's: the shared
#: filter's own codes, so that a row reads the same whichever step refused it.
REJECTION_REASONS = {
    "parse_failed": "spaCy could not parse the caption",
    "no_subject": "the parse has no root to take a subject from",
    "no_relation": "the caption has no object-predicate pair the rules can negate",
    "negator_error": "an unexpected error while writing the captions (detail says which)",
    "negation_scope": "every pair sits where a negation would negate more than the pair (a how-to or wh- "
    "clause, an infinitive, a phrase before its verb, an adverb)",
    "object_not_noun_phrase": "every object the parse offers is a parse error, not a noun phrase",
    "verb_not_negatable": "every pair's verb is a word the tagger misread as a verb",
    "exclusion_not_caption": "without any of its objects the caption is no longer a caption",
    "misplaced_negation": "every pair's negation would sit where English does not put it",
}


def load_rule_pipeline() -> Any:
    """The English pipeline with :data:`RULE_COMPONENTS` running (cached per process)."""
    return load_english(disable=RULE_DISABLED)


class RuleNegator:
    """Negate captions with a dependency parse and hand-written English rules.

    ``seed`` feeds the per-sample choice of the pair to negate; ``batch_size`` is the
    ``nlp.pipe`` batch; ``n_process`` > 1 lets spaCy parse with several processes (the
    build runner usually parallelises across shards instead).
    """

    backend = "rule"

    def __init__(self, seed: int = 0, batch_size: int = DEFAULT_BATCH_SIZE, n_process: int = 1) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if n_process < 1:
            raise ValueError(f"n_process must be at least 1, got {n_process}")
        self.seed = seed
        self.batch_size = batch_size
        self.n_process = n_process
        self.nlp = load_rule_pipeline()
        self._lemmatizer = self.nlp.get_pipe("lemmatizer") if "lemmatizer" in self.nlp.component_names else None
        self.word_classes = WordClasses.from_lemmatizer(self._lemmatizer) if self._lemmatizer else WordClasses()
        self._lemmas: dict[tuple[str, str], str] = {}
        self.generator = Generator(
            backend=self.backend, model=model_name_and_version(self.nlp), version=__version__
        )

    # ------------------------------------------------------------------ the Negator protocol

    def negate_batch(self, rows: Sequence[SourceRow]) -> list[Negation | Rejection]:
        """One outcome per row, in input order; a caption the rules cannot negate becomes a rejection."""
        docs = self._parse([row.caption or "" for row in rows])
        return [self._negate_parsed(row, doc) for row, doc in zip(rows, docs)]

    def describe(self) -> dict[str, Any]:
        """What determines this backend's output (no secrets here)."""
        meta = self.nlp.meta
        return {
            "backend": self.backend,
            "spacy_model": f"{meta.get('lang', 'en')}_{meta.get('name', '')}",
            "spacy_model_version": meta.get("version", ""),
            "components": list(RULE_COMPONENTS),
            "seed": self.seed,
            "ccneg_version": __version__,
        }

    def take_stats(self) -> dict[str, int]:
        """Nothing to count beyond the rows' outcomes, which the pipeline counts."""
        return {}

    def close(self) -> None:
        """Nothing to release: the pipeline stays cached for the process."""

    # ------------------------------------------------------------------ per-row work

    def negate_one(self, row: SourceRow) -> Negation | Rejection:
        """Convenience for a single row (tests, notebooks)."""
        return self.negate_batch([row])[0]

    def negate_choosing(self, caption: str, chosen: int) -> Negation | Rejection:
        """Negate ``caption`` with the pair at index ``chosen`` instead of the seeded choice.

        For inspecting every pair of one caption (tests, audits); the build never calls it.
        """
        row = SourceRow(id="", source="", source_row=0, caption=caption)
        return self._negate_doc(row, self.nlp(caption), pick=chosen)

    def _parse(self, texts: list[str]) -> list[Doc | None]:
        """Parse in batches; if a batch fails, parse its rows one at a time."""
        try:
            return list(self.nlp.pipe(texts, batch_size=self.batch_size, n_process=self.n_process))
        except Exception:  # noqa: BLE001 - fall back to find the one caption that broke it
            docs: list[Doc | None] = []
            for text in texts:
                try:
                    docs.append(self.nlp(text))
                except Exception:  # noqa: BLE001
                    docs.append(None)
            return docs

    def _negate_parsed(self, row: SourceRow, doc: Doc | None) -> Negation | Rejection:
        if doc is None:
            return Rejection("parse_failed", "spaCy raised while parsing this caption", generator=self.generator)
        try:
            return self._negate_doc(row, doc)
        except Exception as error:  # noqa: BLE001 - one bad row must never stop a run
            return Rejection(
                "negator_error", f"{type(error).__name__}: {error}"[:300], generator=self.generator
            )

    def _negate_doc(self, row: SourceRow, doc: Doc, pick: int | None = None) -> Negation | Rejection:
        caption = row.caption or ""
        parse = decompose(doc, self._lemma, self.word_classes, caption)
        if parse is None:
            return Rejection("no_subject", "the parse has no root", stage="decompose", generator=self.generator)
        spaced = is_spaced_style(caption)
        surface = Surface(doc, caption)
        refused: list[Refusal] = list(parse.refused)
        usable = self._usable(doc, surface, caption, spaced, [c for c in parse.candidates if not c.fallback], refused)
        if not usable:
            usable = self._usable(doc, surface, caption, spaced, [c for c in parse.candidates if c.fallback], refused)
        if not usable:
            return self._refusal(parse.candidates, refused)
        decomposition = Decomposition(
            subject=parse.subject,
            relations=tuple(Relation(object=c.object, predicate=c.predicate) for c, _, _ in usable),
        )
        if pick is None:
            chosen = choose_relation(self.seed, row.id, len(usable))
        elif 0 <= pick < len(usable):
            chosen = pick
        else:
            raise IndexError(f"pair {pick} asked for, the caption has {len(usable)}")
        _candidate, negated, exclusion = usable[chosen]
        return Negation(
            decomposition=decomposition,
            chosen=chosen,
            negated_caption=negated,
            exclusion_caption=exclusion,
            generator=self.generator,
        )

    def _refusal(self, candidates: tuple[Candidate, ...], refused: list[Refusal]) -> Rejection:
        """No pair can be written well: say why for the earliest pair the rules refused."""
        if not refused:
            return Rejection(
                "no_relation",
                f"no object-predicate pair to negate (found {len(candidates)} unusable)",
                stage="decompose",
                generator=self.generator,
            )
        first = min(refused, key=lambda r: r.position)
        more = f" (and {len(refused) - 1} more pairs refused)" if len(refused) > 1 else ""
        return Rejection(first.reason, first.detail + more, stage=first.stage, generator=self.generator)

    def _usable(
        self,
        doc: Doc,
        surface: Surface,
        caption: str,
        spaced: bool,
        candidates: list[Candidate],
        refused: list[Refusal],
    ) -> list[tuple[Candidate, str, str]]:
        """Candidates written out well, each with its negated and exclusion caption.

        A candidate is dropped when its exclusion does not really drop the object, and
        refused (with the shared filter's reason, added to ``refused``) when its exclusion is
        not a caption or its negation cannot be placed on the pair alone: the seeded choice
        then picks among the pairs that read well.
        """
        usable: list[tuple[Candidate, str, str]] = []
        caption_words = words(caption)
        for candidate in candidates:
            exclusion = exclusion_caption(surface, candidate, spaced)
            if not _removes_object(caption_words, words(exclusion), words(candidate.object)):
                continue
            problem = exclusion_problem(caption, exclusion, candidate.object)
            if problem is None:
                try:
                    negated = negated_caption(doc, surface, candidate, spaced, self._lemma, self.word_classes)
                except Unnegatable as refusal:
                    problem = (refusal.reason, refusal.detail)
                else:
                    problem = negation_placement_problem(caption, negated)
            if problem is not None:
                refused.append(Refusal(candidate.anchor, *problem, stage="negate"))
                continue
            usable.append((candidate, negated, exclusion))
        return usable

    def _lemma(self, token: Token) -> str:
        """Base form of one word, computed only for the few words the rules ask about.

        Remembered per (word, part of speech): the rule lemmatizer costs more than the rest
        of the rules for a word, and captions repeat their words.
        """
        key = (token.lower_, token.pos_)
        cached = self._lemmas.get(key)
        if cached is not None:
            return cached
        lemma = token.lower_
        if self._lemmatizer is not None:
            try:
                forms = self._lemmatizer.rule_lemmatize(token)
                if forms:
                    lemma = forms[0]
            except Exception:  # noqa: BLE001 - fall back to the surface form
                pass
        if len(self._lemmas) >= _LEMMA_CACHE_SIZE:
            self._lemmas.clear()
        self._lemmas[key] = lemma
        return lemma


def _removes_object(caption: list[str], exclusion: list[str], obj: list[str]) -> bool:
    """The exclusion is a finished caption that mentions the object less than the caption.

    All three arguments are word lists (:func:`ccneg_build.verify.words`). The exclusion
    keeps some words, differs from the caption, and does not stop on a word that needs a
    continuation ("... here but") unless the caption itself ends that way.
    """
    if not exclusion or exclusion == caption:
        return False
    if exclusion[-1] in DANGLING_END_WORDS and exclusion[-1] != caption[-1]:
        return False
    return count_tokens(obj, exclusion) < count_tokens(obj, caption)
