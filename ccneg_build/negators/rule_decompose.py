"""Step 1 of the paper with a dependency parse: a subject and object-predicate pairs.

Every pair comes with what step 3 needs to write it out (which token to negate, which
tokens to drop), so that writing the chosen pair costs no second look at the parse.
The parse is read once, token by token: this runs for every caption and must stay a
small fraction of the parse itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from spacy.tokens import Doc, Token

from ccneg_build.negators.rule_words import (
    FRAME_NOUNS,
    INDEFINITE_DETERMINERS,
    PLACE_NOUNS,
    PREPOSITION_OPENERS,
    SKIPPED_PREPOSITIONS,
)

#: How a candidate pair is negated (see :mod:`ccneg_build.negators.rule_realize`).
#: - ``noun_prep``: "not" before a phrase attached to a noun ("a woman, not next to a table")
#: - ``bare_prep``: "not" before a phrase that stands alone ("not in front of the castle")
#: - ``without``:   "with" becomes "without" ("without a mountain")
#: - ``absence``:   "with" becomes "with no" before a bare noun ("with no clouds")
#: - ``verbal``:    the verb that links the object is negated ("does not make her way")
#: - ``conj``:      "X and Y" becomes "X without Y"
KINDS = ("noun_prep", "bare_prep", "without", "absence", "verbal", "conj")

_NOUNS = frozenset(("NOUN", "PROPN"))
_VERBS = frozenset(("VERB", "AUX"))
_SUBJECT_DEPS = frozenset(("nsubj", "nsubjpass"))
_OBJECT_TAIL_DEPS = frozenset(("conj", "cc", "acl", "relcl", "appos"))
_FINITE_PLURAL = frozenset(("VBP",))


@dataclass(frozen=True, slots=True)
class Candidate:
    """One object-predicate pair and how to negate and remove it.

    Token indices refer to the parsed caption; ``remove`` is the half-open span the
    exclusion caption drops.
    """

    kind: str
    object: str
    predicate: str
    anchor: int  # first token of the predicate (preposition, "with", "and")
    verb: int  # the verb to negate for ``verbal``, else -1
    remove: tuple[int, int]
    determiner: int = -1  # determiner dropped by "with no" ("with some X"), else -1


@dataclass(frozen=True, slots=True)
class Parse:
    """What step 1 found in one caption."""

    subject: str
    candidates: tuple[Candidate, ...]


def decompose(doc: Doc) -> Parse | None:
    """The subject and every pair the rules can negate; ``None`` if there is no root."""
    root = _main_root(doc)
    if root is None:
        return None
    used: set[int] = set()  # "of" tokens consumed by frames and complex prepositions
    subject = _subject_token(root, used)
    candidates: list[Candidate] = []
    for token in doc:
        dep = token.dep_
        if dep == "prep" or dep == "agent" or (dep == "ROOT" and token.pos_ == "ADP"):
            if token.i in used:
                continue
            candidate = _prepositional(doc, token, used)
        elif dep == "dobj":
            candidate = _direct_object(doc, token, root)
        else:
            continue
        if candidate is not None:
            candidates.append(candidate)
    conj = _listed_with_subject(doc, subject) if subject is not None else None
    if conj is not None:
        candidates.append(conj)
        candidates.sort(key=lambda c: c.anchor)
    subject_text = _object_text(doc, subject)[0] if subject is not None else root.text
    return Parse(subject=subject_text, candidates=tuple(candidates))


# ----------------------------------------------------------------------------- the subject


def _main_root(doc: Doc) -> Token | None:
    """The root of the longest sentence: titles like "winter time : ..." have several."""
    best: Token | None = None
    best_len = -1
    for sent in doc.sents:
        if len(sent) > best_len:
            best, best_len = sent.root, len(sent)
    return best


def _subject_token(root: Token, used: set[int]) -> Token | None:
    """The subject: the clause's subject, or the root noun, seen through framing nouns."""
    token: Token | None = root
    if root.pos_ in _VERBS:
        token = next((c for c in root.lefts if c.dep_ in _SUBJECT_DEPS), None)
        if token is None:
            token = next((c for c in root.children if c.dep_ in _SUBJECT_DEPS), None)
    elif root.pos_ == "ADP":
        token = next((c for c in root.children if c.dep_ == "pobj"), None)
    if token is None:
        return None
    for _ in range(4):  # "a close - up of a group of birds": follow a few frames
        if token.lower_ not in FRAME_NOUNS:
            break
        inner = _of_object(token)
        if inner is None:
            break
        used.add(inner[0].i)
        token = inner[1]
    return token


def _of_object(token: Token) -> tuple[Token, Token] | None:
    """The ("of", noun) pair hanging right after ``token``, if any."""
    for child in token.rights:
        if child.dep_ == "prep" and child.lower_ == "of":
            for grandchild in child.children:
                if grandchild.dep_ == "pobj" and grandchild.pos_ in _NOUNS:
                    return child, grandchild
            return None
    return None


# ----------------------------------------------------------------------------- noun phrases


def _object_text(doc: Doc, noun: Token) -> tuple[str, int, int]:
    """The noun phrase without its leading determiner: (text, start, index of determiner)."""
    start = noun.left_edge.i
    determiner = -1
    if start < noun.i and doc[start].dep_ in ("det", "predet"):
        determiner = start
        start += 1
        if start < noun.i and doc[start].dep_ == "det":  # "all the"
            start += 1
    return doc[start : noun.i + 1].text, start, determiner


