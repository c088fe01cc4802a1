"""Step 1 of the paper with a dependency parse: a subject and object-predicate pairs.

Every pair comes with what step 3 needs to write it out (which token to negate, which
tokens to drop), so that writing the chosen pair costs no second look at the parse.
This runs for every caption and must stay a small fraction of the parse itself, so the
parse's arrays are read once and only tokens that can open a pair become Python objects.
Whether a word is a verb we can negate is :mod:`ccneg_build.negators.rule_verbs`' job.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Union

from spacy.attrs import DEP
from spacy.strings import get_string_id
from spacy.tokens import Doc, Token

from ccneg_build.negators.rule_verbs import (
    NOUN_POS,
    SUBJECT_DEPS,
    VERB_POS,
    WordClasses,
    adjective_in_disguise,
    glued_to_bare_noun,
    negation_site,
    noun_in_disguise,
    negative_noun_phrase,
)
from ccneg_build.negators.rule_words import (
    BE_FORMS,
    COMPLEMENT_VERBS,
    CONTAINER_NOUNS,
    DEPICTION_NOUNS,
    IDIOMS,
    FRAME_NOUNS,
    INDEFINITE_DETERMINERS,
    INTENSIFIERS,
    LIGHT_OBJECTS,
    LINKING_VERB_FORMS,
    NEGATIVE_PRONOUNS,
    NOUNS_TAKING_TO,
    PLACE_NOUNS,
    PHRASE_VERBS,
    PREPOSITION_OPENERS,
    STANDALONE_VERBS,
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
_OBJECT_TAIL_DEPS = frozenset(("conj", "cc", "acl", "relcl", "appos", "amod"))
_OPENER_DEPS = frozenset(("advmod", "prt", "prep", "amod", "acomp"))
#: Left dependents that belong to a clause we drop ("while sitting", "who moved", "to go").
_CLAUSE_OPENER_DEPS = frozenset(("aux", "auxpass", "mark", "neg", "advmod"))
_RELATIVE_TAGS = frozenset(("WDT", "WP", "WP$", "WRB"))
_FINITE_PLURAL = frozenset(("VBP",))
#: Words that open a how-to or wh- clause ("how to add texture", "it 's impressive how ...").
_WH_OPENERS = frozenset("how what why where when whether which who whom".split())
#: Dependents a verb's own complement can have besides the chosen phrase: when one of
#: them follows the verb, negating the verb would negate it too ("feeding apples to an
#: elephant"), so the phrase is negated instead ("feeding apples, not to an elephant").
_COMPLEMENT_DEPS = frozenset(("dobj", "dative", "attr", "oprd", "acomp", "ccomp", "xcomp", "prep", "agent"))
#: Dependents inside a noun phrase before its head ("a fast moving red car", "rock and roll artist").
_INNER_NOUN_DEPS = frozenset(
    ("det", "predet", "amod", "compound", "nummod", "poss", "nmod", "case", "punct", "advmod", "quantmod", "cc", "conj")
)
#: Adverbs that complete a verb's direction ("looks out over the fields"), not its manner.
_DIRECTION_ADVERBS = frozenset("out up down away back off over around along together home in".split())
#: "not in all weather" means "in some weather": the negation falls on the quantifier.
_UNIVERSAL_DETERMINERS = frozenset("all every each both".split())
#: Parts of speech a listed object may be made of ("bird and butterfly", "ice cream , cupcakes").
_LIST_POS = frozenset(("NOUN", "PROPN", "ADJ", "DET", "CCONJ", "PUNCT", "NUM", "PRON", "PART"))


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
class Refusal:
    """A pair the rules found but will not negate, and why (a reason code of the shared filter)."""

    position: int  # first token of the pair, to report the earliest refusal
    reason: str
    detail: str
    stage: str = "decompose"  # "negate" when the refusal came from writing the captions


@dataclass(frozen=True, slots=True)
class Parse:
    """What step 1 found in one caption."""

    subject: str
    candidates: tuple[Candidate, ...]
    refused: tuple[Refusal, ...] = ()


#: What a pair-finding rule returns: a pair, a refused pair, or nothing to say.
Found = Union[Candidate, Refusal, None]


def decompose(
    doc: Doc, lemmatize: Lemmatizer = _lower, word_classes: WordClasses = WordClasses(), text: str | None = None
) -> Parse | None:
    """The subject and every pair the rules can negate; ``None`` if there is no root.

    ``lemmatize`` gives a word's base form; it is called only for the few words whose
    meaning decides how to negate ("dealing with" is negated as a verb) or whether an
    object is a noun at all. ``word_classes`` says which base forms English uses as nouns.
    Pairs found but not negatable come back in ``refused`` with the reason. ``text`` is the
    parsed string when the caller has it (cheaper than ``doc.text``).
    """
    indices, roots, has_negation = _read_arrays(doc, doc.text if text is None else text)
    root = _main_root(doc, roots)
    if root is None:
        return None
    used: set[int] = set()  # "of" tokens consumed by complex prepositions ("in front of")
    subject = _subject_token(root)
    candidates: list[Candidate] = []
    refused: list[Refusal] = []
    objects = _ObjectCheck(lemmatize, word_classes)
    for index in indices:
        token = doc[index]
        dep = token.dep_
        found: Found
        if dep in ("prep", "agent") or (dep == "ROOT" and token.pos_ == "ADP") or (
            dep in ("prt", "pcomp") and token.pos_ == "ADP" and token.n_rights > 0
        ):
            if token.i in used:
                continue
            found = _prepositional(doc, token, used, lemmatize, objects)
        elif dep == "dobj":
            found = _direct_object(doc, token, root, objects)
        elif dep == "attr":
            found = _attribute(doc, token, root, objects)
        else:
            continue
        if found is None:
            continue
        if isinstance(found, Refusal):
            refused.append(found)
            continue
        if has_negation and (_under_negation(doc[found.anchor]) or _negated_before(doc, found.anchor)):
            continue
        if _in_wh_clause(doc[found.anchor]):
            refused.append(Refusal(found.anchor, "negation_scope", "the pair is inside a how-to or wh- clause"))
            continue
        if _in_preposed_phrase(doc[found.anchor]):
            refused.append(Refusal(found.anchor, "negation_scope", "the pair is inside a phrase before its verb"))
            continue
        written = _without_stranded_verb(doc, found, lemmatize)
        if isinstance(written, Candidate) and _leaves_subject_before_clause(doc, written):
            written = Refusal(found.anchor, "exclusion_not_caption",
                              "without its predicate the subject would run into the next clause", stage="negate")
        if isinstance(written, Refusal):
            refused.append(written)
        else:
            candidates.append(written)
    conj = _listed_with_subject(doc, subject) if subject is not None else None
    if conj is None and subject is not None and root.i != subject.i and root.pos_ in _NOUNS:
        conj = _listed_with_subject(doc, root)  # "a group of students and a professor"
    if conj is not None:
        candidates.append(conj)
        candidates.sort(key=lambda c: c.anchor)
    subject_text = _object_text(doc, subject)[0] if subject is not None else root.text
    return Parse(subject=subject_text, candidates=tuple(candidates), refused=tuple(refused))


def _read_arrays(doc: Doc, text: str) -> tuple[list[int], list[int], bool]:
    """Tokens that can open a pair, the sentence roots, and whether anything is negated.

    All three are read from the parse's arrays: building a Python object per token costs
    more than the rules themselves, so only prepositions, particles, objects, attributes
    and roots are looked at as tokens.
    """
    deps = doc.to_array(DEP).tolist()
    interesting = [i for i, dep in enumerate(deps) if dep in _INTERESTING_DEP_IDS]
    roots = [i for i in interesting if deps[i] == _ROOT_ID]
    negated = _NEG_ID in deps or not _NEGATIVE_WORDS.isdisjoint(text.lower().split())
    return interesting, roots, negated


def _negated_before(doc: Doc, anchor: int) -> bool:
    """A negation earlier in the same stretch of the caption ("i 'm not one for piercings").

    The parse of such captions is often broken, so the words are read: a "not" between the
    last comma or full stop and the pair would make a second negation a double negative.
    """
    for token in reversed(doc[:anchor]):
        if token.is_punct and token.text in (",", ".", ";", ":", "!", "?"):
            return False
        if token.dep_ == "neg" or token.lower_ in ("not", "n't", "never", "no"):
            return True
    return False


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
    whole scene. The period of an abbreviation goes with it ("the late 3rd century a.d.
    to make ..."), or dropping the phrase would leave a stray full stop.
    """
    end = noun.i + 1
    for child in noun.rights:
        if child.dep_ in _OBJECT_TAIL_DEPS or (child.dep_ == "prep" and child.lower_ == "of") or (
            child.dep_ == "prep" and child.lower_ == "to" and noun.lower_ in NOUNS_TAKING_TO
        ):
            end = max(end, child.right_edge.i + 1)  # "access to a bathroom" goes as a whole
    return _with_abbreviation_period(noun.doc, end)


