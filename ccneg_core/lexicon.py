"""The negation lexicon: which words negate, which cue each maps to, which words dangle.

One definition for everything that reads or judges negations: the shared filter
(:mod:`ccneg_build.verify`), the rule negator, the text-only baseline of ccneg-bench and the
readers of other people's data. When two of them disagreed on a word, a caption the filter
accepted as "one added negation" could look negation-free to the baseline, or the reverse.
"""

from __future__ import annotations

import re

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
