"""The negation lexicon: which words negate, which cue each maps to, which words dangle.

One definition for everything that reads or judges negations: the shared filter
(:mod:`ccneg_build.verify`), the rule negator, the text-only baseline of ccneg-bench and the
readers of other people's data. When two of them disagreed on a word, a caption the filter
accepted as "one added negation" could look negation-free to the baseline, or the reverse.
"""

from __future__ import annotations

import re
from typing import Sequence

#: The values ``negation_cue`` may take: the word that carries the added negation.
NEGATION_CUES: tuple[str, ...] = ("not", "no", "without", "never")

#: The values ``negation_type`` may take (see docs/format.md for examples).
#: - ``relation``: a prepositional link negated with "not" ("a flag, not on a dome")
#: - ``without``:  the object is excluded with "without" ("a person on skis without snow")
#: - ``absence``:  the object is quantified away with "no" ("a meteor with no clouds")
#: - ``verbal``:   the verb linking subject and object is negated ("does not make her way")
NEGATION_TYPES: tuple[str, ...] = ("relation", "without", "absence", "verbal")

#: Whole words that negate (lower case); any "n't" contraction negates too.
NEGATION_WORDS: frozenset[str] = frozenset(
    {"not", "no", "without", "never", "cannot", "nor", "neither", "none", "nothing", "nobody"}
)

#: negation word -> its cue; words not listed map to "not" ("doesn't", "cannot", "nor").
_CUE_OF_WORD = {"no": "no", "none": "no", "nothing": "no", "nobody": "no", "without": "without", "never": "never"}

#: Words a finished caption does not end with (unless the caption itself does): an output that
#: ends with one was cut off ("a chandelier and").
DANGLING_END_WORDS: frozenset[str] = frozenset(
    "and or but of with the a an to in on at for by from into onto that which who while as".split()
)

#: Prepositions, as whole words: a phrase that opens with one is a place or a time, not a caption.
PREPOSITIONS: frozenset[str] = frozenset(
    "about above across after against along amid among around as at atop before behind below "
    "beneath beside besides between beyond by down during for from in inside into like near "
    "next of off on onto opposite out outside over past through throughout to toward towards "
    "under underneath upon via with within".split()
)

#: Auxiliaries and modals, with the pieces :func:`word_tokens` leaves of a spaced contraction
#: ("it 's" gives "s", "you 'll" gives "ll").
AUXILIARIES: frozenset[str] = frozenset(
    "do does did is are was were am be been being has have had can could will would shall "
    "should may might must s re m ll ve d".split()
)

#: Subject pronouns: a caption does not stop on one ("when all else fails , you").
SUBJECT_PRONOUNS: frozenset[str] = frozenset("i you he she we they".split())

#: Words that name nothing: pronouns, determiners, auxiliaries, prepositions, conjunctions,
#: wh-words and a few particles. An exclusion caption made only of them ("they .", "no .")
#: names nothing the image shows.
FUNCTION_WORDS: frozenset[str] = PREPOSITIONS | AUXILIARIES | SUBJECT_PRONOUNS | frozenset(
    """
    me my mine your yours him his her hers it its us our ours them their theirs myself yourself
    itself this that these those a an the some any no every each all both either neither another
    other such what which whose who whom how when where why whether and or but nor so yet if then
    than because while though although unless until not there here very too just also only even
    still ever never one ones
    """.split()
)

#: Verb forms that need a complement to make a caption: an exclusion that stops on one lost
#: it with the object ("a buddha statue seen", "you were", "i tend", "stairs that go").
#: Auxiliaries and modals belong here too (:data:`AUXILIARIES`). Forms that are also common
#: nouns or stand alone in a caption ("looks", "set", "walking", "parked") are left out.
COMPLEMENT_VERB_FORMS: frozenset[str] = AUXILIARIES | frozenset(
    """
    get gets got gotten getting tend tends tended seem seems seemed become becomes became
    make makes made making put puts putting place placed take takes took taken taking give
    gives gave given giving see sees saw seen keep keeps kept bring brings brought using used
    uses fill fills filled cover covers covered locate located situated based dressed isolated
    consist consists consisted contain contains contained include includes included depict
    depicts depicted decorated surrounded topped lined packed stuffed grown go goes went
    headed want wants wanted need needed looked sits
    """.split()
)

#: Words that end no finished caption (unless the caption ends with them too): subject
#: pronouns, wh-words and conjunctions that open a clause, and the verb forms above.
UNFINISHED_END_WORDS: frozenset[str] = SUBJECT_PRONOUNS | COMPLEMENT_VERB_FORMS | frozenset(
    "how what when where why whether if than because though although unless until very".split()
)

#: Adverbs that a "not" placed right before them would negate instead of the pair: "not
#: always" (sometimes), "not totally" (partly), "not just" (also something else).
SCOPE_ADVERBS: frozenset[str] = frozenset(
    """
    always usually often generally sometimes all every totally completely entirely fully quite
    very really necessarily just only even exactly merely simply absolutely mostly
    """.split()
)

#: A word: letters and digits of any script, with an inner apostrophe ("doesn't" is one word).
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def word_tokens(text: str) -> list[str]:
    """Lower-case word tokens, typographic apostrophes folded, so "doesn’t" is one token."""
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def is_negation_word(token: str) -> bool:
    """True for a lower-case token that negates ("not", "without", "doesn't", ...)."""
    return token in NEGATION_WORDS or (token.endswith("n't") and len(token) > 3)


def cue_of(token: str) -> str:
    """Map a negation token to its cue in :data:`NEGATION_CUES` ("doesn't" -> "not")."""
    return _CUE_OF_WORD.get(token, "not")


def negation_words_in(text: str) -> list[str]:
    """The negation tokens of ``text``, in order."""
    return [token for token in word_tokens(text or "") if is_negation_word(token)]


def has_negation(text: str) -> bool:
    """True when ``text`` holds a negation word."""
    return bool(negation_words_in(text))


def phrase_count(phrase: str, text: str) -> int:
    """How often ``phrase`` occurs in ``text`` as whole words, case-insensitively."""
    return count_tokens(tuple(word_tokens(phrase)), tuple(word_tokens(text)))


def count_tokens(phrase: Sequence[str], text: Sequence[str]) -> int:
    """Whole-word occurrences of the token list ``phrase`` in the token list ``text``."""
    n = len(phrase)
    if n == 0:
        return 0
    phrase = list(phrase)
    first = phrase[0]
    if n == 1:
        return list(text).count(first)
    return sum(1 for i, word in enumerate(text) if word == first and list(text[i : i + n]) == phrase)