def _with_abbreviation_period(doc: Doc, end: int) -> int:
    """Move ``end`` past the full stop of an abbreviation the span ends with ("a.d. to make")."""
    if end + 1 < len(doc) and doc[end].text == "." and not doc[end - 1].whitespace_ and doc[end + 1].is_alpha:
        return end + 1
    return end


# ----------------------------------------------------------------------------- candidates


def _prepositional(doc: Doc, prep: Token, used: set[int], lemmatize: Lemmatizer, objects: "_ObjectCheck") -> Found:
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

    found = objects.span(doc, noun)
    if isinstance(found, Refusal):
        return found
    text, object_start, determiner, object_end = found
    predicate = doc[start:object_start].text
    remove = (start, _phrase_end(noun))
    if determiner >= 0 and doc[determiner].lower_ == "no":
        return None  # "with no plans", "at no charge" are already negative
    if word == "with" and head.lower_ in LIGHT_OBJECTS:
        return None  # "have a way with geraniums": an idiom, not a relation to geraniums
    if determiner >= 0 and doc[determiner].lower_ in _UNIVERSAL_DETERMINERS:
        return Refusal(start, "negation_scope", f"'not {predicate} {text}' negates '{doc[determiner].text}', not the pair")

    if word == "with":
        if head.pos_ in _VERBS and lemmatize(head) in WITH_VERBS:
            verb = negation_site(head)  # "dealing with" -> "not dealing with", not "without"
            if verb is None:
                return None
            refusal = _verb_scope_refusal(verb, start) or _list_refusal(doc, object_end, text)
            if refusal is None and _has_other_complement(head, start, remove[1]):
                # "helping his grandson with homework": "not helping" negates the grandson
                refusal = Refusal(start, "negation_scope", f"{head.text!r} has another object besides {text!r}")
            return refusal or Candidate("verbal", text, predicate, start, verb.i, remove)
        refusal = _list_refusal(doc, object_end, text)
        return refusal or _with_candidate(doc, prep, text, predicate, object_start, determiner, remove)
    if is_root:
        kind = "noun_prep" if start > 0 and not doc[start - 1].is_punct else "bare_prep"
        return Candidate(kind, text, predicate, start, -1, remove)
    verb = _linking_verb(head)
    if verb is not None and word == "of" and glued_to_bare_noun(verb):
        verb = None  # "the stone ruins of the villas": a noun the tagger took for a verb
    if verb is not None:
        if head.i > start:
            return Refusal(start, "negation_scope", f"{predicate!r} {text!r} comes before its verb {head.text!r}")
        refusal = _verb_scope_refusal(verb, start)
        if refusal is not None:
            return refusal
        if verb.i != head.i and _has_other_complement(verb, start, remove[1], beside=head):
            # "ask industry to do in our family room": "do not ask" negates the industry
            return Refusal(start, "negation_scope", f"{verb.text!r}, which takes the negation, has another object")
        if head.pos_ in _VERBS and _has_other_complement(head, start, remove[1]):
            # "person feeding apples to an elephant": "not feeding" would negate the apples
            if _required_phrase(head, prep, lemmatize):
                return Refusal(start, "negation_scope", f"{head.text!r} needs {predicate!r} {text!r}: "
                               "the phrase can be neither negated nor dropped apart from the verb")
            return Candidate("noun_prep", text, predicate, start, -1, remove)
        refusal = _list_refusal(doc, object_end, text)
        return refusal or Candidate("verbal", text, predicate, start, verb.i, _with_bare_link(doc, head, prep, remove))
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


