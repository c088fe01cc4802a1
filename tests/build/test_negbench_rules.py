"""The negbench style's pure parts with the real spaCy model: absent-object rules, objects, templates, shuffle."""

from __future__ import annotations

from collections import Counter

import pytest

from ccneg_build.negbench.absent import check_absent
from ccneg_build.negbench.lexicon import load_lexicon
from ccneg_build.negbench.objects import ObjectReader
from ccneg_build.negbench.templates import HYBRID, NEGATIVE, POSITIVE, Phrase, build_mcq, retrieval_caption


@pytest.fixture(scope="module")
def reader() -> ObjectReader:
    return ObjectReader()


def _verdict(reader: ObjectReader, caption: str, candidate: str, labels: list[str] | None = None) -> str | None:
    [objects] = reader.read([caption], [labels])
    assert objects is not None
    refusal = check_absent(candidate, objects, reader.lexicon, reader.lemmatizer)
    return None if refusal is None else refusal.reason


@pytest.mark.parametrize("caption, candidate, reason", [
    # mentioned: as written, or its head noun, or the head of the candidate
    ("a dog sitting on a couch in the living room", "couch", "absent_mentioned"),
    ("a dog sitting on a couch in the living room", "Couch", "absent_mentioned"),
    ("a woman next to a table in the dining area", "dining table", "absent_mentioned"),
    ("a cat sleeping on the dining table", "table", "absent_mentioned"),
    ("a room with no people", "people", "absent_mentioned"),  # negated in the caption, still never "absent"
    # plural or singular of a caption word
    ("two dogs playing in the park", "dog", "absent_plural"),
    ("a dog playing in the park", "dogs", "absent_plural"),
    ("a chef cutting vegetables with knives", "knife", "absent_plural"),
    ("children playing on the beach", "child", "absent_plural"),
    ("people walking in the street", "person", "absent_plural"),
    # synonyms (the object lexicon)
    ("a dog sitting on a couch in the living room", "sofa", "absent_synonym"),
    ("a man riding a bike down the road", "bicycle", "absent_synonym"),
    ("a puppy on the grass", "dog", "absent_synonym"),
    # kinds and categories
    ("a dog sitting on a couch", "animal", "absent_hypernym"),
    ("a man riding a horse", "person", "absent_hypernym"),
    ("a child playing with a ball", "boy", "absent_hypernym"),
    ("a red car parked on the street", "vehicle", "absent_hypernym"),
    # not an object name
    ("a dog on a couch", "", "absent_not_an_object"),
    ("a dog on a couch", "no cat", "absent_not_an_object"),
    ("a dog on a couch", "3 cats", "absent_not_an_object"),
    ("a dog on a couch", "a very large brown wooden table", "absent_not_an_object"),
    ("a dog on a couch", "image", "absent_not_an_object"),
    # allowed: plausible and absent
    ("a dog sitting on a couch in the living room", "bicycle", None),
    ("a dog sitting on a couch in the living room", "cat", None),
    ("a man riding a horse on the beach", "umbrella", None),
])
def test_absent_rules(reader, caption, candidate, reason):
    assert _verdict(reader, caption, candidate) == reason


def test_image_labels_are_present_and_never_absent(reader):
    labels = ["dog", "Grass", "fun", "motor vehicle"]
    assert _verdict(reader, "a puppy playing outside", "grass", labels) == "absent_labelled"
    assert _verdict(reader, "a puppy playing outside", "car", labels) == "absent_hypernym"  # a motor vehicle
    assert _verdict(reader, "a puppy playing outside", "lamp", labels) is None
    [objects] = reader.read(["a puppy playing outside"], [labels])
    assert objects is not None
    sources = {o.name: o.source for o in objects.present}
    assert sources["puppy"] == "caption" and sources["grass"] == "labels"
    assert "fun" not in sources  # a label the lexicon does not know is never affirmed
    assert "dog" not in sources  # the same object as the caption's puppy


def test_objects_of_a_caption(reader):
    [objects] = reader.read(["a woman next to a table in the dining area with no people"], [None])
    assert objects is not None
    assert [o.name for o in objects.present] == ["woman", "table", "dining area"]  # "people" is negated
    assert [o.name for o in objects.known] == ["woman", "table"]  # the lexicon has no "dining area"
    assert "person" in objects.mentioned  # names are singular
    [plural] = reader.read(["two dogs on the stone cottages"], [None])
    assert plural is not None
    found = {o.text: (o.name, o.plural, o.concept) for o in plural.known}
    assert found == {"dogs": ("dog", True, "dog"), "stone cottages": ("stone cottage", True, "house")}


def test_lexicon_relations():
    lexicon = load_lexicon()
    assert lexicon.relation(lexicon.concepts_of("puppy"), lexicon.concepts_of("dog")) == "synonym"
    assert lexicon.relation(lexicon.concepts_of("boy"), lexicon.concepts_of("person")) == "hypernym"
    assert lexicon.relation(lexicon.concepts_of("cat"), lexicon.concepts_of("dog")) is None
    assert lexicon.is_mass("snow") and not lexicon.is_mass("dog")
    assert not lexicon.proposable("object") and lexicon.proposable("lamp")


