"""Step 1 of the paper with a dependency parse: a subject and object-predicate pairs.

Every pair comes with what step 3 needs to write it out (which token to negate, which
tokens to drop), so that writing the chosen pair costs no second look at the parse.
This runs for every caption and must stay a small fraction of the parse itself, so the
parse's arrays are read once and only tokens that can open a pair become Python objects.
Whether a word is a verb we can negate is :mod:`ccneg_build.negators.rule_verbs`' job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from spacy.attrs import DEP
from spacy.strings import get_string_id
from spacy.tokens import Doc, Token

from ccneg_build.negators.rule_verbs import (
    NOUN_POS,
    SUBJECT_DEPS,
    VERB_POS,
    adjective_in_disguise,
    glued_to_bare_noun,
    negation_site,
    negative_noun_phrase,
)
from ccneg_build.negators.rule_words import (
    BE_FORMS,
    CONTAINER_NOUNS,
    DEPICTION_NOUNS,
    IDIOMS,
    FRAME_NOUNS,
    INDEFINITE_DETERMINERS,
    INTENSIFIERS,
    LINKING_VERB_FORMS,
    NEGATIVE_PRONOUNS,
    PLACE_NOUNS,
    PREPOSITION_OPENERS,
    WITH_VERBS,
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

_NOUNS = NOUN_POS
#: Objects of prepositions: the tagger often calls a rare noun an adjective ("in a souk").
_OBJECT_POS = frozenset(("NOUN", "PROPN", "ADJ"))
_VERBS = VERB_POS
_SUBJECT_DEPS = SUBJECT_DEPS
#: Dependency labels of the tokens :func:`decompose` looks at, as the parser's hash ids.
_INTERESTING_DEP_IDS = frozenset(
    get_string_id(label) for label in ("prep", "agent", "ROOT", "prt", "pcomp", "dobj", "attr")
)
#: Words a range-like phrase ("to", "from") may describe ("a road to the sea").
_PHRASE_HEAD_POS = frozenset(("NOUN", "PROPN", "PRON", "VERB", "AUX"))
_NEG_ID = get_string_id("neg")
_ROOT_ID = get_string_id("ROOT")
_NEGATIVE_WORDS = NEGATIVE_PRONOUNS | {"no"}
_NOUN_LIKE_DEPS = frozenset(("conj", "amod", "compound", "pobj", "nmod", "dobj", "appos"))
_OBJECT_TAIL_DEPS = frozenset(("conj", "cc", "acl", "relcl", "appos"))
_OPENER_DEPS = frozenset(("advmod", "prt", "prep", "amod", "acomp"))
#: Left dependents that belong to a clause we drop ("while sitting", "who moved", "to go").
_CLAUSE_OPENER_DEPS = frozenset(("aux", "auxpass", "mark", "neg", "advmod"))
_RELATIVE_TAGS = frozenset(("WDT", "WP", "WP$", "WRB"))
_FINITE_PLURAL = frozenset(("VBP",))


#: Turns a verb token into its base form ("dealing" -> "deal").
Lemmatizer = Callable[[Token], str]


def _lower(token: Token) -> str:
    return token.lower_


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
    fallback: bool = False  # offered only when a caption has no other pair ("an image, not of a cat")


@dataclass(frozen=True, slots=True)
class Parse:
    """What step 1 found in one caption."""

    subject: str
    candidates: tuple[Candidate, ...]


def decompose(doc: Doc, lemmatize: Lemmatizer = _lower) -> Parse | None:
    """The subject and every pair the rules can negate; ``None`` if there is no root.

    ``lemmatize`` gives a verb's base form; it is called only for the few verbs whose
    meaning decides how to negate ("dealing with" is negated as a verb).
    """
    indices, roots, has_negation = _read_arrays(doc)
    root = _main_root(doc, roots)
    if root is None:
        return None
    used: set[int] = set()  # "of" tokens consumed by complex prepositions ("in front of")
    subject = _subject_token(root)
    candidates: list[Candidate] = []
    for index in indices:
        token = doc[index]
        dep = token.dep_
        if dep in ("prep", "agent") or (dep == "ROOT" and token.pos_ == "ADP") or (
            dep in ("prt", "pcomp") and token.pos_ == "ADP" and token.n_rights > 0
        ):
            if token.i in used:
                continue
            candidate = _prepositional(doc, token, used, lemmatize)
        elif dep == "dobj":
            candidate = _direct_object(doc, token, root)
        elif dep == "attr":
            candidate = _attribute(doc, token, root)
        else:
            continue
        if candidate is not None and not (has_negation and _under_negation(doc[candidate.anchor])):
            candidates.append(candidate)
    conj = _listed_with_subject(doc, subject) if subject is not None else None
    if conj is None and subject is not None and root.i != subject.i and root.pos_ in _NOUNS:
        conj = _listed_with_subject(doc, root)  # "a group of students and a professor"
    if conj is not None:
        candidates.append(conj)
        candidates.sort(key=lambda c: c.anchor)
    subject_text = _object_text(doc, subject)[0] if subject is not None else root.text
    return Parse(subject=subject_text, candidates=tuple(candidates))


def _read_arrays(doc: Doc) -> tuple[list[int], list[int], bool]:
    """Tokens that can open a pair, the sentence roots, and whether anything is negated.

    All three are read from the parse's arrays: building a Python object per token costs
    more than the rules themselves, so only prepositions, particles, objects, attributes
    and roots are looked at as tokens.
    """
    deps = doc.to_array(DEP).tolist()
    interesting = [i for i, dep in enumerate(deps) if dep in _INTERESTING_DEP_IDS]
    roots = [i for i in interesting if deps[i] == _ROOT_ID]
    negated = _NEG_ID in deps or not _NEGATIVE_WORDS.isdisjoint(doc.text.lower().split())
    return interesting, roots, negated


def _under_negation(token: Token) -> bool:
    """Is ``token`` inside a clause the caption already negates?

    "a boy doesn't have a hat on his head", "no dog of mine is allowed on the sofa".

    A second negation there would read as a double negative.
    """
    for ancestor in token.ancestors:
        for child in ancestor.children:
            if child.dep_ == "neg" or (child.dep_ in _SUBJECT_DEPS and negative_noun_phrase(child)):
                return True
    return False


# ----------------------------------------------------------------------------- the subject


def _main_root(doc: Doc, roots: list[int]) -> Token | None:
    """The root of the longest sentence: titles like "winter time : ..." have several."""
    if not roots:
        return None
    if len(roots) == 1:
        return doc[roots[0]]
    best: Token | None = None
    best_len = -1
    for index in roots:
        token = doc[index]
        length = token.right_edge.i - token.left_edge.i
        if length > best_len:
            best, best_len = token, length
    return best


def _subject_token(root: Token) -> Token | None:
    """The subject: the clause's subject, or the root noun, seen through framing nouns."""
    token: Token | None = root
    if root.pos_ in _VERBS:
        token = next((c for c in root.lefts if c.dep_ in _SUBJECT_DEPS), None)
        if token is None:
            token = next((c for c in root.children if c.dep_ in _SUBJECT_DEPS), None)
        if token is None or token.dep_ == "expl":  # "there is a playground": the playground
            token = next((c for c in root.rights if c.dep_ == "attr"), token)
        if token is None and root.i == 0 and adjective_in_disguise(root):
            token = next((c for c in root.rights if c.dep_ == "dobj"), None)  # "mounted police"
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
        token = inner[1]
    return token