def _required_phrase(verb: Token, prep: Token, lemmatize: Lemmatizer) -> bool:
    """Is ``prep``'s phrase the complement ``verb`` cannot do without ("opted *for a style*")?

    For verbs that take a phrase as their complement (:data:`PHRASE_VERBS`: "opt for", "rely
    on", "put ... on"), the first phrase after the verb is that complement: "person opted ,
    not for a style , in her dress" and "person opted in her dress" are not English.
    """
    if lemmatize(verb) not in PHRASE_VERBS or any(c.dep_ == "prt" for c in verb.children):
        return False  # "putting on ice skates near a lake": "on" makes "put on" a verb of its own
    first = next((c for c in verb.rights if c.dep_ in ("prep", "agent")), None)
    return first is not None and first.i == prep.i


def _verb_scope_refusal(verb: Token, position: int) -> Refusal | None:
    """Refuse to negate a verb of a how-to or wh- clause, or an infinitive.

    "how not to add texture" negates the instructions; "ready not to sail" states an
    intention, not an absence.
    """
    if _in_wh_clause(verb):
        return Refusal(position, "negation_scope", f"the verb {verb.text!r} is inside a how-to or wh- clause")
    lefts = list(verb.lefts)
    if any(c.dep_ == "aux" and c.tag_ == "TO" for c in lefts) and not any(
        c.dep_ in ("aux", "auxpass") and c.tag_ in ("MD", "VBZ", "VBP", "VBD") for c in lefts
    ):
        return Refusal(position, "negation_scope", f"the verb {verb.text!r} is an infinitive ('not to {verb.lower_}')")
    return None