def test_templates_read_fluently():
    dog, trees, snow, apple = Phrase("dog"), Phrase("trees", plural=True), Phrase("snow", mass=True), Phrase("apple")
    mcq = build_mcq([dog, snow], trees, seed=0, row_id="x")
    assert len(set(mcq.options)) == 4
    for option in mcq.options:
        assert option[0].isupper() and option.endswith(".")
        assert " a snow" not in option and " a trees" not in option and "an dog" not in option
    assert "an apple" in build_mcq([apple], dog, seed=0, row_id="y").options[0] + " ".join(
        build_mcq([apple], dog, seed=0, row_id="y").options)
    caption = retrieval_caption("a dog on a couch .", trees, seed=0, row_id="x")
    assert "trees" in caption and ("no trees" in caption) and " ." not in caption and caption[0].isupper()


def test_options_follow_negbench_structure():
    """One right answer of its template; wrong ones: features N but not B, features N, does not feature A."""
    a, b, n = Phrase("dog"), Phrase("couch"), Phrase("lamp")
    for row in range(60):
        mcq = build_mcq([a, b], n, seed=3, row_id=f"row{row}")
        kinds = Counter(mcq.templates)
        right = mcq.templates[mcq.correct]
        expected = Counter({HYBRID: 1, POSITIVE: 1, NEGATIVE: 1})
        expected[right] += 1
        assert kinds == expected
        for text, kind in zip(mcq.options, mcq.templates):
            mentions_n = "lamp" in text
            if kind == POSITIVE and text != mcq.options[mcq.correct]:
                assert mentions_n and "dog" not in text and "couch" not in text  # features N
        assert mcq.correct_template == right


def test_shuffle_is_seeded_and_spreads_the_right_answer():
    present, absent = [Phrase("dog"), Phrase("couch")], Phrase("lamp")
    first = [build_mcq(present, absent, seed=0, row_id=f"id{i}") for i in range(400)]
    again = [build_mcq(present, absent, seed=0, row_id=f"id{i}") for i in range(400)]
    other = [build_mcq(present, absent, seed=1, row_id=f"id{i}") for i in range(400)]
    assert first == again  # same seed and ids: the same questions
    assert [q.correct for q in first] != [q.correct for q in other]  # another seed: another draw
    positions = Counter(q.correct for q in first)
    assert set(positions) == {0, 1, 2, 3} and min(positions.values()) >= 60  # about 100 each
    templates = Counter(q.correct_template for q in first)
    assert set(templates) == {POSITIVE, NEGATIVE, HYBRID} and min(templates.values()) >= 90
    assert len({q.phrasing for q in first}) >= 5


def test_paraphrase_checks(reader):
    from ccneg_build.negbench.paraphrase import check_paraphrase

    lemma = reader.lemmatizer.lemma
    originals = ["This image features a dog.", "This image does not feature a lamp.",
                 "This image features a lamp, but not a dog.", "This image features a lamp.",
                 "A dog on a couch, but there is no lamp."]
    good = ["A dog is in this picture.", "There is no lamp in this picture.", "A lamp is here, but no dog.",
            "The picture shows a lamp.", "A dog lies on a couch, and no lamp is in sight."]
    objects = ["dog", "lamp"]

    def reason(rewritten):
        problem = check_paraphrase(originals, rewritten, objects, "a dog on a couch", lemma)
        return problem[0] if problem else None

    assert reason(good) is None
    assert reason(good[:4]) == "paraphrase_wrong_count"
    assert reason([good[0], "There is a lamp in this picture.", *good[2:]]) == "paraphrase_negation_changed"
    assert reason([good[0], "There isn't any lamp here, not at all.", *good[2:]]) == "paraphrase_negation_changed"
    assert reason(["A puppy is in this picture.", *good[1:]]) == "paraphrase_object_lost"
    assert reason(["Dogs are in this picture.", *good[1:]]) is None  # the plural still names the dog
    assert reason(["Dog.", *good[1:]]) == "paraphrase_length"
    twins = [originals[3], *originals[1:]]  # two originals that name the same thing
    problem = check_paraphrase(twins, [good[3], *good[1:]], objects, "a dog on a couch", lemma)
    assert problem is not None and problem[0] == "paraphrase_duplicate"
    assert reason(["Sure, here is a dog in this picture.", *good[1:]]) == "commentary"


@pytest.mark.parametrize("caption, candidate, reason", [
    ("a man holding a cup of coffee", "woman", "absent_person"),
    ("newlyweds on a white sand beach", "bride", "absent_person"),
    ("a dog sitting on a couch", "woman", None),  # no person in the row: a person may be absent
])
def test_people_are_never_absent_beside_people(reader, caption, candidate, reason):
    assert _verdict(reader, caption, candidate) == reason


def test_body_parts_and_weather_are_never_affirmed(reader):
    [objects] = reader.read(["keep an eye out for leopard in the trees during the snow storm"], [None])
    assert objects is not None
    names = [o.name for o in objects.known]
    assert "eye" not in names and "tree" in names


@pytest.mark.parametrize("caption, candidate, reason", [
    ("the third twin bedroom is downstairs", "bed", "absent_scene_part"),
    ("a quiet beach at sunrise", "sand", "absent_scene_part"),
    ("a stone cottage in the hills", "roof", "absent_scene_part"),  # a cottage is a house
    ("the third twin bedroom is downstairs", "dog", None),
])
def test_what_a_scene_almost_always_holds_is_never_absent(reader, caption, candidate, reason):
    assert _verdict(reader, caption, candidate) == reason


def test_a_building_holds_rooms(reader):
    assert _verdict(reader, "a man sitting in a bar using a laptop", "room") == "absent_scene_part"
