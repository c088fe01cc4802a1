"""The rules every absent object obeys, whoever proposed it (co-occurrence statistics or an LLM).

An absent object is a thing the image should *not* show. It is refused, with a reason code, when
the caption mentions it (as written, or its head noun), mentions it in the other number, the
image labels list it, or the caption names a synonym, a kind or a category of it (the object
lexicon, :mod:`ccneg_build.negbench.lexicon`); or when it is not an object name at all. Pure
functions: the same candidate and row always get the same verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from ccneg_core.lexicon import has_negation
from ccneg_build.negators.rule_words import FRAME_NOUNS
from ccneg_build.negbench.lexicon import NounLemmatizer, ObjectLexicon, normalise
from ccneg_build.negbench.objects import NON_OBJECT_NOUNS, RowObjects

#: Reason codes of the absent-object rules (stage ``absent``); docs/format.md mirrors them.
ABSENT_REASONS: dict[str, str] = {
    "absent_mentioned": "negbench: the proposed absent object (or its head noun) is in the caption",
    "absent_plural": "negbench: the proposed absent object is the plural or singular of a word of the caption",
    "absent_labelled": "negbench: the proposed absent object is one of the row's image labels",
    "absent_synonym": "negbench: the proposed absent object is a synonym of an object the caption or labels name",
    "absent_hypernym": "negbench: the proposed absent object is a kind or a category of an object the caption "
                       "or labels name (dog / animal, puppy / dog)",
    "absent_scene_part": "negbench: the proposed absent object is something a scene the caption or labels name "
                         "almost always holds (a bed in a bedroom), so the caption may just leave it unsaid",
    "absent_person": "negbench: the proposed absent object is a person and the caption or labels already name one "
                     "(a man in a caption does not make a woman absent from the picture)",
    "absent_not_an_object": "negbench: the proposed absent object is not a short object name (empty, too long, "
                            "digits, punctuation, a negation or a word such as 'image')",
    "no_absent_object": "negbench: no absent object could be proposed for the row",
    "no_present_object": "negbench: the caption and labels name no object the lexicon knows, so no option can "
                         "affirm one",
}

#: At most this many words in an absent object's name ("fire hydrant", "tennis racket").
MAX_OBJECT_WORDS = 3
_NAME = re.compile(r"^[^\W\d_]+(?:[ '-][^\W\d_]+)*$")


@dataclass(frozen=True)
class Refusal:
    """Why one candidate is not an absent object of the row."""

    object: str
    reason: str
    detail: str


def check_absent(candidate: str, row: RowObjects, lexicon: ObjectLexicon,
                 lemmatizer: NounLemmatizer) -> Refusal | None:
    """``None`` when ``candidate`` may be called absent from this row, else why not (first rule that fails)."""
    name = normalise(candidate)
    problem = _not_an_object(name)
    if problem:
        return Refusal(name, "absent_not_an_object", problem)
    words = name.split()
    head = words[-1]
    caption_words = set(row.words)
    if _contains(row.words, words) or head in caption_words:
        return Refusal(name, "absent_mentioned", f"{name!r} is in the caption")
    single = lemmatizer.lemma(name)
    head_single = single.split()[-1]
    caption_singles = {lemmatizer.lemma(w) for w in caption_words} | {m.split()[-1] for m in row.mentioned}
    if head_single in caption_singles or single in row.mentioned:
        return Refusal(name, "absent_plural", f"{name!r} is a form of a caption word")
    label_singles = {lemmatizer.lemma(label) for label in row.labels}
    if name in row.labels or single in label_singles or head_single in {s.split()[-1] for s in label_singles}:
        return Refusal(name, "absent_labelled", f"{name!r} is an image label")
    mine = _concepts(lexicon, (name, single, head, head_single))
    if mine:
        theirs = _concepts(lexicon, [*row.mentioned, *(w for w in caption_words),
                                     *(lemmatizer.lemma(w) for w in caption_words), *row.labels, *label_singles])
        theirs |= {o.concept for o in row.present if o.concept}
        kind = lexicon.relation(mine, theirs)
        if kind == "synonym":
            return Refusal(name, "absent_synonym", f"{name!r} names the same object as a word of the caption or labels")
        if kind == "hypernym":
            related = sorted(c for c in theirs if lexicon.relation(mine, [c]))
            return Refusal(name, "absent_hypernym", f"{name!r} is a kind or category of {', '.join(related[:3])}")
        held = lexicon.held_by(theirs)
        if set(mine) & held:
            scenes = sorted(c for c in theirs if set(mine) & lexicon.held_by([c]))
            return Refusal(name, "absent_scene_part", f"{name!r} is almost always in a {', '.join(scenes[:3])}")
        people = sorted(c for c in theirs if lexicon.is_person(c))
        if people and any(lexicon.is_person(c) for c in mine):
            return Refusal(name, "absent_person", f"{name!r} is a person and the row names {', '.join(people[:3])}")
    return None


def _not_an_object(name: str) -> str | None:
    if not name:
        return "empty"
    words = name.split()
    if len(words) > MAX_OBJECT_WORDS:
        return f"{len(words)} words (at most {MAX_OBJECT_WORDS})"
    if not _NAME.match(name):
        return f"{name!r} holds digits or punctuation"
    if has_negation(name):
        return f"{name!r} holds a negation"
    if words[-1] in NON_OBJECT_NOUNS or words[-1] in FRAME_NOUNS:
        return f"{name!r} names no object in a picture"
    return None


def _contains(text: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return any(list(text[i:i + n]) == list(phrase) for i in range(len(text) - n + 1))


def _concepts(lexicon: ObjectLexicon, words: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for word in words:
        found.update(lexicon.concepts_of(word))
    return found