def _has_other_complement(verb: Token, start: int, end: int, beside: Token | None = None) -> bool:
    """Does ``verb`` have an object or phrase after it besides the span ``[start, end)``?

    "makes her way through the snow" has none worth the name (a light object), "soldiers
    stand next to a tank at an air base" has one ("next to a tank") for "air base".
    ``beside``: a token inside one of the verb's complements that does not count (the verb
    a complement verb hangs on: "tend *to play* this album").
    """
    for child in verb.rights:
        if start <= child.i < end:
            continue
        if beside is not None and child.left_edge.i <= beside.i <= child.right_edge.i:
            continue
        dep = child.dep_
        if dep == "dobj" and child.lower_ in LIGHT_OBJECTS:
            continue
        if dep in _COMPLEMENT_DEPS:
            return True
        if dep == "advmod" and child.lower_ in PREPOSITION_OPENERS and any(g.dep_ == "prep" for g in child.children):
            return True  # "next to a tank"
        if dep == "advmod" and child.i < start and child.lower_ not in _DIRECTION_ADVERBS:
            return True  # "waits patiently for its owner": "not" would fall on "patiently"
    return False


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


def _direct_object(doc: Doc, noun: Token, root: Token, objects: "_ObjectCheck") -> Found:
    verb = noun.head
    if noun.pos_ not in _NOUNS or verb.pos_ not in _VERBS:
        return None
    if verb.i < noun.i and any(t.is_punct and t.text != "-" for t in doc[verb.i + 1 : noun.left_edge.i]):
        return None  # "image may contain : person , ...": a list after a colon, not an object
    site = negation_site(verb)
    if site is None:
        return None
    found = objects.span(doc, noun)
    if isinstance(found, Refusal):
        return found
    text, object_start, _determiner, object_end = found
    refusal = _verb_scope_refusal(site, verb.i) or _list_refusal(doc, object_end, text)
    if refusal is None and site.i != verb.i and _has_other_complement(site, verb.i, verb.i + 1, beside=verb):
        # "someone spent several hours creating this brooch": "did not spend" negates the hours
        refusal = Refusal(verb.i, "negation_scope", f"{site.text!r}, which takes the negation, has another object")
    if refusal is not None:
        return refusal
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
            if child.dep_ in ("aux", "auxpass", "neg") or (child.dep_ == "advmod" and child.tag_.startswith("RB")):
                start = min(start, child.i)
        end = max(verb.right_edge.i + 1, _phrase_end(noun))
        while end - 1 > verb.i and doc[end - 1].is_punct:
            end -= 1
    else:
        start, end = _clause_start(verb), verb.right_edge.i + 1
        subject = next((c for c in verb.lefts if c.dep_ in _SUBJECT_DEPS), None)
        if subject is not None and subject.tag_ not in _RELATIVE_TAGS and verb.dep_ != "conj":
            # "did you know the skin releases gallons of water": without its clause the
            # exclusion would keep "the skin" alone ("did you know the skin ?")
            return Refusal(verb.i, "exclusion_not_caption",
                           f"without {text!r} the clause of {verb.text!r} keeps only its subject", stage="negate")
    if end <= noun.i:
        return None
    if site.tag_ == "VBG" and site.dep_ == "pcomp" and site.head.pos_ == "ADP" and site.head.i == start:
        # "use it for filling any contours": "for not filling" reads badly, so the whole
        # phrase is negated with its preposition ("use it, not for filling any contours");
        # "a way, not of doing" and "not without taking" are not English, so those go
        if site.head.lower_ in SKIPPED_PREPOSITIONS or site.head.lower_ == "without":
            return None
        if any(c.dep_ == "conj" for c in site.children):
            # "behind building your network and getting results": "not behind" negates both
            return Refusal(start, "negation_scope", f"{site.text!r} is listed with another verb")
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


