"""Is a pair's object a noun phrase the parse can be trusted with, and where does it end?

Telegraphic captions make the parser build objects out of fragments ("stump playing guitar",
"left greets", "boys" of "boys basketball game"); negating those writes nonsense, so such pairs
are refused with ``object_not_noun_phrase``. Listed nouns ("a bird and butterfly") are one
object, so that "without a bird and butterfly" negates exactly the object it names; an object
listed with a noun the parse left out ("a passport or an id") is refused.
"""

from __future__ import annotations

from spacy.tokens import Doc, Token

from ccneg_build.negators.rule_pairs import Lemmatizer, Refusal
from ccneg_build.negators.rule_verbs import NOUN_POS, SUBJECT_DEPS, VERB_POS, WordClasses

_NOUNS = NOUN_POS
_VERBS = VERB_POS
_SUBJECT_DEPS = SUBJECT_DEPS

#: Dependents inside a noun phrase before its head ("a fast moving red car", "rock and roll artist").
_INNER_NOUN_DEPS = frozenset(
    ("det", "predet", "amod", "compound", "nummod", "poss", "nmod", "case", "punct", "advmod", "quantmod", "cc", "conj")
)


#: Parts of speech a listed object may be made of ("bird and butterfly", "ice cream , cupcakes").
_LIST_POS = frozenset(("NOUN", "PROPN", "ADJ", "DET", "CCONJ", "PUNCT", "NUM", "PRON", "PART"))


def object_text(doc: Doc, noun: Token) -> tuple[str, int, int]:
    """The noun phrase without its leading determiner: (text, start, index of determiner)."""
    start = noun.left_edge.i
    determiner = -1
    if start < noun.i and doc[start].dep_ in ("det", "predet"):
        determiner = start
        start += 1
        if start < noun.i and doc[start].dep_ == "det":  # "all the"
            start += 1
    return doc[start : noun.i + 1].text, start, determiner


class ObjectCheck:
    """The object's text if it is a noun phrase the parse can be trusted with, else a refusal.

    Parse errors make objects of fragments: "stump playing guitar" (a participle inside),
    "left greets" (a verb taken for a noun), "pregnant step" (a compound cut before its
    head). Listed nouns are one object ("a bird and butterfly"), so that "without a bird
    and butterfly" negates exactly the object it names.
    """

    __slots__ = ("lemmatize", "word_classes")

    def __init__(self, lemmatize: Lemmatizer, word_classes: WordClasses) -> None:
        self.lemmatize = lemmatize
        self.word_classes = word_classes

    def span(self, doc: Doc, noun: Token) -> tuple[str, int, int, int] | Refusal:
        """(text, first token, determiner or -1, end) of the object headed by ``noun``."""
        _text, start, determiner = object_text(doc, noun)
        end = _listed_end(doc, noun)
        text = doc[start:end].text
        problem = self._problem(doc, noun, start, end, text)
        if problem is not None:
            return Refusal(start, "object_not_noun_phrase", problem)
        return text, start, determiner, end

    def _problem(self, doc: Doc, noun: Token, start: int, end: int, text: str) -> str | None:
        if not text[:1].isalnum():
            return f"object {text!r} does not start with a word"
        for token in doc[start : noun.i]:
            if token.dep_ not in _INNER_NOUN_DEPS or (token.pos_ in _VERBS and token.dep_ != "amod"):
                return f"object {text!r} has {token.text!r} ({token.dep_}) inside"
            if token.tag_ == "VBG" and token.i > start and doc[token.i - 1].pos_ in _NOUNS:
                return f"object {text!r} has a clause inside ({doc[token.i - 1].text!r} {token.text!r})"
        following = doc[end] if end < len(doc) else None
        if following is not None and following.pos_ in _NOUNS and following.dep_ in ("compound", "amod", "nmod"):
            return f"object {text!r} is cut before the noun {following.text!r} it modifies"
        if end + 1 < len(doc) and doc[end].lower_ in ("by", "to", "after") and doc[end + 1].lower_ == noun.lower_:
            return f"{noun.text!r} is part of the idiom {doc[noun.i : end + 2].text!r}, not an object"
        listed = _listed_after(doc, end, commas=False)
        if listed is not None:
            return f"object {text!r} is listed with {listed!r}: a negation would cover the list"
        if any(c.dep_ in ("xcomp", "ccomp", "dobj", "nsubj") for c in noun.children):
            return f"object {text!r}: {noun.text!r} takes a verb's dependents, so it is a verb"
        if noun.tag_ == "NNS" and following is not None and following.tag_ == "TO":
            stem = noun.lower_[:-1] if noun.lower_.endswith("s") else noun.lower_
            if self.word_classes.is_verb(stem) and self.word_classes.verbs:
                return f"object {text!r}: {noun.text!r} before 'to' reads as a verb ('waits to hear')"
        nouns = self.word_classes.nouns
        for token in doc[start : noun.i + 1]:
            if token.tag_ in ("NN", "NNS") and token.lower_ not in nouns and _singular(token.lower_) not in nouns:
                base = self.lemmatize(token)
                if self.word_classes.verb_not_noun(base, base):
                    return f"object {text!r}: {token.text!r} is a verb, not a noun"
        return None


