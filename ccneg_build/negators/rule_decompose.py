"""Step 1 of the paper with a dependency parse: a subject and object-predicate pairs.

Every pair comes with what step 3 needs to write it out (which token to negate, which
tokens to drop), so that writing the chosen pair costs no second look at the parse.
This runs for every caption and must stay a small fraction of the parse itself, so the
parse's arrays are read once and only tokens that can open a pair become Python objects.
Whether a word is a verb we can negate is :mod:`ccneg_build.negators.rule_verbs`' job;
whether an object is a noun phrase, :mod:`~ccneg_build.negators.rule_objects`'; where a
"not" can go, :mod:`~ccneg_build.negators.rule_scope`'; what the exclusion must drop with
the object, :mod:`~ccneg_build.negators.rule_exclusion`'. A pair found but not negatable
comes back as a :class:`~ccneg_build.negators.rule_pairs.Refusal` with the reason.
"""

from __future__ import annotations

from spacy.attrs import DEP
from spacy.strings import get_string_id
from spacy.tokens import Doc, Token

from ccneg_build.negators.rule_exclusion import (
    clause_start,
    leaves_subject_before_clause,
    with_abbreviation_period,
    without_stranded_verb,
)
from ccneg_build.negators.rule_objects import ObjectCheck, list_refusal, object_text
from ccneg_build.negators.rule_pairs import Candidate, Found, Lemmatizer, Parse, Refusal
from ccneg_build.negators.rule_scope import (
    has_other_complement,
    in_preposed_phrase,
    in_wh_clause,
    negated_before,
    required_phrase,
    under_negation,
    verb_scope_refusal,
)
from ccneg_build.negators.rule_verbs import (
    NOUN_POS,
    SUBJECT_DEPS,
    VERB_POS,
    WordClasses,
    adjective_in_disguise,
    glued_to_bare_noun,
    negation_site,
)
from ccneg_build.negators.rule_words import (
    BE_FORMS,
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
    PREPOSITION_OPENERS,
    WITH_VERBS,
    SKIPPED_PREPOSITIONS,
)


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
_RELATIVE_TAGS = frozenset(("WDT", "WP", "WP$", "WRB"))
_FINITE_PLURAL = frozenset(("VBP",))
#: "not in all weather" means "in some weather": the negation falls on the quantifier.
_UNIVERSAL_DETERMINERS = frozenset("all every each both".split())


def _lower(token: Token) -> str:
    return token.lower_


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
    objects = ObjectCheck(lemmatize, word_classes)
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
        if has_negation and (under_negation(doc[found.anchor]) or negated_before(doc, found.anchor)):
            continue
        if in_wh_clause(doc[found.anchor]):
            refused.append(Refusal(found.anchor, "negation_scope", "the pair is inside a how-to or wh- clause"))
            continue
        if in_preposed_phrase(doc[found.anchor]):
            refused.append(Refusal(found.anchor, "negation_scope", "the pair is inside a phrase before its verb"))
            continue
        written = without_stranded_verb(doc, found, lemmatize)
        if isinstance(written, Candidate) and leaves_subject_before_clause(doc, written):
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
    subject_text = object_text(doc, subject)[0] if subject is not None else root.text
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
    return with_abbreviation_period(noun.doc, end)


# ----------------------------------------------------------------------------- candidates


def _prepositional(doc: Doc, prep: Token, used: set[int], lemmatize: Lemmatizer, objects: ObjectCheck) -> Found:
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
            refusal = verb_scope_refusal(verb, start) or list_refusal(doc, object_end, text)
            if refusal is None and has_other_complement(head, start, remove[1]):
                # "helping his grandson with homework": "not helping" negates the grandson
                refusal = Refusal(start, "negation_scope", f"{head.text!r} has another object besides {text!r}")
            return refusal or Candidate("verbal", text, predicate, start, verb.i, remove)
        refusal = list_refusal(doc, object_end, text)
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
        refusal = verb_scope_refusal(verb, start)
        if refusal is not None:
            return refusal
        if verb.i != head.i and has_other_complement(verb, start, remove[1], beside=head):
            # "ask industry to do in our family room": "do not ask" negates the industry
            return Refusal(start, "negation_scope", f"{verb.text!r}, which takes the negation, has another object")
        if head.pos_ in _VERBS and has_other_complement(head, start, remove[1]):
            # "person feeding apples to an elephant": "not feeding" would negate the apples
            if required_phrase(head, prep, lemmatize):
                return Refusal(start, "negation_scope", f"{head.text!r} needs {predicate!r} {text!r}: "
                               "the phrase can be neither negated nor dropped apart from the verb")
            return Candidate("noun_prep", text, predicate, start, -1, remove)
        refusal = list_refusal(doc, object_end, text)
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


def _direct_object(doc: Doc, noun: Token, root: Token, objects: ObjectCheck) -> Found:
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
    refusal = verb_scope_refusal(site, verb.i) or list_refusal(doc, object_end, text)
    if refusal is None and site.i != verb.i and has_other_complement(site, verb.i, verb.i + 1, beside=verb):
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
        start, end = clause_start(verb), verb.right_edge.i + 1
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


def _attribute(doc: Doc, noun: Token, root: Token, objects: ObjectCheck) -> Found:
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
    text, _start, _determiner = object_text(doc, other)
    return Candidate("conj", text, cc.text, cc.i, -1, (cc.i, other.i + 1))