def _attribute(doc: Doc, noun: Token, root: Token, objects: "_ObjectCheck") -> Found:
    """ "romanesque structure is a historic church" -> "... is not a historic church"."""
    verb = noun.head
    if noun.pos_ not in _NOUNS or verb.lower_ not in BE_FORMS or verb.i > noun.i:
        return None
    if any(c.dep_ in ("expl", "neg") for c in verb.children):
        return None  # "there is a dog on the bed" has no subject to keep
    subject = next((c for c in verb.lefts if c.dep_ in _SUBJECT_DEPS), None)
    if subject is None or subject.pos_ == "PRON":
        return None  # without a noun subject the exclusion would be "it in the sea"
    if verb.dep_ not in ("ROOT", "conj"):
        # "if red is your favourite hue then ...": without "is your favourite hue" the clause is "if red"
        return Refusal(verb.i, "exclusion_not_caption", f"without its attribute the clause of {verb.text!r} keeps only its subject",
                       stage="negate")
    found = objects.span(doc, noun)
    if isinstance(found, Refusal):
        return found
    text, object_start, _determiner, _object_end = found
    predicate = doc[verb.i : object_start].text
    start = verb.i
    for child in verb.lefts:
        if child.dep_ in ("aux", "auxpass", "advmod") and child.i > subject.i:
            start = min(start, child.i)
    end = noun.right_edge.i + 1  # "a historic house alongside river" goes as a whole
    while end - 1 > noun.i and doc[end - 1].is_punct:
        end -= 1
    return Candidate("verbal", text, predicate, verb.i, verb.i, (start, end))


# ----------------------------------------------------------------------------- checks on a pair


