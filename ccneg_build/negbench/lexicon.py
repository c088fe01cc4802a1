"""The object lexicon: which words name the same object, which name a kind of another, which are mass nouns.

The negbench style must never call an object absent when the caption mentions it under another
name, in another number, or as a kind or category of it. WordNet would answer that, but no
package on PyPI ships its data (the ``wn`` and ``nltk`` readers download it at run time, which a
reproducible offline build cannot do), so the toolkit ships a small lexicon of everyday visual
objects (``ccneg_build/data/object_lexicon.txt``) and finds plurals with spaCy's own lemmatizer.
Both are the same on every machine, so the same input always gives the same dataset.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Iterable

#: The concept whose kinds are people: one person in a caption makes any other person plausible.
PERSON = "person"
#: The lexicon's roots: a caption's "thing" or "object" is no object an option can affirm.
ROOTS = frozenset({"entity", "object"})
#: Where the lexicon's data lives inside the package.
LEXICON_FILE = "object_lexicon.txt"

_SPACES = re.compile(r"\s+")


def normalise(text: str | None) -> str:
    """Lower case, single spaces, no surrounding punctuation: ``" Dining  Table."`` -> ``"dining table"``."""
    return _SPACES.sub(" ", (text or "").strip().lower()).strip(" .,;:!?\"'()[]")


@dataclass(frozen=True)
class Concept:
    """One line of the lexicon: a canonical name, its synonyms and the concepts it is a kind of."""

    name: str
    synonyms: tuple[str, ...]
    parents: tuple[str, ...]


class ObjectLexicon:
    """Synonyms, is-a links and mass nouns of the shipped lexicon (see the module doc)."""

    def __init__(self, text: str) -> None:
        self.concepts: dict[str, Concept] = {}
        self._word_concepts: dict[str, list[str]] = {}
        mass: set[str] = set()
        general: set[str] = set()
        excluded: set[str] = set()
        contents: list[tuple[int, str, list[str]]] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line[0] in "*!~":
                words = {normalise(w) for w in line[1:].split(",") if normalise(w)}
                {"*": mass, "!": general, "~": excluded}[line[0]].update(words)
                continue
            if ">>" in line:
                scene, _, things = line.partition(">>")
                contents.append((number, normalise(scene), [normalise(t) for t in things.split(",") if normalise(t)]))
                continue
            names, _, parents = line.partition(">")
            words = [normalise(w) for w in names.split(",") if normalise(w)]
            if not words:
                raise ValueError(f"{LEXICON_FILE} line {number}: no concept name")
            concept = Concept(words[0], tuple(words), tuple(normalise(p) for p in parents.split(",") if normalise(p)))
            if concept.name in self.concepts:
                raise ValueError(f"{LEXICON_FILE} line {number}: concept {concept.name!r} is listed twice")
            self.concepts[concept.name] = concept
            for word in words:
                self._word_concepts.setdefault(word, []).append(concept.name)
        for name, concept in list(self.concepts.items()):  # a parent may be named by any of its words
            parents = []
            for parent in concept.parents:
                if parent not in self._word_concepts:
                    raise ValueError(f"{LEXICON_FILE}: {concept.name!r} names an unknown parent {parent!r}")
                parents.append(self._word_concepts[parent][0])
            self.concepts[name] = Concept(concept.name, concept.synonyms, tuple(parents))
        self.contents: dict[str, frozenset[str]] = {}
        for number, scene, things in contents:
            missing = [w for w in [scene, *things] if w not in self._word_concepts]
            if missing:
                raise ValueError(f"{LEXICON_FILE} line {number}: unknown concepts {', '.join(missing)}")
            key = self._word_concepts[scene][0]
            self.contents[key] = self.contents.get(key, frozenset()) | {self._word_concepts[t][0] for t in things}
        unknown = (general | excluded) - set(self._word_concepts)
        if unknown:
            raise ValueError(f"{LEXICON_FILE}: '!' or '~' line names unknown concepts: {', '.join(sorted(unknown))}")
        self.mass_nouns = frozenset(mass)
        self.general = frozenset(self._word_concepts[word][0] for word in general)
        self.excluded = frozenset(self._word_concepts[word][0] for word in excluded)

    def concepts_of(self, word: str) -> tuple[str, ...]:
        """The concepts a word names (several for an ambiguous word), in lexicon order; ``()`` if unknown."""
        return tuple(self._word_concepts.get(normalise(word), ()))

    @functools.lru_cache(maxsize=4096)
    def ancestors(self, concept: str) -> frozenset[str]:
        """Every concept ``concept`` is a kind of, transitively (not itself)."""
        found: set[str] = set()
        todo = list(self.concepts[concept].parents)
        while todo:
            parent = todo.pop()
            if parent not in found:
                found.add(parent)
                todo.extend(self.concepts[parent].parents)
        return frozenset(found)

    def is_mass(self, word: str) -> bool:
        return normalise(word) in self.mass_nouns

    def affirmable(self, concept: str) -> bool:
        """May an option affirm this concept (a thing a picture shows: not a body part, the weather, ...)?"""
        return concept in self.concepts and concept not in ROOTS and concept not in self.excluded \
            and not (self.ancestors(concept) & self.excluded)

    def proposable(self, concept: str) -> bool:
        """May this concept be proposed as an absent object (a known, specific, affirmable object)?"""
        return self.affirmable(concept) and concept not in self.general

    def held_by(self, concepts: Iterable[str]) -> frozenset[str]:
        """What the scenes among ``concepts`` almost always hold (and their kinds' scenes': a cottage is a house)."""
        held: set[str] = set()
        for concept in concepts:
            for scene in (concept, *self.ancestors(concept)):
                held |= self.contents.get(scene, frozenset())
        return frozenset(held)

    def is_person(self, concept: str) -> bool:
        return concept == PERSON or PERSON in self.ancestors(concept)

    def relation(self, first: Iterable[str], second: Iterable[str]) -> str | None:
        """How two sets of concepts relate: ``"synonym"`` (one shared), ``"hypernym"`` (one is a
        kind of the other), else ``None``."""
        a, b = set(first), set(second)
        if a & b:
            return "synonym"
        for x in a:
            if self.ancestors(x) & b:
                return "hypernym"
        for y in b:
            if self.ancestors(y) & a:
                return "hypernym"
        return None


@functools.lru_cache(maxsize=1)
def load_lexicon() -> ObjectLexicon:
    """The shipped lexicon (parsed once per process)."""
    text = (resources.files("ccneg_build") / "data" / LEXICON_FILE).read_text(encoding="utf-8")
    return ObjectLexicon(text)


def lexicon_digest() -> str:
    """A hash of the shipped lexicon's text: part of a run's settings, so an edited lexicon is a new run."""
    import hashlib

    text = (resources.files("ccneg_build") / "data" / LEXICON_FILE).read_bytes()
    return hashlib.sha256(text).hexdigest()[:16]


class NounLemmatizer:
    """Singular forms of nouns with spaCy's rule lemmatizer (``"knives"`` -> ``"knife"``), cached."""

    #: Plurals the rule tables leave alone but a reader does not ("people" is the plural of "person").
    IRREGULAR = {"people": "person", "persons": "person", "folks": "folk"}

    #: Singular endings the rule tables would wrongly strip an "s" from ("grass" -> "gras").
    SINGULAR_ENDINGS = ("ss", "us", "is")

    def __init__(self, nlp: Any, lexicon: "ObjectLexicon | None" = None) -> None:
        from spacy.tokens import Doc

        self._doc = Doc
        self.vocab = nlp.vocab
        self.lexicon = lexicon
        self.lemmatizer = nlp.get_pipe("lemmatizer") if "lemmatizer" in nlp.pipe_names else None

    @functools.lru_cache(maxsize=65536)
    def lemma(self, word: str) -> str:
        """The singular of a one-word noun (the last word of a phrase is lemmatised)."""
        word = normalise(word)
        if not word:
            return word
        head, _, last = word.rpartition(" ")
        if last in self.IRREGULAR:
            single = self.IRREGULAR[last]
        elif self.lemmatizer is None or last.endswith(self.SINGULAR_ENDINGS):
            single = last
        else:
            doc = self._doc(self.vocab, words=[last])
            doc[0].pos_ = "NOUN"
            forms = self.lemmatizer.rule_lemmatize(doc[0])
            single = forms[0] if forms else last
            if self.lexicon is not None and self.lexicon.concepts_of(last) and not self.lexicon.concepts_of(single):
                single = last  # the lexicon knows the word as it is ("jeans", "stairs")
        return f"{head} {single}" if head else single