def _of_object(token: Token) -> tuple[Token, Token] | None:
    """The ("of", noun) pair hanging right after ``token``, if any."""
    for child in token.rights:
        if child.dep_ == "prt" and child.lower_ == "up":  # "close up of a sheep"
            return _of_object(child)
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

    Prepositional phrases after the object are kept (except "of", which belongs to its
    noun): the parser often hangs "in the dining area" on "table" when it describes the
    whole scene.
    """
    end = noun.i + 1
    for child in noun.rights:
        if child.dep_ in _OBJECT_TAIL_DEPS or (child.dep_ == "prep" and child.lower_ == "of"):
            end = max(end, child.right_edge.i + 1)
    return end


# ----------------------------------------------------------------------------- candidates


def _prepositional(doc: Doc, prep: Token, used: set[int], lemmatize: Lemmatizer) -> Candidate | None:
    word = prep.lower_
    if word == "without":
        return None
    noun = next((c for c in prep.children if c.dep_ == "pobj"), None)
    if noun is None or f"{word} {noun.lower_}" in IDIOMS:
        return None
    if noun.lower_ in PLACE_NOUNS:  # "in front of the castle": the castle is the object
        inner = _of_object(noun)
        if inner is not None:
            used.add(inner[0].i)
            noun = inner[1]
    if noun.pos_ not in _OBJECT_POS:
        return None
    if noun.pos_ == "ADJ" and not any(c.dep_ == "det" for c in noun.lefts):
        return None  # "from shortest to longest"; but "in a souk" is a mistagged noun

    is_root = prep.dep_ == "ROOT"
    start, head = prep.i, prep.head
    if head.i == prep.i - 1 and head.lower_ in PREPOSITION_OPENERS and head.dep_ in _OPENER_DEPS:
        start, head = head.i, head.head  # "next to", "out of": the phrase hangs on what they modify
    elif head.i == prep.i - 1 and head.pos_ == "ADP" and head.dep_ != "ROOT" and word != "of":
        start, head = head.i, head.head  # "from inside the reserve"
    if not is_root:
        for child in prep.lefts:
            if child.dep_ == "advmod" and child.lower_ in INTENSIFIERS:  # "right in front of"
                start = min(start, child.i)

    text, object_start, determiner = _object_text(doc, noun)
    predicate = doc[start:object_start].text
    remove = (start, _phrase_end(noun))

    if word == "with":
        if determiner >= 0 and doc[determiner].lower_ == "no":
            return None  # "with no plans" is already negative
        if head.pos_ in _VERBS and lemmatize(head) in WITH_VERBS:
            verb = negation_site(head)  # "dealing with" -> "not dealing with", not "without"
            return Candidate("verbal", text, predicate, start, verb.i, remove) if verb is not None else None
        return _with_candidate(doc, prep, text, predicate, object_start, determiner, remove)
    if is_root:
        kind = "noun_prep" if start > 0 and not doc[start - 1].is_punct else "bare_prep"
        return Candidate(kind, text, predicate, start, -1, remove)
    verb = _linking_verb(head)
    if verb is not None and word == "of" and glued_to_bare_noun(verb):
        verb = None  # "the stone ruins of the villas": a noun the tagger took for a verb
    if verb is not None:
        return Candidate("verbal", text, predicate, start, verb.i, _with_bare_link(doc, head, prep, remove))
    if head.i > start or any(c.dep_ == "neg" for c in head.children):
        return None  # a preposed phrase ("in the park, ...") or an already negated verb
    if head.pos_ not in _PHRASE_HEAD_POS and word in ("to", "from", "till", "until"):
        return None  # "early to mid 1980s": a range, not a relation
    if word == "of" and head.lower_ in CONTAINER_NOUNS and head.i == prep.i - 1:
        return Candidate("without", text, predicate, prep.i, -1, remove)  # "a bottle without beer"
    if word in SKIPPED_PREPOSITIONS:
        if word != "of" or head.lower_ not in DEPICTION_NOUNS:
            return None  # "a whale, not of a tale" is not English
        # "an image of a door handle" -> "an image, not of a door handle", if nothing else
        return Candidate("noun_prep", text, predicate, start, -1, remove, fallback=True)
    return Candidate("noun_prep", text, predicate, start, -1, remove)


def _with_bare_link(doc: Doc, head: Token, prep: Token, remove: tuple[int, int]) -> tuple[int, int]:
    """Widen the span to drop a linking verb the phrase completes ("the furniture is in oak").

    Without the phrase, "is", "looks" or "seems" would be left hanging ("this house looks"),
    so the exclusion drops them too: "the furniture", "this house".
    """
    if head.pos_ not in _VERBS or head.lower_ not in LINKING_VERB_FORMS or head.i > prep.i:
        return remove
    if head.dep_ != "ROOT" or not any(c.dep_ in _SUBJECT_DEPS for c in head.lefts):
        return remove  # only a main clause keeps its subject as a caption of its own
    if head.lower_ not in BE_FORMS and prep.lower_ != "like":
        return remove  # "looks like a spaceship" links; "looks at the camera" does not
    if any(c.i != prep.i and c.dep_ not in ("punct", "advmod") for c in head.rights):
        return remove
    start = head.i
    for child in head.lefts:
        if child.dep_ in ("aux", "auxpass", "neg", "advmod") and child.i < start:
            start = child.i
    return (start, remove[1])


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
    if head.pos_ == "ADJ" and head.dep_ == "acomp" and head.head.pos_ in _VERBS:
        head = head.head
    if head.pos_ not in _VERBS:
        return None
    return negation_site(head)


def _direct_object(doc: Doc, noun: Token, root: Token) -> Candidate | None:
    verb = noun.head
    if noun.pos_ not in _NOUNS or verb.pos_ not in _VERBS:
        return None
    site = negation_site(verb)
    if site is None:
        return None
    text, object_start, _determiner = _object_text(doc, noun)
    if object_start == verb.i + 1 and verb.tag_ == "VBG" and verb.dep_ in _NOUN_LIKE_DEPS:
        return None  # "with quiet sea and setting sun": a participle used as an adjective
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
        start, end = _clause_start(verb), verb.right_edge.i + 1
    if end <= noun.i:
        return None
    if site.tag_ == "VBG" and site.dep_ == "pcomp" and site.head.pos_ == "ADP" and site.head.i == start:
        # "use it for filling any contours": "for not filling" reads badly, so the whole
        # phrase is negated with its preposition ("use it, not for filling any contours");
        # "a way, not of doing" and "not without taking" are not English, so those go
        if site.head.lower_ in SKIPPED_PREPOSITIONS or site.head.lower_ == "without":
            return None
        return Candidate("noun_prep", text, predicate, start, -1, (start, end))
    return Candidate("verbal", text, predicate, verb.i, site.i, (start, end))


def _clause_start(verb: Token) -> int:
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


def _attribute(doc: Doc, noun: Token, root: Token) -> Candidate | None:
    """ "romanesque structure is a historic church" -> "... is not a historic church"."""
    verb = noun.head
    if noun.pos_ not in _NOUNS or verb.lower_ not in BE_FORMS or verb.i > noun.i:
        return None
    if any(c.dep_ in ("expl", "neg") for c in verb.children):
        return None  # "there is a dog on the bed" has no subject to keep
    subject = next((c for c in verb.lefts if c.dep_ in _SUBJECT_DEPS), None)
    if subject is None or subject.pos_ == "PRON":
        return None  # without a noun subject the exclusion would be "it in the sea"
    text, object_start, _determiner = _object_text(doc, noun)
    predicate = doc[verb.i : object_start].text
    start = verb.i
    for child in verb.lefts:
        if child.dep_ in ("aux", "auxpass", "advmod") and child.i > subject.i:
            start = min(start, child.i)
    end = noun.right_edge.i + 1  # "a historic house alongside river" goes as a whole
    while end - 1 > noun.i and doc[end - 1].is_punct:
        end -= 1
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
