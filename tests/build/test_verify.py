"""The shared filter: each reason code fires on the output it names, and labels are derived."""

from __future__ import annotations

import pytest

from ccneg_core.record import Decomposition, Generator, Negation, Rejection, Relation, SourceRow, make_id
from ccneg_build.verify import REASONS, check_caption, verify
from ccneg_core.negation_labels import negation_labels
from ccneg_core.record import Verdict

GEN = Generator(backend="test", model="hand-written", version="0")


def _row(caption: str) -> SourceRow:
    return SourceRow(id=make_id("t", 0, caption), source="t", source_row=0, caption=caption)


def _negation(obj: str, predicate: str, negated: str, exclusion: str, subject: str = "s") -> Negation:
    return Negation(
        decomposition=Decomposition(subject=subject, relations=(Relation(obj, predicate),)),
        chosen=0,
        negated_caption=negated,
        exclusion_caption=exclusion,
        generator=GEN,
        raw_response="{...}",
    )


# The paper's demonstrations and published pairs: all accepted, with the labels we expect.
PAPER_CASES = [
    ("A woman next to a table in the dining area", "table", "next to",
     "A woman, not next to a table, in the dining area.", "A woman in the dining area", "not", "relation"),
    ("A flag on a dome", "dome", "on a", "A flag, not on a dome", "A flag", "not", "relation"),
    ("A person on skis makes her way through the snow", "snow", "through the",
     "A person on skis without snow", "A person on skis", "without", "without"),
    ("Jungle with a mountain in the distance.", "mountain", "with",
     "Jungle without a mountain in the distance.", "Jungle in the distance.", "without", "without"),
    ("Aerial view of a meteor over the clouds", "clouds", "over the",
     "Aerial view of a meteor with no clouds", "Aerial view of a meteor", "no", "absence"),
    ("A person on skis makes her way through the snow", "snow", "makes her way through",
     "A person on skis does not make her way through the snow", "A person on skis", "not", "verbal"),
]


@pytest.mark.parametrize("caption,obj,pred,negated,exclusion,cue,kind", PAPER_CASES)
def test_paper_pairs_are_accepted_with_derived_labels(caption, obj, pred, negated, exclusion, cue, kind) -> None:
    verdict = verify(_row(caption), _negation(obj, pred, negated, exclusion))
    assert verdict == Verdict(negation_cue=cue, negation_type=kind)


CAPTION = "a dog sitting on a couch in the living room"
BAD_CASES = [
    ("couch", "on", CAPTION, "a dog sitting in the living room", "unchanged"),
    ("couch", "on", "a dog sitting, not on a couch, near a huge purple elephant", "a dog sitting in the living room",
     "added_content"),
    ("couch", "on", "a dog sitting on the couch in a living room", "a dog sitting in the living room",
     "no_negation_added"),
    ("couch", "on", "a dog not sitting not on a couch in the living room", "a dog sitting in the living room",
     "multiple_negations"),
    ("cat", "on", "a dog sitting not on a cat", "a dog sitting", "object_not_in_caption"),
    ("couch", "under", "a dog sitting not under a couch", "a dog sitting", "predicate_not_in_caption"),
    ("couch", "on", "a dog sitting, not in the living room", "a dog sitting in the living room",
     "object_missing_from_negated"),
    ("couch", "on", "a dog sitting not on a couch in the living room", "a dog sitting on a couch",
     "exclusion_has_object"),
    ("couch", "on", "a dog sitting not on a couch in the living room", " . ", "exclusion_empty"),
    ("couch", "on", "a dog sitting not on a couch in the living room", CAPTION, "exclusion_unchanged"),
    ("couch", "on", '{"negative-prompt": "a dog not on a couch"}', "a dog", "markup"),
    ("couch", "on", "a dog sitting not on a couch\nin the living room", "a dog sitting in the living room", "markup"),
    ("couch", "on", "Here is the negated caption: a dog not on a couch", "a dog in the living room", "commentary"),
    ("couch", "on", "a dog not on a couch in the living room", "Sure, a dog in the living room", "commentary"),
    ("couch", "on", "a dog sitting not on a couch in the living room \x07", "a dog sitting", "bad_characters"),
    ("couch", "on", "a dog sitting not on a couch in the living room", "a dog sitting in the", "dangling_end"),
    ("couch", "on", "a dog sitting not on a couch in the living room", "a dog sitting : .", "dangling_end"),
    ("couch", "on", "a dog sitting on a not couch in the living room", "a dog sitting in the living room",
     "misplaced_negation"),
    ("couch", "on", "a dog sitting not on a couch in the living room and the living room and the room "
     "and the dog and the living room", "a dog sitting in the living room", "length_out_of_range"),
]