class _ObjectCheck:
    """The object's text if it is a noun phrase the parse can be trusted with, else a refusal.

    Parse errors make objects of fragments: "stump playing guitar" (a participle inside),
    "left greets" (a verb taken for a noun), "pregnant step" (a compound cut before its
    head). Listed nouns are one object ("a bird and butterfly"), so that "without a bird
    and butterfly" negates exactly the object it names.
    """

    __slots__ = ("lemmatize", "word_classes")

    def __init__(self, lemmatize: Lemmatizer, word_classes: WordClasses) -> None:
        self.lemmatize = lemmatize
        self.word_classes = word_classes

    def span(self, doc: Doc, noun: Token) -> tuple[str, int, int, int] | Refusal:
        """(text, first token, determiner or -1, end) of the object headed by ``noun``."""
        _text, start, determiner = _object_text(doc, noun)
        end = _listed_end(doc, noun)
        text = doc[start:end].text
        problem = self._problem(doc, noun, start, end, text)
        if problem is not None:
            return Refusal(start, "object_not_noun_phrase", problem)
        return text, start, determiner, end

    def _problem(self, doc: Doc, noun: Token, start: int, end: int, text: str) -> str | None:
        if not text[:1].isalnum():
            return f"object {text!r} does not start with a word"
        for token in doc[start : noun.i]:
            if token.dep_ not in _INNER_NOUN_DEPS or (token.pos_ in _VERBS and token.dep_ != "amod"):
                return f"object {text!r} has {token.text!r} ({token.dep_}) inside"
            if token.tag_ == "VBG" and token.i > start and doc[token.i - 1].pos_ in _NOUNS:
                return f"object {text!r} has a clause inside ({doc[token.i - 1].text!r} {token.text!r})"
        following = doc[end] if end < len(doc) else None
        if following is not None and following.pos_ in _NOUNS and following.dep_ in ("compound", "amod", "nmod"):
            return f"object {text!r} is cut before the noun {following.text!r} it modifies"
        if end + 1 < len(doc) and doc[end].lower_ in ("by", "to", "after") and doc[end + 1].lower_ == noun.lower_:
            return f"{noun.text!r} is part of the idiom {doc[noun.i : end + 2].text!r}, not an object"
        listed = _listed_after(doc, end, commas=False)
        if listed is not None:
            return f"object {text!r} is listed with {listed!r}: a negation would cover the list"
        if any(c.dep_ in ("xcomp", "ccomp", "dobj", "nsubj") for c in noun.children):
            return f"object {text!r}: {noun.text!r} takes a verb's dependents, so it is a verb"
        if noun.tag_ == "NNS" and following is not None and following.tag_ == "TO":
            stem = noun.lower_[:-1] if noun.lower_.endswith("s") else noun.lower_
            if self.word_classes.is_verb(stem) and self.word_classes.verbs:
                return f"object {text!r}: {noun.text!r} before 'to' reads as a verb ('waits to hear')"
        nouns = self.word_classes.nouns
        for token in doc[start : noun.i + 1]:
            if token.tag_ in ("NN", "NNS") and token.lower_ not in nouns and _singular(token.lower_) not in nouns:
                base = self.lemmatize(token)
                if self.word_classes.verb_not_noun(base, base):
                    return f"object {text!r}: {token.text!r} is a verb, not a noun"
        return None


