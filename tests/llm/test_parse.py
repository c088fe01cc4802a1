"""Schema validation of the two stages' answers (pure functions)."""

import json

from ccneg_build.negators.llm.parse import (
    EMPTY,
    INVALID_JSON,
    NO_RELATION,
    WRONG_SHAPE,
    ParseFailure,
    parse_decomposition,
    parse_sentences,
)
from ccneg_core.record import Decomposition, Relation


def test_decomposition_in_the_papers_shape() -> None:
    text = json.dumps({"subject": "woman", "object-predicate-pairs": [
        {"object": "table", "predicate": "next to"}, {"object": "dining area", "predicate": "in the"}]})
    assert parse_decomposition(text) == Decomposition(
        "woman", (Relation("table", "next to"), Relation("dining area", "in the")))


def test_pairs_as_two_element_lists_and_a_code_fence_are_accepted() -> None:
    text = '```json\n{"subject": "flag", "object-predicate-pairs": [["dome", "on a"]]}\n```'
    assert parse_decomposition(text) == Decomposition("flag", (Relation("dome", "on a"),))


def test_failures_have_reason_codes() -> None:
    cases = {
        "": EMPTY,
        "   ": EMPTY,
        None: EMPTY,
        '{"subject": "dog", "object-predicate-pa': INVALID_JSON,
        "Here is the JSON: {}": INVALID_JSON,
        "[1, 2]": WRONG_SHAPE,
        '{"answer": 1}': WRONG_SHAPE,
        '{"subject": "", "object-predicate-pairs": []}': WRONG_SHAPE,
        '{"subject": "dog", "object-predicate-pairs": "couch"}': WRONG_SHAPE,
        '{"subject": "dog", "object-predicate-pairs": [{"object": 3, "predicate": "on"}]}': WRONG_SHAPE,
        '{"subject": "actor", "object-predicate-pairs": []}': NO_RELATION,
    }
    for text, reason in cases.items():
        result = parse_decomposition(text)
        assert isinstance(result, ParseFailure) and result.reason == reason, (text, result)
        assert result.detail


def test_sentences() -> None:
    ok = parse_sentences('{"negative-prompt": "A flag, not on a dome", "exclusion-prompt": "A flag"}')
    assert ok == ("A flag, not on a dome", "A flag")
    for text, reason in [('{"negative-prompt": "x"}', WRONG_SHAPE), ("nope", INVALID_JSON), ("", EMPTY),
                         ('{"negative-prompt": "a  b\\n c", "exclusion-prompt": 5}', WRONG_SHAPE)]:
        result = parse_sentences(text)
        assert isinstance(result, ParseFailure) and result.reason == reason


def test_whitespace_is_normalised_and_huge_fields_refused() -> None:
    assert parse_sentences('{"negative-prompt": "a  dog\\n not on a couch", "exclusion-prompt": "a dog"}') == (
        "a dog not on a couch", "a dog")
    huge = json.dumps({"negative-prompt": "x" * 5000, "exclusion-prompt": "y"})
    assert isinstance(parse_sentences(huge), ParseFailure)