@pytest.mark.parametrize("obj,pred,negated,exclusion,reason", BAD_CASES)
def test_each_check_rejects_with_its_reason(obj, pred, negated, exclusion, reason) -> None:
    result = verify(_row(CAPTION), _negation(obj, pred, negated, exclusion))
    assert isinstance(result, Rejection), result
    assert (result.reason, result.stage) == (reason, "verify")
    assert result.detail and result.raw_response == "{...}"
    assert reason in REASONS


def test_accented_objects_are_found() -> None:
    caption = "a couple at a café in zürich"
    result = verify(_row(caption), _negation("café", "at a", "a couple, not at a café in zürich", "a couple in zürich"))
    assert result == Verdict("not", "relation")


def test_words_already_in_the_caption_are_not_commentary_or_added_negations() -> None:
    caption = "note : no parking sign on a street"
    result = verify(_row(caption), _negation("street", "on", "note : no parking sign not on a street",
                                             "note : no parking sign"))
    assert result == Verdict("not", "relation")


@pytest.mark.parametrize("caption,negated,expected", [
    ("a cat sleeping on a bed", "a cat not sleeping on a bed", ("not", "verbal")),
    ("a cat is sleeping on a bed", "a cat isn't sleeping on a bed", ("not", "verbal")),
    ("a cat sleeping on a bed", "a cat sleeping, never on a bed", ("never", "verbal")),
    ("a cat on a bed", "a cat on no bed", ("no", "absence")),
    ("a cat on a bed", "a cat, not on a bed", ("not", "relation")),
    ("a cat on a bed", "a cat on a bed", None),
])
def test_negation_labels(caption, negated, expected) -> None:
    verdict = negation_labels(caption, negated)
    assert (verdict and (verdict.negation_cue, verdict.negation_type)) == (expected if expected else None)


def test_check_caption_reasons() -> None:
    assert check_caption("a flag on a dome") is None
    assert check_caption("   ")[0] == "empty_caption"
    assert check_caption(None)[0] == "empty_caption"
    assert check_caption("a\x00b")[0] == "nul_byte"
    assert check_caption("x" * 20_000)[0] == "caption_too_long"
    assert check_caption("broken \ufffd text")[0] == "bad_characters"


def test_every_reason_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "format.md").read_text(encoding="utf-8")
    missing = [code for code in REASONS if f"`{code}`" not in doc]
    assert not missing, f"reason codes missing from docs/format.md: {missing}"