def _phrase_end(noun: Token) -> int:
    """End (exclusive) of a noun phrase with its lists and clauses, not its prepositions.

    Prepositional phrases after the object are kept: the parser often hangs "in the
    dining area" on "table" when it describes the whole scene.
    """
    end = noun.i + 1
    for child in noun.rights:
        if child.dep_ in _OBJECT_TAIL_DEPS:
            end = max(end, child.right_edge.i + 1)
    return end


# ----------------------------------------------------------------------------- candidates


def _prepositional(doc: Doc, prep: Token, used: set[int]) -> Candidate | None:
    word = prep.lower_
    if word in SKIPPED_PREPOSITIONS:
        return None
    noun = next((c for c in prep.children if c.dep_ == "pobj"), None)
    if noun is None:
        return None
    if noun.lower_ in PLACE_NOUNS:  # "in front of the castle": the castle is the object
        inner = _of_object(noun)
        if inner is not None:
            used.add(inner[0].i)
            noun = inner[1]
    if noun.pos_ not in _NOUNS:
        return None

    start, head = prep.i, prep.head
    if head.i == prep.i - 1 and head.pos_ == "ADV" and head.lower_ in PREPOSITION_OPENERS:
        start, head = head.i, head.head  # "next to": the phrase hangs on what "next" modifies
    for child in prep.lefts:
        if child.dep_ == "advmod":  # "right in front of", "just above"
            start = min(start, child.i)

    text, object_start, determiner = _object_text(doc, noun)
    predicate = doc[start:object_start].text
    remove = (start, _phrase_end(noun))
    is_root = prep.dep_ == "ROOT"

    if word == "with":
        return _with_candidate(doc, prep, text, predicate, object_start, determiner, remove)
    if is_root:
        return Candidate("bare_prep", text, predicate, start, -1, remove)
    verb = _linking_verb(head)
    if verb is not None:
        return Candidate("verbal", text, predicate, start, verb.i, remove)
    if head.i > start or head.pos_ in _VERBS:
        return None  # a preposed phrase ("in the park, ...") or a negated verb
    return Candidate("noun_prep", text, predicate, start, -1, remove)


def _with_candidate(
    doc: Doc, prep: Token, text: str, predicate: str, object_start: int, determiner: int,
    remove: tuple[int, int],
) -> Candidate:
    """ "with a mountain" -> "without a mountain"; "with clouds" -> "with no clouds"."""
    if determiner >= 0:
        if doc[determiner].lower_ in INDEFINITE_DETERMINERS - {"a", "an"}:
            return Candidate("absence", text, predicate, prep.i, -1, remove, determiner)
        return Candidate("without", text, predicate, prep.i, -1, remove)
    first = doc[object_start]
    if first.dep_ in ("poss", "nummod") or first.tag_ in ("PRP$", "CD", "POS"):
        return Candidate("without", text, predicate, prep.i, -1, remove)
    return Candidate("absence", text, predicate, prep.i, -1, remove)


def _linking_verb(head: Token) -> Token | None:
    """The verb whose negation negates a phrase hanging on ``head``, if there is one."""
    if head.pos_ in _VERBS:
        return head if _negatable(head) else None
    if head.pos_ == "ADJ" and head.dep_ == "acomp" and head.head.pos_ in _VERBS:
        return head.head if _negatable(head.head) else None
    return None


def _negatable(verb: Token) -> bool:
    """A verb we can negate once: not already negated, and not a bare "be" infinitive."""
    for child in verb.children:
        if child.dep_ == "neg":
            return False
    return True


def _direct_object(doc: Doc, noun: Token, root: Token) -> Candidate | None:
    verb = noun.head
    if noun.pos_ not in _NOUNS or verb.pos_ not in _VERBS or not _negatable(verb):
        return None
    text, object_start, _determiner = _object_text(doc, noun)
    between = doc[verb.i + 1 : object_start]
    if verb.i < object_start and all(t.dep_ in ("prt", "det", "poss") for t in between):
        predicate = doc[verb.i : object_start].text  # "putting on", "holds"
        predicate = predicate.rsplit(" ", 1)[0] if between and between[-1].dep_ in ("det", "poss") else predicate
    else:
        predicate = verb.text
    if verb.i == root.i:
        start = verb.i
        for child in verb.lefts:
            if child.dep_ in ("aux", "auxpass", "neg", "advmod") and child.i < start:
                start = child.i
        end = max(verb.right_edge.i + 1, _phrase_end(noun))
        while end - 1 > verb.i and doc[end - 1].is_punct:
            end -= 1
    else:
        start, end = verb.left_edge.i, verb.right_edge.i + 1
    if end <= noun.i:
        return None
    return Candidate("verbal", text, predicate, verb.i, verb.i, (start, end))


def _listed_with_subject(doc: Doc, subject: Token) -> Candidate | None:
    """ "cruise ship and boats": the second noun of a two-item list that is the subject."""
    conjs = [c for c in subject.rights if c.dep_ == "conj"]
    ccs = [c for c in subject.rights if c.dep_ == "cc"]
    if len(conjs) != 1 or len(ccs) != 1 or ccs[0].lower_ != "and":
        return None
    other, cc = conjs[0], ccs[0]
    if other.pos_ not in _NOUNS or any(c.dep_ == "conj" for c in other.children):
        return None
    if subject.head.tag_ in _FINITE_PLURAL or subject.head.lower_ in ("are", "were"):
        return None  # "a cat without a dog are sleeping" would break agreement
    if not (subject.i < cc.i < other.i):
        return None
    text, _start, _determiner = _object_text(doc, other)
    return Candidate("conj", text, cc.text, cc.i, -1, (cc.i, other.i + 1))
