"""The objects a row shows: nouns of the caption's spaCy parse, and the CC3M Image Labels.

An object is *present* when the caption names it affirmatively (not "no people", "without a
car", "does not have a roof") or the image labels list it, and the object lexicon knows it as a
concrete thing: a noun the lexicon does not know ("premiere", "season") is kept as *mentioned*
(an absent object may never be one of those) but is never affirmed in an option, so an option
never claims that an image "features a season".

The same function serves the co-occurrence pass and the rows' step, so the statistics count
exactly the objects the rows later use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ccneg_build.negators.rule_words import FRAME_NOUNS, PLACE_NOUNS
from ccneg_build.negbench.lexicon import NounLemmatizer, ObjectLexicon, normalise
from ccneg_build.nlp import load_english
from ccneg_build.negbench.lexicon import load_lexicon
from ccneg_build.nlp import model_name_and_version

#: spaCy components the negbench style runs: the parser marks compounds and negated nouns, the
#: lemmatizer gives singulars.
OBJECT_DISABLED = ("ner", "senter")

#: Nouns that name no thing in a picture (times, events, abstractions common in alt-text).
NON_OBJECT_NOUNS = frozenset(
    """
    time times day days night year years week weeks month months moment way ways thing things lot
    kind part parts end idea concept fun life love world stock vector art design style theme
    season premiere event events issue episode news story interview celebration ceremony
    show film movie music game match race festival party holiday vacation trip tour business
    one ones something everything anything nothing someone everyone anyone nobody
    """.split()
)

#: Words that make the noun after them absent ("no people", "without a car").
_NEGATING_DETERMINERS = frozenset({"no", "without"})


@dataclass(frozen=True)
class ObjectMention:
    """One object of a row.

    ``name`` is how the caption names it, singular (``"stone cottage"``); ``text`` as written
    (``"stone cottages"``); ``concept`` the lexicon concept it names (``"house"``), None when
    the lexicon does not know it; ``plural`` its grammatical number in the caption.
    """

    name: str
    text: str
    concept: str | None
    plural: bool
    source: str  # "caption" or "labels"
    affirmable: bool = True  # the lexicon says an option may affirm it (not a body part, the weather, ...)

    @property
    def known(self) -> bool:
        return self.concept is not None


@dataclass(frozen=True)
class RowObjects:
    """What one row says about objects: the present ones, and every noun the caption mentions."""

    present: tuple[ObjectMention, ...]
    mentioned: tuple[str, ...]  # singular names of every caption noun, present or not (negated, unknown)
    words: tuple[str, ...]  # the caption's lower-case words
    labels: tuple[str, ...]  # normalised image labels

    @property
    def known(self) -> tuple[ObjectMention, ...]:
        """The present objects the lexicon knows as things a picture shows: the only ones an option affirms."""
        return tuple(o for o in self.present if o.known and o.affirmable)

    def concepts(self) -> tuple[str, ...]:
        """The distinct concepts of the known present objects, in order."""
        seen: dict[str, None] = {}
        for mention in self.known:
            seen.setdefault(mention.concept or "", None)
        return tuple(c for c in seen if c)


def load_object_pipeline() -> Any:
    """The English pipeline with the parser and lemmatizer (cached per process)."""
    return load_english(disable=OBJECT_DISABLED)


def row_objects(doc: Any, labels: Sequence[str] | None, lexicon: ObjectLexicon,
                lemmatizer: NounLemmatizer) -> RowObjects:
    """The objects of one parsed caption plus its image labels (see the module doc)."""
    present: dict[str, ObjectMention] = {}
    mentioned: dict[str, None] = {}
    for token in doc:
        if token.pos_ != "NOUN" or token.dep_ == "compound":
            continue
        name, text = _noun_phrase(token, lemmatizer)
        mentioned.setdefault(name, None)
        head = lemmatizer.lemma(token.lower_)
        if head in NON_OBJECT_NOUNS or head in FRAME_NOUNS or token.lower_ in FRAME_NOUNS or head in PLACE_NOUNS:
            continue
        if _negated(token):
            continue
        concept = _concept(lexicon, name, text, head)
        affirmable = concept is not None and lexicon.affirmable(concept)
        present.setdefault(name, ObjectMention(name, text, concept, token.tag_ in ("NNS", "NNPS"), "caption",
                                               affirmable))
    normalised_labels = tuple(dict.fromkeys(n for n in (normalise(label) for label in labels or ()) if n))
    for label in normalised_labels:
        name = lemmatizer.lemma(label)
        concept = _concept(lexicon, name, label, name)
        if concept is None or name in present or any(o.concept == concept for o in present.values()):
            continue
        present[name] = ObjectMention(name, name, concept, False, "labels", lexicon.affirmable(concept))
    words = tuple(t.lower_ for t in doc if not t.is_punct and not t.is_space)
    return RowObjects(tuple(present.values()), tuple(mentioned), words, normalised_labels)


def _noun_phrase(token: Any, lemmatizer: NounLemmatizer) -> tuple[str, str]:
    """The noun with the compound nouns right before it: (singular name, text as written)."""
    start = token.i
    doc = token.doc
    while start > 0 and doc[start - 1].dep_ == "compound" and doc[start - 1].head.i >= token.i \
            and doc[start - 1].pos_ in ("NOUN", "PROPN") and doc[start - 1].is_alpha:
        start -= 1
    words = [t.lower_ for t in doc[start:token.i]]
    text = " ".join(words + [token.lower_])
    name = " ".join(words + [lemmatizer.lemma(token.lower_)])
    return name, text


def _negated(token: Any) -> bool:
    """Is the noun said to be absent ("no people", "without a car", "does not have a roof")?"""
    if any(child.lower_ in _NEGATING_DETERMINERS for child in token.children):
        return True
    head = token.head
    if head.lower_ == "without" and token.dep_ == "pobj":
        return True
    verb = head if head.pos_ in ("VERB", "AUX") else None
    return verb is not None and token.dep_ in ("dobj", "attr") and any(c.dep_ == "neg" for c in verb.children)


def _concept(lexicon: ObjectLexicon, name: str, text: str, head: str) -> str | None:
    """The first concept the written phrase, its singular or its head noun names ("glasses" are
    spectacles, "glass" a container)."""
    for word in (text, name, head, head.rpartition(" ")[2]):
        found = lexicon.concepts_of(word)
        if found:
            return found[0]
    return None


class ObjectReader:
    """Parses captions in batches and reads their objects: one per process (the pipeline is cached)."""

    def __init__(self, batch_size: int = 256) -> None:
        self.nlp = load_object_pipeline()
        self.lexicon = load_lexicon()
        self.lemmatizer = NounLemmatizer(self.nlp, self.lexicon)
        self.batch_size = batch_size
        self.model = model_name_and_version(self.nlp)

    def read(self, captions: Sequence[str], labels: Sequence[Sequence[str] | None]) -> list[RowObjects | None]:
        """Each caption's objects (None where spaCy failed on it)."""
        return [None if doc is None else row_objects(doc, row_labels, self.lexicon, self.lemmatizer)
                for doc, row_labels in zip(self._parse(list(captions)), labels)]

    def concepts(self, rows: Sequence[Any]) -> list[tuple[str, ...]]:
        """The present concepts of each input row (what the co-occurrence pass counts)."""
        read = self.read([row.caption or "" for row in rows], [row.labels for row in rows])
        return [objects.concepts() if objects is not None else () for objects in read]

    def _parse(self, texts: list[str]) -> list[Any]:
        try:
            return list(self.nlp.pipe(texts, batch_size=self.batch_size))
        except Exception:  # noqa: BLE001 - find the one caption that broke the batch
            docs: list[Any] = []
            for text in texts:
                try:
                    docs.append(self.nlp(text))
                except Exception:  # noqa: BLE001
                    docs.append(None)
            return docs
