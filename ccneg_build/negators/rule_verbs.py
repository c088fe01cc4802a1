"""Is this token a verb we can negate, and where does its "not" go?

Telegraphic captions make the tagger take nouns for verbs ("plus size dress", "vendor and
produce") and verbs for adjectives ("gold plated ceiling"); negating those writes
nonsense. These checks keep such words out, and find the verb that carries the negation
when the linking verb is a complement ("would not help boost", "did not get married").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spacy.tokens import Token

from ccneg_build.negators.rule_words import INTRANSITIVE_IMPERATIVES, NEGATIVE_PRONOUNS

NOUN_POS = frozenset(("NOUN", "PROPN"))
VERB_POS = frozenset(("VERB", "AUX"))
SUBJECT_DEPS = frozenset(("nsubj", "nsubjpass"))


@dataclass(frozen=True)
class WordClasses:
    """Which base forms English uses as nouns and as verbs (WordNet's lists, shipped with spaCy's lemmatizer).

    The tagger guesses from context and telegraphic captions mislead it: "spooky food" makes
    "spooky" a verb and "on the left greets a fan" makes "greets" a noun. A word that
    English never uses in the class the tagger chose is a parse error. Empty lists (a
    pipeline without the lemmatizer's tables) disable the checks.
    """

    nouns: frozenset[str] = frozenset()
    verbs: frozenset[str] = frozenset()

    @classmethod
    def from_lemmatizer(cls, lemmatizer: Any) -> "WordClasses":
        """Read the lists from a rule lemmatizer's lookup tables (empty if it has none)."""
        try:
            index = lemmatizer.lookups.get_table("lemma_index")
            exceptions = lemmatizer.lookups.get_table("lemma_exc")
        except (AttributeError, KeyError):
            return cls()
        verbs = set(index.get("verb", ()))
        for forms in exceptions.get("verb", {}).values():
            verbs.update(forms)
        return cls(nouns=frozenset(index.get("noun", ())), verbs=frozenset(verbs))

    def is_verb(self, base: str) -> bool:
        """Can ``base`` be the base form of an English verb? (True when the lists are absent.)"""
        return not self.verbs or base in self.verbs

    def verb_not_noun(self, noun_lemma: str, verb_lemma: str) -> bool:
        """A word the tagger made a noun that English only uses as a verb ("greets")."""
        if not self.nouns or not self.verbs:
            return False
        return noun_lemma not in self.nouns and verb_lemma in self.verbs


def negation_site(verb: Token) -> Token | None:
    """The verb that takes the negation: "would not help boost", "did not move to try".

    A complement verb ("help *boost*", "moved *to try*", "got *married*") is negated
    through the verb it completes, which is where English puts "not".
    """
    for _ in range(3):
        if verb.head.pos_ not in VERB_POS or verb.head.i == verb.i:
            break
        small_clause = verb.dep_ in ("ccomp", "oprd") and verb.tag_ == "VBN" and not any(
            c.dep_ in ("aux", "auxpass") for c in verb.children
        )  # "getting her hair styled" -> "not getting her hair styled"
        if verb.dep_ not in ("xcomp", "acomp") and not small_clause:
            break
        verb = verb.head
    return verb if negatable(verb) else None


def negatable(verb: Token) -> bool:
    """A verb we can negate once and trust to be a verb.

    Not already negated; not a participle used as an adjective ("reversing cameras");
    and not a base form in the middle of a noun phrase, which is the tagger mistaking
    a noun for a verb ("plus size formal dress").
    """
    tag = verb.tag_
    if not (tag.startswith("VB") or tag == "MD") or verb.dep_ in ("amod", "advmod", "nsubj", "nsubjpass", "csubj", "pobj"):
        return False  # "lettering and arrows on the floor showed ...": a gerund is a noun
    if noun_in_disguise(verb):
        return False
    for child in verb.children:
        if child.dep_ == "neg" or (child.dep_ == "det" and child.i < verb.i):
            return False  # already negated, or a noun ("the 94th running of the race")
        if child.dep_ in SUBJECT_DEPS and negative_noun_phrase(child):
            return False  # "no dog of mine will ever be allowed": negated through its subject
    if tag in ("VBN", "VBD") and adjective_in_disguise(verb):
        return False
    if tag == "VB" and verb.i > 0:
        # A bare base form inside a caption is an imperative only after "and" or a
        # punctuation mark ("mix and serve", "image of : design a bathroom").
        has_helper = any(c.dep_ in ("aux", "auxpass", "nsubj", "nsubjpass") for c in verb.lefts)
        previous = verb.doc[verb.i - 1]
        if not has_helper and previous.pos_ not in ("CCONJ", "PUNCT"):
            return False
    return True


def noun_in_disguise(verb: Token) -> bool:
    """Parses where a noun was taken for a verb, common in telegraphic captions.

    "vendor and produce" (listed with a noun), "musical genre" (a present tense with
    nothing before it but an adjective), "barbie in the wallpaper" (an imperative without
    an object),
    "reading room" (a caption-initial -ing form glued to a bare noun), "giant light up
    letters" (an adjective as its subject).
    """
    if verb.dep_ == "conj" and verb.head.pos_ not in VERB_POS:
        return True  # "vendor and produce", "that kiss : left , and kiss": listed with a non-verb
    tag = verb.tag_
    lefts = list(verb.lefts)
    has_subject = any(c.dep_ in SUBJECT_DEPS for c in lefts)
    if verb.i == 0 and tag == "VBZ" and not has_subject:
        return True  # "leaves vector illustration": a caption opening with a plural noun
    if verb.i == 1 and tag in ("VB", "VBP") and _bare_singular_subject(verb.doc[0], verb):
        return True  # "gender reveal shower invite idea": a noun compound, not a clause
    if (
        tag == "VB"
        and verb.i == 0
        and verb.lower_ not in INTRANSITIVE_IMPERATIVES
        and not any(c.dep_ in ("dobj", "dative", "ccomp", "xcomp") for c in verb.rights)
    ):
        return True  # "barbie in the wallpaper": a caption-initial imperative takes an object
    if tag in ("VBP", "VBZ") and not has_subject and verb.dep_ != "conj" and verb.i > 0:
        if verb.doc[verb.i - 1].pos_ in ("ADJ", "DET"):
            return True  # "musical genre a traditional dance": a present tense with no subject
    for child in lefts:
        if child.dep_ in SUBJECT_DEPS and child.pos_ == "ADJ":
            return True
        if tag == "VBG" and child.dep_ in ("amod", "det") and not has_subject:
            return True  # "nice open walking along river": a noun with an adjective
    if tag == "VBG" and verb.dep_ in ("advcl", "conj") and verb.i > 0 and verb.i + 1 < len(verb.doc):
        before, after = verb.doc[verb.i - 1], verb.doc[verb.i + 1]
        if (
            before.pos_ == "VERB"
            and not any(c.dep_ == "dobj" for c in before.children)
            and after.dep_ == "dobj"
            and after.head.i == verb.i
            and after.n_lefts == 0
        ):
            return True  # "install reversing cameras": the participle describes the object
    if verb.tag_ == "VBG" and (verb.i == 0 or verb.doc[verb.i - 1].pos_ in ("DET", "ADJ")):
        following = verb.doc[verb.i + 1] if verb.i + 1 < len(verb.doc) else None
        if following is not None and following.dep_ == "dobj" and following.head.i == verb.i:
            return True
    return False


def _bare_singular_subject(noun: Token, verb: Token) -> bool:
    """A lone singular noun opening the caption as the "subject" of the base form after it."""
    return (
        noun.head.i == verb.i
        and noun.dep_ in SUBJECT_DEPS
        and noun.tag_ == "NN"
        and noun.n_lefts == 0
        and noun.n_rights == 0
    )


def negative_noun_phrase(noun: Token) -> bool:
    """ "no dog", "nothing", "nobody": a subject that already negates its clause."""
    if noun.lower_ in NEGATIVE_PRONOUNS:
        return True
    return any(c.dep_ == "det" and c.lower_ == "no" for c in noun.lefts)


def glued_to_bare_noun(verb: Token) -> bool:
    """A finite verb right after a bare noun subject ("stone ruins"), likely a compound noun."""
    if verb.tag_ not in ("VBZ", "VBP", "VBD") or has_auxiliary(verb) or verb.i == 0:
        return False
    before = verb.doc[verb.i - 1]
    if before.dep_ not in SUBJECT_DEPS or before.pos_ not in NOUN_POS:
        return False
    bare = not any(c.dep_ in ("det", "poss") for c in before.lefts)
    disagreeing = (before.tag_ == "NN" and verb.tag_ == "VBP") or (before.tag_ == "NNS" and verb.tag_ == "VBZ")
    return bare or disagreeing  # "a logo sign outside of": singular noun, plural verb


def has_auxiliary(verb: Token) -> bool:
    return any(c.dep_ in ("aux", "auxpass") for c in verb.lefts)


def adjective_in_disguise(verb: Token) -> bool:
    """ "gold plated ceiling", "hand made pasta": a compound adjective tagged as a verb.

    Between two bare words (no determiner before the first, none after the verb) a past
    form is nearly always such an adjective in CC3M's telegraphic captions, while real
    clauses carry determiners ("the couple appeared happy", "a man held a cup").
    """
    doc = verb.doc
    if verb.i + 1 >= len(doc):
        return False
    if any(c.dep_ in ("aux", "auxpass") for c in verb.lefts):
        return False
    if verb.i == 0:
        return _opens_bare_noun_phrase(verb)
    before, after = doc[verb.i - 1], doc[verb.i + 1]
    if before.pos_ not in ("NOUN", "PROPN", "ADJ") or after.pos_ not in ("NOUN", "PROPN", "ADJ"):
        return False
    return not any(c.dep_ in ("det", "poss") for c in before.lefts)


def _opens_bare_noun_phrase(verb: Token) -> bool:
    """ "mounted police during a demonstration": a caption-initial participle before a bare noun.

    With no subject and its "object" right after it without a determiner, the past form
    describes that noun ("mounted police", "painted walls"); negating it as a verb would
    write "not mounted police".
    """
    if any(c.dep_ in SUBJECT_DEPS for c in verb.children):
        return False
    after = verb.doc[verb.i + 1]
    return after.dep_ == "dobj" and after.head.i == verb.i and after.pos_ in NOUN_POS
