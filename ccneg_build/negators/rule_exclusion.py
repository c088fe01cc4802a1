"""The exclusion caption's span: what dropping the object must also drop to leave a caption.

Dropping "on the grounds" from "a buddha statue seen on the grounds" leaves "seen" without the
phrase it needs; the exclusion drops the verb too ("a buddha statue"). When no widening can
leave a caption ("... but i live in a city and ..." would keep a bare "i"), the pair is refused
with ``exclusion_not_caption``. The shared filter checks the written exclusion again
(:func:`ccneg_build.verify.exclusion_problem`), for every backend.
"""

from __future__ import annotations

from dataclasses import replace

from spacy.tokens import Doc, Token

from ccneg_build.negators.rule_pairs import Candidate, Lemmatizer, Refusal
from ccneg_build.negators.rule_scope import COMPLEMENT_DEPS
from ccneg_build.negators.rule_verbs import SUBJECT_DEPS, VERB_POS, noun_in_disguise
from ccneg_build.negators.rule_words import BE_FORMS, COMPLEMENT_VERBS, STANDALONE_VERBS

_VERBS = VERB_POS
_SUBJECT_DEPS = SUBJECT_DEPS
_RELATIVE_TAGS = frozenset(("WDT", "WP", "WP$", "WRB"))
#: Left dependents that belong to a clause we drop ("while sitting", "who moved", "to go").
_CLAUSE_OPENER_DEPS = frozenset(("aux", "auxpass", "mark", "neg", "advmod"))


def with_abbreviation_period(doc: Doc, end: int) -> int:
    """Move ``end`` past the full stop of an abbreviation the span ends with ("a.d. to make")."""
    if end + 1 < len(doc) and doc[end].text == "." and not doc[end - 1].whitespace_ and doc[end + 1].is_alpha:
        return end + 1
    return end


def clause_start(verb: Token) -> int:
    """First token of a dependent clause we drop: its verb, or "while", "who", "to" before it.

    A noun on the left is kept: when the parser makes "sari" the subject of "crossing"
    in "woman in sari crossing the street", dropping it would leave "woman in".
    """
    start = verb.i
    for child in verb.lefts:
        if child.dep_ in _CLAUSE_OPENER_DEPS or child.tag_ in _RELATIVE_TAGS:
            start = min(start, child.left_edge.i)
    if verb.dep_ == "pcomp" and verb.head.i == start - 1:
        start = verb.head.i  # "after divorcing businessperson" goes with its "after"
    return start


def without_stranded_verb(doc: Doc, candidate: Candidate, lemmatize: Lemmatizer) -> Candidate | Refusal:
    """Widen the exclusion so that it never stops on a verb that needed what it removed.

    "a buddha statue seen on the grounds" without "on the grounds" is "a buddha statue",
    not "a buddha statue seen"; "this property sits on a beach" is "this property". A
    verb that ends a caption well ("the plane flies", "a woman walking", "is displayed")
    is kept.
    """
    start, end = candidate.remove
    if with_abbreviation_period(doc, end) != end:
        candidate = replace(candidate, remove=(start, end + 1))
        end += 1
    widened = start
    for _ in range(3):
        if widened == 0:
            break
        verb = doc[widened - 1]
        if verb.pos_ not in _VERBS or not _hangs_on(doc, widened, end, verb) or noun_in_disguise(verb):
            break  # "vector sketch with a mug": "sketch" is a noun whatever the tagger says
        after = [c for c in verb.rights if c.i >= end and c.dep_ != "punct"]
        if after:
            if lemmatize(verb) in COMPLEMENT_VERBS and not any(c.dep_ in COMPLEMENT_DEPS for c in after):
                # "was involved while riding": what follows does not give "involved" its phrase back
                return Refusal(candidate.anchor, "exclusion_not_caption",
                               f"without its phrase {verb.text!r} stops short", stage="negate")
            break  # the verb keeps a complement after the span
        if _stands_alone(verb, lemmatize):
            break
        subject = next((c for c in verb.lefts if c.dep_ in _SUBJECT_DEPS), None)
        if subject is not None and subject.tag_ not in _RELATIVE_TAGS and (verb.dep_ != "ROOT" or subject.pos_ == "PRON"):
            # "... but i live in a city and ...": dropping "live" would leave "but i and"
            return Refusal(
                candidate.anchor, "exclusion_not_caption",
                f"without its phrase {verb.text!r} stops short, and without {verb.text!r} its subject "
                f"{subject.text!r} stands alone",
                stage="negate",
            )
        widened = clause_start(verb)
    if widened == start:
        return candidate
    return replace(candidate, remove=(widened, end))


def leaves_subject_before_clause(doc: Doc, candidate: Candidate) -> bool:
    """Would the exclusion run a bare subject into the next clause ("hot dogs but they originated")?

    When the removed span is a main clause's whole predicate and a conjunction with a
    clause of its own follows, what is left is not a caption.
    """
    start, end = candidate.remove
    if end >= len(doc) or start == 0:
        return False
    after = doc[end]
    if after.is_punct and end + 1 < len(doc):
        after = doc[end + 1]
    if after.pos_ != "CCONJ" or doc[start - 1].dep_ not in _SUBJECT_DEPS:
        return False
    return any(t.dep_ in _SUBJECT_DEPS for t in doc[after.i + 1 : after.i + 4])


def _hangs_on(doc: Doc, start: int, end: int, verb: Token) -> bool:
    """Does the span ``[start, end)`` depend on ``verb`` (through tokens of the span)?"""
    token = doc[start]
    for _ in range(8):
        head = token.head
        if head.i == token.i or not (start <= head.i < end):
            return head.i == verb.i
        token = head
    return False


def _stands_alone(verb: Token, lemmatize: Lemmatizer) -> bool:
    """Can ``verb`` end a caption once its phrase is gone? ("the plane flies", not "you were")."""
    if verb.lower_ in BE_FORMS or verb.tag_ == "MD" or verb.dep_ in ("aux", "auxpass"):
        return False
    lemma = lemmatize(verb)
    if lemma in COMPLEMENT_VERBS:
        return False
    if verb.tag_ == "VBG":
        if verb.dep_ == "conj" and verb.head.tag_ in ("VBZ", "VBP", "VBD"):
            return False  # "carries out the research and looking": the participle needs its phrase
        return verb.dep_ != "pcomp"  # "a woman walking", "cars are driving"; not "by looking"
    if verb.tag_ == "VBN":
        return any(c.dep_ in ("aux", "auxpass") for c in verb.lefts)  # "is displayed", not "a statue seen"
    return lemma in STANDALONE_VERBS
