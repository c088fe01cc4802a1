"""Where a "not" can go so that it negates the chosen pair and nothing else.

English puts a negation on a verb or before a phrase, and the reader takes it as negating
what it stands next to: "not" on a verb whose object is another one negates that object
("person not feeding apples to an elephant"), on a how-to clause the instructions ("how not
to add texture"), on an infinitive an intention ("ready not to sail"), after an adverb the
adverb ("not always"). These checks tell the pair-finding rules when a pair must be negated
as a phrase instead, or refused with ``negation_scope``.
"""

from __future__ import annotations

from spacy.tokens import Doc, Token

from ccneg_build.negators.rule_pairs import Lemmatizer, Refusal
from ccneg_build.negators.rule_verbs import SUBJECT_DEPS, VERB_POS, negative_noun_phrase
from ccneg_build.negators.rule_words import LIGHT_OBJECTS, PHRASE_VERBS, PREPOSITION_OPENERS

_VERBS = VERB_POS
_SUBJECT_DEPS = SUBJECT_DEPS
_RELATIVE_TAGS = frozenset(("WDT", "WP", "WP$", "WRB"))

#: Words that open a how-to or wh- clause ("how to add texture", "it 's impressive how ...").
_WH_OPENERS = frozenset("how what why where when whether which who whom".split())


#: Dependents a verb's own complement can have besides the chosen phrase: when one of
#: them follows the verb, negating the verb would negate it too ("feeding apples to an
#: elephant"), so the phrase is negated instead ("feeding apples, not to an elephant").
COMPLEMENT_DEPS = frozenset(("dobj", "dative", "attr", "oprd", "acomp", "ccomp", "xcomp", "prep", "agent"))


#: Adverbs that complete a verb's direction ("looks out over the fields"), not its manner.
_DIRECTION_ADVERBS = frozenset("out up down away back off over around along together home in".split())


def negated_before(doc: Doc, anchor: int) -> bool:
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


def under_negation(token: Token) -> bool:
    """Is ``token`` inside a clause the caption already negates?

    "a boy doesn't have a hat on his head", "no dog of mine is allowed on the sofa".

    A second negation there would read as a double negative.
    """
    for ancestor in token.ancestors:
        for child in ancestor.children:
            if child.dep_ == "neg" or (child.dep_ in _SUBJECT_DEPS and negative_noun_phrase(child)):
                return True
    return False


def required_phrase(verb: Token, prep: Token, lemmatize: Lemmatizer) -> bool:
    """Is ``prep``'s phrase the complement ``verb`` cannot do without ("opted *for a style*")?

    For verbs that take a phrase as their complement (:data:`PHRASE_VERBS`: "opt for", "rely
    on", "put ... on"), the first phrase after the verb is that complement: "person opted ,
    not for a style , in her dress" and "person opted in her dress" are not English.
    """
    if lemmatize(verb) not in PHRASE_VERBS or any(c.dep_ == "prt" for c in verb.children):
        return False  # "putting on ice skates near a lake": "on" makes "put on" a verb of its own
    first = next((c for c in verb.rights if c.dep_ in ("prep", "agent")), None)
    return first is not None and first.i == prep.i


def verb_scope_refusal(verb: Token, position: int) -> Refusal | None:
    """Refuse to negate a verb of a how-to or wh- clause, or an infinitive.

    "how not to add texture" negates the instructions; "ready not to sail" states an
    intention, not an absence.
    """
    if in_wh_clause(verb):
        return Refusal(position, "negation_scope", f"the verb {verb.text!r} is inside a how-to or wh- clause")
    lefts = list(verb.lefts)
    if any(c.dep_ == "aux" and c.tag_ == "TO" for c in lefts) and not any(
        c.dep_ in ("aux", "auxpass") and c.tag_ in ("MD", "VBZ", "VBP", "VBD") for c in lefts
    ):
        return Refusal(position, "negation_scope", f"the verb {verb.text!r} is an infinitive ('not to {verb.lower_}')")
    return None


def has_other_complement(verb: Token, start: int, end: int, beside: Token | None = None) -> bool:
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
        if dep in COMPLEMENT_DEPS:
            return True
        if dep == "advmod" and child.lower_ in PREPOSITION_OPENERS and any(g.dep_ == "prep" for g in child.children):
            return True  # "next to a tank"
        if dep == "advmod" and child.i < start and child.lower_ not in _DIRECTION_ADVERBS:
            return True  # "waits patiently for its owner": "not" would fall on "patiently"
    return False


def in_wh_clause(token: Token) -> bool:
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


def in_preposed_phrase(token: Token) -> bool:
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
