"""NegBench's three templates in several fluent phrasings, the 4-way MCQ, and the negated retrieval caption.

The templates (NegBench's names, which its CSV files and evaluation code use):

* ``positive`` (affirmation): "This image features a dog and a couch.";
* ``negative`` (negation):    "This image does not feature a cat.";
* ``hybrid``:                 "This image features a couch, but not a cat.".

Each row takes one *phrasing* (the "features", "shows", "there is", ... family) for all four of
its options, so the wording never tells the right option from the wrong ones; phrasings vary
across rows. The MCQ follows NegBench's generators: with A and B present and N absent, the right
answer is one of the three templates and the three wrong answers are always "features N, but not
B" (hybrid), "features N" (positive) and "does not feature A" (negative). As NegBench's
fine-tuning generator does, the options are shuffled (seeded by row id), so the right answer can
be at any position; a row with one present object affirms only it (B is A).

Articles and agreement come from the object itself: plurals take none ("features dogs"), mass
nouns take none ("features snow"), other nouns take "a"/"an"; "there is"/"there are" follows the
number of what comes next.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from typing import Sequence

POSITIVE, NEGATIVE, HYBRID = "positive", "negative", "hybrid"
TEMPLATES = (POSITIVE, NEGATIVE, HYBRID)


@dataclass(frozen=True)
class Phrase:
    """An object as the templates write it: ``text`` as in the caption, its number, mass or count."""

    text: str
    plural: bool = False
    mass: bool = False

    @property
    def bare(self) -> bool:
        return self.plural or self.mass

    def indefinite(self) -> str:
        """"a dog", "an apple", "dogs", "snow"."""
        return self.text if self.bare else f"{article(self.text)} {self.text}"

    def any_form(self) -> str:
        """After "does not feature": "a dog", "any dogs", "any snow"."""
        return f"any {self.text}" if self.bare else self.indefinite()

    def be(self) -> str:
        return "are" if self.plural else "is"


_AN_EXCEPTIONS = re.compile(r"^(?:uni|use|usu|eu|ewe|one|once|ure|uro|ute)", re.I)
_AN_SILENT_H = re.compile(r"^(?:hour|honest|honou?r|heir)", re.I)


def article(word: str) -> str:
    """"a" or "an" by the first sound, for ordinary English nouns."""
    if _AN_SILENT_H.match(word):
        return "an"
    if word[:1].lower() in "aeiou" and not _AN_EXCEPTIONS.match(word):
        return "an"
    return "a"


def _join(phrases: Sequence[Phrase]) -> str:
    items = [p.indefinite() for p in phrases]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _be(phrases: Sequence[Phrase]) -> str:
    return "are" if len(phrases) > 1 or phrases[0].plural else "is"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Phrasing:
    """One family of wordings for the three templates (see the module doc)."""

    name: str
    positive: str
    negative: str
    hybrid: str

    def write(self, template: str, affirmed: Sequence[Phrase], negated: Phrase | None) -> str:
        pattern = {POSITIVE: self.positive, NEGATIVE: self.negative, HYBRID: self.hybrid}[template]
        fields = {}
        if affirmed:
            # "there is a dog and a cat": the verb of "there" agrees with the first object
            fields.update(A=_join(affirmed), A_be=_be(affirmed), A_there=_be(affirmed[:1]))
        if negated is not None:
            fields.update(N=negated.text, N_any=negated.any_form(), N_be=negated.be())
        return _capital(pattern.format(**fields))


PHRASINGS: tuple[Phrasing, ...] = (
    Phrasing("features", "This image features {A}.", "This image does not feature {N_any}.",
             "This image features {A}, but not {N_any}."),
    Phrasing("shows", "The photo shows {A}.", "The photo shows no {N}.", "The photo shows {A} but no {N}."),
    Phrasing("there", "There {A_there} {A} in this picture.", "There {N_be} no {N} in this picture.",
             "There {A_there} {A} in this picture, but no {N}."),
    Phrasing("seen", "{A} can be seen in this image.", "No {N} can be seen in this image.",
             "{A} can be seen in this image, but no {N}."),
    Phrasing("visible", "{A} {A_be} visible in this photo.", "No {N} {N_be} visible in this photo.",
             "{A} {A_be} visible in this photo, but there {N_be} no {N}."),
    Phrasing("includes", "This picture includes {A}.", "This picture does not include {N_any}.",
             "This picture includes {A} but not {N_any}."),
)


def seeded_rng(seed: int, row_id: str, purpose: str) -> random.Random:
    """A random generator that depends only on (seed, row id, purpose): never on order or workers."""
    digest = hashlib.blake2b(f"negbench\x1f{purpose}\x1f{seed}\x1f{row_id}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


@dataclass(frozen=True)
class MCQ:
    """One multiple-choice question, options in their final (shuffled) order."""

    options: tuple[str, ...]
    templates: tuple[str, ...]  # the template of each option
    correct: int
    phrasing: str
    affirmed: tuple[str, ...]  # A (and B) as written
    absent: str  # N

    @property
    def correct_template(self) -> str:
        return self.templates[self.correct]


def build_mcq(present: Sequence[Phrase], absent: Phrase, seed: int, row_id: str) -> MCQ:
    """The row's question: A and B drawn from ``present``, a template, a phrasing and a shuffle, all seeded."""
    if not present:
        raise ValueError("an MCQ needs at least one present object")
    rng = seeded_rng(seed, row_id, "mcq")
    if len(present) >= 2:
        a, b = rng.sample(list(present), 2)
        affirmed = [a, b]
    else:
        a = b = present[0]
        affirmed = [a]
    template = rng.choice(TEMPLATES)
    phrasing = rng.choice(PHRASINGS)
    correct = {
        POSITIVE: phrasing.write(POSITIVE, affirmed, None),
        NEGATIVE: phrasing.write(NEGATIVE, [], absent),
        HYBRID: phrasing.write(HYBRID, [b], absent),
    }[template]
    options = [
        (correct, template),
        (phrasing.write(HYBRID, [absent], b), HYBRID),
        (phrasing.write(POSITIVE, [absent], None), POSITIVE),
        (phrasing.write(NEGATIVE, [], a), NEGATIVE),
    ]
    order = list(range(4))
    rng.shuffle(order)
    shuffled = [options[i] for i in order]
    return MCQ(options=tuple(t for t, _ in shuffled), templates=tuple(k for _, k in shuffled),
               correct=order.index(0), phrasing=phrasing.name, affirmed=tuple(p.text for p in affirmed),
               absent=absent.text)


#: Negated retrieval captions: the caption with a clause about the absent object, after or before it.
AFFIRMATION_FIRST = ("{Caption}, but there {N_be} no {N}.", "{Caption}, with no {N} in sight.",
                     "{Caption}; no {N} {N_be} present.")
NEGATION_FIRST = ("There {N_be} no {N} in this image. {Caption}.", "No {N} {N_be} visible here. {Caption}.")
_TRAILING = re.compile(r"[\s.!?;:,]+$")


def retrieval_caption(caption: str, absent: Phrase, seed: int, row_id: str) -> str:
    """The caption with a negated clause about ``absent`` (NegBench's Retrieval-Neg), seeded."""
    rng = seeded_rng(seed, row_id, "retrieval")
    body = _TRAILING.sub("", " ".join(caption.split()))
    pattern = rng.choice(AFFIRMATION_FIRST + NEGATION_FIRST)
    return pattern.format(Caption=_capital(body), N=absent.text, N_be=absent.be())