def _singular(word: str) -> str:
    """A cheap singular for a plural noun ("walls" -> "wall", "berries" -> "berry")."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("es") and word[-3:-2] in ("s", "x", "z", "h"):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _list_refusal(doc: Doc, end: int, text: str) -> Refusal | None:
    """Refuse an object followed by ", noun" when the negation would spread over the list.

    "with no cute lambs , apples" and "not playing a guitar , night" read as negating
    every item; a negated phrase set off by commas ("a man , not in the air , 3d render")
    does not, so :func:`_prepositional` asks this only for "with" and verbs.
    """
    listed = _listed_after(doc, end, commas=True)
    if listed is None:
        return None
    return Refusal(end, "negation_scope", f"object {text!r} is listed with {listed!r}: a negation would cover the list")


def _listed_end(doc: Doc, noun: Token) -> int:
    """End of the object with the nouns listed after it ("a bird and butterfly")."""
    last = noun
    for _ in range(12):
        conjs = [c for c in last.rights if c.dep_ == "conj"]
        if not conjs or conjs[-1].pos_ not in _NOUNS:
            break
        last = conjs[-1]
    if last is noun or any(t.pos_ not in _LIST_POS for t in doc[noun.i + 1 : last.i]):
        return noun.i + 1
    return last.i + 1


def _listed_after(doc: Doc, end: int, commas: bool) -> str | None:
    """A noun listed right after the object that the parse left out of it ("a dog and a cat").

    "without a dog and a cat" reads as negating the whole list, so such an object cannot
    be negated alone; "... and people have flocked" starts a clause, not a list. With
    ``commas``, ", apples" counts too.
    """
    if end + 1 >= len(doc):
        return None
    joint, after = doc[end], doc[end + 1]
    if joint.lower_ == "as" and doc[end : end + 3].text.lower() == "as well as":
        return doc[end + 3].text if end + 3 < len(doc) else None
    if joint.lower_ in ("and", "or", "&") and after.pos_ in ("DET", "ADJ", "NOUN", "PROPN", "NUM"):
        head = _noun_head(after)
        return None if head.dep_ in _SUBJECT_DEPS else after.text
    if commas and joint.text == "," and after.pos_ in ("DET", "ADJ", "NOUN", "PROPN", "NUM"):
        head = _noun_head(after)
        if head.pos_ in _NOUNS and head.dep_ not in _SUBJECT_DEPS:
            return after.text  # "cute lambs , apples", "a king size bed , private bathroom"
    return None


def _noun_head(token: Token) -> Token:
    """The noun a determiner or modifier belongs to ("private" -> "bathroom")."""
    head = token
    for _ in range(6):
        if head.dep_ not in ("det", "amod", "compound", "nummod", "poss") or head.head.i <= head.i:
            break
        head = head.head
    return head


def _in_wh_clause(token: Token) -> bool:
    """Is ``token`` inside a how-to or wh- clause ("how to add texture to any window")?

    A "not" there negates the instructions or the question ("how not to add ..."), and
    the exclusion breaks the clause. Relative clauses ("the house where we stayed") are
    fine: they describe a noun.
    """
    current = token
    for _ in range(16):
        if current.pos_ in _VERBS and current.dep_ != "relcl":
            for child in current.lefts:
                if child.lower_ in _WH_OPENERS and child.tag_ in _RELATIVE_TAGS:
                    return True
            opener = current.left_edge
            if opener.lower_ in _WH_OPENERS and opener.tag_ in _RELATIVE_TAGS and _opens(opener, current):
                return True  # "how many triangles are there"
        if current.head.i == current.i:
            return False
        current = current.head
    return False


def _opens(opener: Token, verb: Token) -> bool:
    """Does the wh-word ``opener`` open ``verb``'s own clause, not a clause before it?

    "how many triangles are there": yes; "when all else fails , you can jump": no, "when"
    opens "fails".
    """
    token = opener
    for _ in range(8):
        if token.head.i == verb.i:
            return token.dep_ not in ("advcl", "ccomp", "csubj", "acl", "relcl", "prep", "npadvmod")
        if token.head.i == token.i or token.dep_ in ("advcl", "ccomp", "csubj", "acl", "relcl"):
            return False
        token = token.head
    return False


def _in_preposed_phrase(token: Token) -> bool:
    """Is ``token`` inside a phrase that comes before the verb it belongs to?

    "on my way to class i saw a python": "to class" is inside "on my way ...", which
    sets the scene before "saw"; negating inside it needs commas a rule cannot place.
    """
    current = token
    for _ in range(16):
        head = current.head
        if head.i == current.i:
            return False
        if head.pos_ in _VERBS and current.i < head.i and current.dep_ in ("prep", "npadvmod", "advmod"):
            return current.i != token.i or token.dep_ != "prep"  # the phrase itself is judged by its rule
        current = head
    return False


def _without_stranded_verb(doc: Doc, candidate: Candidate, lemmatize: Lemmatizer) -> Candidate | Refusal:
    """Widen the exclusion so that it never stops on a verb that needed what it removed.

    "a buddha statue seen on the grounds" without "on the grounds" is "a buddha statue",
    not "a buddha statue seen"; "this property sits on a beach" is "this property". A
    verb that ends a caption well ("the plane flies", "a woman walking", "is displayed")
    is kept.
    """
    start, end = candidate.remove
    if _with_abbreviation_period(doc, end) != end:
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
            if lemmatize(verb) in COMPLEMENT_VERBS and not any(c.dep_ in _COMPLEMENT_DEPS for c in after):
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
        widened = _clause_start(verb)
    if widened == start:
        return candidate
    return replace(candidate, remove=(widened, end))


def _leaves_subject_before_clause(doc: Doc, candidate: Candidate) -> bool:
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
