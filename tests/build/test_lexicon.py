"""One negation lexicon: the filter and the text baseline read the same words the same way."""

from __future__ import annotations

import pytest

from ccneg_core.lexicon import NEGATION_CUES, cue_of, has_negation, negation_words_in
from ccneg_build.verify import words

CASES = [
    ("a dog not on a couch", ["not"]),
    ("a meteor with no clouds", ["no"]),
    ("a person on skis without snow", ["without"]),
    ("a man who doesn’t smile", ["doesn't"]),
    ("neither a cat nor a dog", ["neither", "nor"]),
    ("a notebook on a nothing-burger", ["nothing"]),
    ("a snowy knot at noon", []),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_negation_words(text: str, expected: list[str]) -> None:
    assert negation_words_in(text) == expected
    assert has_negation(text) == bool(expected)
    assert [w for w in words(text) if w in expected] == expected  # the filter tokenises the same way


def test_every_negation_word_maps_to_a_known_cue() -> None:
    for word in ("not", "no", "without", "never", "cannot", "nor", "neither", "none", "nothing", "nobody", "isn't"):
        assert cue_of(word) in NEGATION_CUES
