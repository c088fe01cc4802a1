"""Which negation a rewrite added, and what kind it is: the ``negation_cue`` and ``negation_type``
labels of a row, derived from the pair (caption, negated caption) rather than trusted from a
backend.

Shared by the build's filter (:mod:`ccneg_build.verify`) and the reader of the released
CC-Neg files (:mod:`ccneg_core.released_format`), which label the same way.
"""

from __future__ import annotations

import functools
from collections import Counter
from typing import Sequence

from ccneg_core.lexicon import (
    AUXILIARIES, NEGATION_CUES, NEGATION_TYPES, PREPOSITIONS, cue_of, is_negation_word, word_tokens,
)
from ccneg_core.record import Verdict


@functools.lru_cache(maxsize=8192)
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(word_tokens(text))


@functools.lru_cache(maxsize=8192)
def _negation_tokens(text: str) -> tuple[str, ...]:
    return tuple(t for t in _tokens(text) if is_negation_word(t))


def added_negations(caption: str, negated: str) -> list[str]:
    """Negation tokens the negated caption has beyond those of the caption, in order."""
    before = Counter(_negation_tokens(caption))
    added: list[str] = []
    for token in _negation_tokens(negated):
        if before[token] > 0:
            before[token] -= 1
        else:
            added.append(token)
    return added


def negation_labels(caption: str, negated: str) -> Verdict | None:
    """Derive (cue, type) from the caption and its negation; ``None`` if nothing was added.

    The type follows the cue and the words around it (see docs/format.md):
    ``without`` -> without; ``no`` -> absence; ``never`` -> verbal; ``not`` -> verbal when
    it follows an auxiliary, is contracted or precedes a participle ("does not make",
    "isn't", "not staring"), unless the next word is a preposition, which makes it a
    negated relation ("not on a dome"); any other ``not`` is a relation.
    """
    added = added_negations(caption, negated)
    if not added:
        return None
    token = added[0]
    cue = cue_of(token)
    if cue == "without":
        kind = "without"
    elif cue == "no":
        kind = "absence"
    elif cue == "never":
        kind = "verbal"
    else:
        kind = _kind_of_not(caption, negated, token)
    assert cue in NEGATION_CUES and kind in NEGATION_TYPES
    return Verdict(negation_cue=cue, negation_type=kind)


def _kind_of_not(caption: str, negated: str, token: str) -> str:
    tokens = _tokens(negated)
    index = inserted_position(_tokens(caption), tokens, token)
    following = tokens[index + 1] if index + 1 < len(tokens) else ""
    preceding = tokens[index - 1] if index > 0 else ""
    if following in PREPOSITIONS:
        return "relation"
    if token != "not" or preceding in AUXILIARIES or _looks_verbal(following):
        return "verbal"
    return "relation"


def _looks_verbal(word: str) -> bool:
    """A participle or gerund after "not" ("not staring", "not painted"): a negated verb."""
    return len(word) > 4 and (word.endswith("ing") or word.endswith("ed"))


def inserted_position(caption_tokens: Sequence[str], negated_tokens: Sequence[str], token: str) -> int:
    """Index in ``negated_tokens`` of the inserted negation ``token``.

    The first occurrence at or after the point where the two token sequences start to
    differ (an insertion cannot come before it); else the first occurrence.
    """
    diverge = 0
    for a, b in zip(caption_tokens, negated_tokens):
        if a != b:
            break
        diverge += 1
    for j in range(diverge, len(negated_tokens)):
        if negated_tokens[j] == token:
            return j
    return negated_tokens.index(token)