# Outputs of any backend (written here as an LLM might write them) that a careful reader
# rejects, each with the reason the filter must give. Reviewer-reported outputs first.
READER_REJECTS = [
    # exclusion captions that are not captions
    ("they created a wall of shelves for trinkets", "wall", "created",
     "they did not create a wall of shelves for trinkets", "they .", "exclusion_not_caption"),
    ("i hear a mouse close by .", "mouse", "hear", "i do not hear a mouse close by .", "i .", "exclusion_not_caption"),
    ("you can buy this time capsule house for $665,000", "time capsule house", "buy",
     "you can not buy this time capsule house for $665,000", "you .", "exclusion_not_caption"),
    ("no doubt someone spent several hours creating this brooch .", "several hours", "spent",
     "no doubt someone did not spend several hours creating this brooch .", "no .", "exclusion_not_caption"),
    ("make a recipe that will please the whole family with this recipe !", "recipe", "make",
     "do not make a recipe that will please the whole family with this recipe !", "recipe !",
     "exclusion_not_caption"),
    ("the baseball hat - get on the trend", "trend", "on the", "the baseball hat - get , not on the trend",
     "the baseball hat - get", "misplaced_negation"),
    ("a buddha statue seen on the grounds", "grounds", "on the", "a buddha statue not seen on the grounds",
     "a buddha statue seen", "exclusion_not_caption"),
    ("when all else fails , you can always jump your car onto a boat", "your car", "jump",
     "when all else fails , you can always jump your car , not onto a boat", "when all else fails , you",
     "exclusion_not_caption"),
    ("just imagine if you were inside the car", "car", "inside the", "just imagine if you were not inside the car",
     "just imagine if you were", "exclusion_not_caption"),
    ("i tend to play this album in my studio .", "album", "play", "i do not tend to play this album in my studio .",
     "i tend .", "exclusion_not_caption"),
    ("this royal blue shoe is fashionable and it would boost your confidence .", "your confidence", "boost",
     "this royal blue shoe is fashionable and it would not boost your confidence .",
     "this royal blue shoe is fashionable and it .", "exclusion_not_caption"),
    ("before the plunge into cool waters", "plunge", "before the", "not before the plunge into cool waters",
     "into cool waters", "exclusion_not_caption"),
    # negations placed on something other than the pair
    ("how to add privacy and texture to any window", "window", "to any",
     "how not to add privacy and texture to any window", "how to add privacy and texture", "negation_scope"),
    ("members getting ready to sail on the sea", "sea", "on the", "members getting ready not to sail on the sea",
     "members getting ready to sail", "negation_scope"),
    ("ready - the champion you 'll always find the chip there , my boy !", "chip", "find",
     "ready - the champion you 'll not always find the chip there , my boy !", "ready - the champion , my boy !",
     "negation_scope"),
    ("there is always some kind of fish at a party .", "party", "at a",
     "there is not always some kind of fish at a party .", "there is always some kind of fish .", "negation_scope"),
    ("a dress totally made from balloons", "balloons", "from", "a dress not totally made from balloons", "a dress",
     "negation_scope"),
    ("person recently lectured at annual event", "annual event", "at",
     "person recently not lectured at annual event", "person", "misplaced_negation"),
    ("a dress totally made from balloons", "balloons", "from", "a dress totally not made from balloons", "a dress",
     "misplaced_negation"),
]


@pytest.mark.parametrize("caption,obj,pred,negated,exclusion,reason", READER_REJECTS)
def test_outputs_a_reader_rejects_are_rejected_for_any_backend(caption, obj, pred, negated, exclusion, reason) -> None:
    verdict = verify(_row(caption), _negation(obj, pred, negated, exclusion))
    assert isinstance(verdict, Rejection), f"accepted {negated!r} / {exclusion!r}"
    assert verdict.reason == reason, verdict.detail
    assert verdict.stage == "verify" and verdict.detail


# The same kinds written well: the filter keeps them (no check fires on a fluent caption).
READER_ACCEPTS = [
    ("a buddha statue seen on the grounds", "grounds", "on the", "a buddha statue not seen on the grounds",
     "a buddha statue"),
    ("person feeding apples to an elephant in captivity", "elephant", "to an",
     "person feeding apples , not to an elephant , in captivity", "person feeding apples in captivity"),
    ("person recently lectured at annual event", "annual event", "at",
     "person recently did not lecture at annual event", "person"),
    ("the museum is currently under construction", "construction", "under",
     "the museum is currently not under construction", "the museum"),
    ("a road to the sea", "sea", "to the", "a road , not to the sea", "a road"),
    ("members getting ready to sail on the sea", "sea", "on the", "members getting ready to sail , not on the sea",
     "members getting ready to sail"),
]


@pytest.mark.parametrize("caption,obj,pred,negated,exclusion", READER_ACCEPTS)
def test_fluent_outputs_of_the_same_kinds_are_kept(caption, obj, pred, negated, exclusion) -> None:
    assert isinstance(verify(_row(caption), _negation(obj, pred, negated, exclusion)), Verdict)


def test_words_that_end_a_caption_in_their_own_right_are_kept() -> None:
    """"you" after a preposition is an object ("a card for you"); a word the caption itself ends with is fine."""
    verdict = verify(_row("a card for you with a rose"),
                     _negation("rose", "with a", "a card for you without a rose", "a card for you"))
    assert isinstance(verdict, Verdict)
    verdict = verify(_row("a lovely gift on the table for you"),
                     _negation("table", "on the", "a lovely gift , not on the table , for you", "a lovely gift for you"))
    assert isinstance(verdict, Verdict)