def _singular(word: str) -> str:
    """A cheap singular for a plural noun ("walls" -> "wall", "berries" -> "berry")."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("es") and word[-3:-2] in ("s", "x", "z", "h"):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def list_refusal(doc: Doc, end: int, text: str) -> Refusal | None:
    """Refuse an object followed by ", noun" when the negation would spread over the list.

    "with no cute lambs , apples" and "not playing a guitar , night" read as negating
    every item; a negated phrase set off by commas ("a man , not in the air , 3d render")
    does not, so :func:`_prepositional` asks this only for "with" and verbs.
    """
    listed = _listed_after(doc, end, commas=True)
    if listed is None:
        return None
    return Refusal(end, "negation_scope", f"object {text!r} is listed with {listed!r}: a negation would cover the list")


def _listed_end(doc: Doc, noun: Token) -> int:
    """End of the object with the nouns listed after it ("a bird and butterfly")."""
    last = noun
    for _ in range(12):
        conjs = [c for c in last.rights if c.dep_ == "conj"]
        if not conjs or conjs[-1].pos_ not in _NOUNS:
            break
        last = conjs[-1]
    if last is noun or any(t.pos_ not in _LIST_POS for t in doc[noun.i + 1 : last.i]):
        return noun.i + 1
    return last.i + 1


def _listed_after(doc: Doc, end: int, commas: bool) -> str | None:
    """A noun listed right after the object that the parse left out of it ("a dog and a cat").

    "without a dog and a cat" reads as negating the whole list, so such an object cannot
    be negated alone; "... and people have flocked" starts a clause, not a list. With
    ``commas``, ", apples" counts too.
    """
    if end + 1 >= len(doc):
        return None
    joint, after = doc[end], doc[end + 1]
    if joint.lower_ == "as" and doc[end : end + 3].text.lower() == "as well as":
        return doc[end + 3].text if end + 3 < len(doc) else None
    if joint.lower_ in ("and", "or", "&") and after.pos_ in ("DET", "ADJ", "NOUN", "PROPN", "NUM"):
        head = _noun_head(after)
        return None if head.dep_ in _SUBJECT_DEPS else after.text
    if commas and joint.text == "," and after.pos_ in ("DET", "ADJ", "NOUN", "PROPN", "NUM"):
        head = _noun_head(after)
        if head.pos_ in _NOUNS and head.dep_ not in _SUBJECT_DEPS:
            return after.text  # "cute lambs , apples", "a king size bed , private bathroom"
    return None


def _noun_head(token: Token) -> Token:
    """The noun a determiner or modifier belongs to ("private" -> "bathroom")."""
    head = token
    for _ in range(6):
        if head.dep_ not in ("det", "amod", "compound", "nummod", "poss") or head.head.i <= head.i:
            break
        head = head.head
    return head
