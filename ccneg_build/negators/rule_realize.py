"""Step 3 of the paper with rules: write the negated and the exclusion caption.

Both are edits of the caption's own tokens (insert "not", replace "with", drop a span),
so the output keeps the caption's casing and punctuation style: CC3M's spaced style
("a man , not on a scooter .") or ordinary English ("A woman, not next to a table").
"""

from __future__ import annotations

import re
from typing import Callable

from spacy.attrs import IDX, LENGTH, SPACY
from spacy.tokens import Doc, Token

from ccneg_build.negators.rule_pairs import Candidate
from ccneg_build.negators.rule_verbs import WordClasses
from ccneg_build.negators.rule_words import BE_FORMS, FRAMING_ADVERBS, HEDGING_ADVERBS

#: Turns a verb token into its base form ("flies" -> "fly").
Lemmatizer = Callable[[Token], str]


class Unnegatable(Exception):
    """The chosen pair's verb cannot be negated in fluent English; ``reason`` is a filter code.

    "spooky food at the party" would need "do not spooky" (not a verb); "a dress totally
    made from balloons" would need "not totally made" (negating the adverb).
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason, self.detail = reason, detail


_SPACED_PUNCTUATION = re.compile(r"\s[,.!?;:]|\s'[a-z]")
_ANY_PUNCTUATION = re.compile(r"[,.!?;:](?:\s|$)")
_REPEATED_COMMAS = re.compile(r",(?:\s*,)+")
_COMMA_BEFORE_STOP = re.compile(r"\s*(?:[,;:]|--)(\s*[.!?]+)(?=\s|$)")
_LEADING_JUNK = re.compile(r"^(?:[\s,;:]|(?:and|or|&)\s)+", re.IGNORECASE)
_TRAILING_JUNK = re.compile(r"(?:[\s,;:&-]|\s(?:and|or|but))+$", re.IGNORECASE)
_CONJUNCTION_BEFORE_STOP = re.compile(r"\s+(?:and|or|but|&)(\s*[.!?]+)$", re.IGNORECASE)
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.!?;:])")
_SPACES = re.compile(r"\s+")
_SURFACE_ATTRS = [IDX, LENGTH, SPACY]
_DO_SUPPORT = {"VBZ": "does", "VBD": "did", "VBP": "do"}
_SUBJECT_DEPS = frozenset(("nsubj", "nsubjpass", "expl"))
_FINITE_AUX_TAGS = frozenset(("MD", "VBZ", "VBP", "VBD"))
#: Marks after which a phrase needs no comma of its own ("the skirted table -- not in fabric").
_OPENING_PUNCTUATION = frozenset(("--", "-", "\u2013", "\u2014", ":", ";", ","))
#: Marks that end a title before a clause ("futuristic style : share a moment"); a comma does
#: not ("person , read an original poem" has a subject).
_TITLE_PUNCTUATION = _OPENING_PUNCTUATION - {","}
#: Adverbs whose meaning changes under a negation ("already" becomes "yet").
_NEGATION_CHANGING_ADVERBS = frozenset(("already", "sometimes", "somewhat"))
#: Tags of a noun that takes "does" ("little girl does not speak"), unlike "soldiers".
_SINGULAR_NOUN_TAGS = frozenset(("NN", "NNP"))
_PLURAL_DETERMINERS = frozenset("these those many several both few all".split())


def is_spaced_style(caption: str) -> bool:
    """CC3M writes " ," and " 's"; a caption without punctuation is CC3M-like when lower-case."""
    if _SPACED_PUNCTUATION.search(caption):
        return True
    if _ANY_PUNCTUATION.search(caption):
        return False
    return not caption[:1].isupper()


class Surface:
    """The caption's token texts and trailing spaces, read from the parse once.

    Every candidate pair is written out from these plain lists: walking a spaCy ``Doc``
    builds a Python object per token, which costs more than the edits themselves.
    """

    __slots__ = ("texts", "spaces")

    def __init__(self, doc: Doc, text: str | None = None) -> None:
        # ``text``: the string that was parsed, which spaCy keeps exactly (``doc.text`` would
        # rebuild it from the tokens)
        text = doc.text if text is None else text
        texts: list[str] = []
        spaces: list[str] = []
        for start, length, space in doc.to_array(_SURFACE_ATTRS).tolist():
            texts.append(text[start : start + length])
            spaces.append(" " if space else "")
        self.texts = texts
        self.spaces = spaces


class _Edit:
    """The caption's tokens with insertions, replacements and deletions, rendered once."""

    __slots__ = ("texts", "spaces", "before")

    def __init__(self, surface: Surface) -> None:
        self.texts = surface.texts.copy()
        self.spaces = surface.spaces.copy()
        self.before: dict[int, str] = {}

    def insert_before(self, index: int, text: str) -> None:
        self.before[index] = self.before.get(index, "") + text

    def delete(self, start: int, end: int) -> None:
        blanks = [""] * (end - start)
        self.texts[start:end] = blanks
        self.spaces[start:end] = blanks
        if self.before:
            for i in range(start, end):
                self.before.pop(i, None)

    def render(self, spaced: bool) -> str:
        pieces = list(map(str.__add__, self.texts, self.spaces))
        for index in sorted(self.before, reverse=True):
            pieces.insert(index, " " + self.before[index])
        return tidy("".join(pieces), spaced)


def tidy(text: str, spaced: bool) -> str:
    """Collapse the seams an edit leaves: double spaces, doubled or dangling commas."""
    text = _SPACES.sub(" ", text).strip()
    text = _REPEATED_COMMAS.sub(",", text)
    text = _COMMA_BEFORE_STOP.sub(r"\1", text)  # "heart : ." -> "heart .", "table -- ." -> "table ."
    text = _LEADING_JUNK.sub("", text)
    text = _TRAILING_JUNK.sub("", text)
    text = _CONJUNCTION_BEFORE_STOP.sub(r"\1", text)  # "the chicken and ." -> "the chicken ."
    if not spaced:
        text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return text


def exclusion_caption(surface: Surface, candidate: Candidate, spaced: bool) -> str:
    """The caption without the chosen object and its predicate."""
    edit = _Edit(surface)
    edit.delete(*candidate.remove)
    return edit.render(spaced)


def negated_caption(
    doc: Doc,
    surface: Surface,
    candidate: Candidate,
    spaced: bool,
    lemmatize: Lemmatizer,
    word_classes: WordClasses = WordClasses(),
) -> str:
    """The caption with the chosen object's link to the subject negated.

    Raises :class:`Unnegatable` when the verb cannot carry the negation fluently.
    """
    edit = _Edit(surface)
    kind = candidate.kind
    if kind == "without":
        edit.texts[candidate.anchor] = "without"
    elif kind == "absence":
        edit.texts[candidate.anchor] = doc[candidate.anchor].text + " no"
        if candidate.determiner >= 0:
            edit.delete(candidate.determiner, candidate.determiner + 1)
    elif kind == "conj":
        edit.texts[candidate.anchor] = "without"
    elif kind == "verbal":
        _negate_verb(edit, doc[candidate.verb], lemmatize, word_classes)
    elif kind == "bare_prep":
        edit.insert_before(candidate.anchor, "not ")
    else:  # noun_prep: "a woman, not next to a table, in the dining area"
        _negate_phrase(edit, doc, candidate)
    return edit.render(spaced)


def _negate_phrase(edit: _Edit, doc: Doc, candidate: Candidate) -> None:
    start = candidate.anchor
    before = doc[start - 1] if start > 0 else None
    if before is not None and before.dep_ == "advmod" and start <= before.head.i < candidate.remove[1]:
        edit.insert_before(start, "not ")  # "currently not under construction"
        return
    if before is not None and before.text in _OPENING_PUNCTUATION:
        edit.insert_before(start, "not ")  # "the skirted table -- not in fabric", never "-- , not"
        return
    edit.insert_before(start, ", not ")
    end = candidate.remove[1]
    if end < len(doc) and _starts_new_phrase(doc[end], start, end):
        edit.insert_before(end, ", ")


def _starts_new_phrase(token: Token, start: int, end: int) -> bool:
    """Does the caption go on with a phrase of its own after the negated one?

    "a woman, not next to a table, in the dining area" needs the closing comma; "a man
    looking sideways" must not get one, so only prepositions and participles hanging
    on a word before the negated phrase count.
    """
    if token.pos_ == "ADP" or token.tag_ in _FINITE_AUX_TAGS:
        return True  # "..., in the dining area"; "the view, not from the top, shows the city"
    if token.tag_ in ("WDT", "WP") and token.head.head.i < start:
        return True  # "a group of objects, not in space, that orbit a star"
    if (token.tag_ == "WRB" or token.dep_ == "mark") and not start <= token.head.i < end:
        return True  # "deliver the letter, not to the right door, when they hear the number"
    return token.tag_ in ("VBG", "VBN") and (token.head.i < start or token.head.i == token.i)


def _whole_contraction(token: Token) -> Token:
    """The last piece of a contraction the tokenizer split ("'" + "ve" in "i 've")."""
    doc = token.doc
    while token.whitespace_ == "" and token.i + 1 < len(doc) and doc[token.i + 1].pos_ == "AUX":
        token = doc[token.i + 1]
    return token


def _has_subject(verb: Token) -> bool:
    """A subject of its own, or of the verb it is coordinated with ("pans and tilts")."""
    for _ in range(4):
        if any(c.dep_ in _SUBJECT_DEPS for c in verb.children):
            return True
        if verb.dep_ != "conj" or verb.head.pos_ not in ("VERB", "AUX"):
            return False
        verb = verb.head
    return False


def _participle_after_comma(verb: Token) -> bool:
    """ "interior of the building , altered a little": a participle, not a past tense."""
    doc = verb.doc
    if not (verb.tag_ == "VBD" and verb.lower_.endswith("ed") and verb.i > 1 and doc[verb.i - 1].text == ","):
        return False
    # "person , attended the show" is a past tense: its subject stands right before the comma
    return doc[verb.i - 2].dep_ not in _SUBJECT_DEPS


def _negate_verb(edit: _Edit, verb: Token, lemmatize: Lemmatizer, word_classes: WordClasses) -> None:
    """Negate a verb as English does: "is not", "does not make", "not sitting"."""
    auxiliaries = [c for c in verb.lefts if c.dep_ in ("aux", "auxpass")]
    if auxiliaries:
        _negate_auxiliary(edit, verb, auxiliaries)
        return
    word = verb.lower_
    tag = verb.tag_
    has_subject = _has_subject(verb)
    if word in BE_FORMS and tag != "VB":
        edit.texts[verb.i] = verb.text + " not"
    elif tag in ("VBZ", "VBP") or (tag == "VBD" and has_subject and not _participle_after_comma(verb)):
        base = present_base(word) if tag == "VBZ" else word if tag == "VBP" else lemmatize(verb)
        _require_verb(base, verb, word_classes)
        if tag == "VBP" and _singular_noun_subject(verb):
            # "abstract speech bubble in the shape of clouds": a singular noun before a plural
            # verb is nearly always a noun compound the tagger split, not a clause
            raise Unnegatable("verb_not_negatable", f"{verb.text!r} does not agree with its subject: a noun, not a verb")
        _do_support(edit, verb, _DO_SUPPORT[tag], base)  # "does not make"
    elif _past_after_adverb(verb):
        _do_support(edit, verb, "did", lemmatize(verb))  # "the bar did not officially open"
    elif tag == "VB" and verb.dep_ == "ROOT":
        _require_verb(word, verb, word_classes)
        helper = "does" if _singular_noun_subject(verb) else "do"
        edit.insert_before(verb.i, f"{helper} not ")  # "do not keep an eye out", "the dentist does not drill"
    elif tag == "VBD" and verb.i == 0:
        # "clad your home in ...": an opening past form with no subject is an imperative the
        # tagger misread or a headline; neither takes a bare "not"
        raise Unnegatable("verb_not_negatable", f"{verb.text!r} opens the caption with no subject")
    elif tag == "VB":
        # "fans had gathered to watch the team take a victory": a bare infinitive after another
        # verb; "not take" negates what they watched, not the pair
        raise Unnegatable("negation_scope", f"{verb.text!r} is a bare infinitive after another verb")
    else:
        _require_adverb_free(verb)
        edit.insert_before(verb.i, "not ")  # participles and infinitives: "not sitting"


def _require_verb(base: str, verb: Token, word_classes: WordClasses) -> None:
    """Do-support only before a verb: "do not spooky food" is what a misread adjective gives.

    A subject that English only uses as a verb ("celebrity performs live") shows the same
    misreading one word earlier.
    """
    if not word_classes.is_verb(base):
        raise Unnegatable("verb_not_negatable", f"{verb.text!r} ({base!r}) is not an English verb")
    subject = next((c for c in verb.lefts if c.dep_ in _SUBJECT_DEPS), None)
    if subject is None or subject.tag_ not in ("NN", "NNS"):
        return
    stem = present_base(subject.lower_) if subject.tag_ == "NNS" else subject.lower_
    if subject.lower_ not in word_classes.nouns and word_classes.verb_not_noun(stem, stem):
        raise Unnegatable("verb_not_negatable", f"the subject {subject.text!r} of {verb.text!r} is a verb")
    doc = verb.doc
    if (
        subject.tag_ == "NNS"
        and subject.i == verb.i - 1
        and subject.i > 0
        and doc[subject.i - 1].pos_ in ("NOUN", "PROPN")
        and not any(c.dep_ in ("det", "poss") for c in subject.lefts)
        and word_classes.verbs
        and word_classes.is_verb(stem)
    ):
        # "football tight end catches pass": after a bare noun chain, the "subject" is the verb
        raise Unnegatable("verb_not_negatable", f"{subject.text!r} before {verb.text!r} may be the verb itself")


def _require_adverb_free(verb: Token) -> None:
    """A participle with an adverb right before it cannot take a bare "not" fluently.

    "totally made" gives "not totally made" (negating "totally") or "totally not made"
    (not English); "currently sitting" may keep a framing adverb before "not".
    """
    if verb.i == 0:
        return
    before = verb.doc[verb.i - 1]
    if before.dep_ != "advmod" or before.head.i != verb.i or not before.tag_.startswith("RB"):
        return
    if verb.tag_ == "VBG" and before.lower_ in FRAMING_ADVERBS:
        return
    raise Unnegatable("negation_scope", f"'not' would fall on the adverb {before.text!r} before {verb.text!r}")


def _singular_noun_subject(verb: Token) -> bool:
    """A singular noun subject of its own ("the dentist drill"): "does", not "do".

    A "subject" across a colon or dash is a title, not a subject ("futuristic style : share
    a moment" is an imperative).
    """
    subject = next((c for c in verb.lefts if c.dep_ in _SUBJECT_DEPS), None)
    if subject is None or subject.tag_ not in _SINGULAR_NOUN_TAGS:
        return False
    if any(t.text in _TITLE_PUNCTUATION for t in verb.doc[subject.i + 1 : verb.i]):
        return False
    for token in subject.subtree:
        if token.dep_ in ("cc", "conj") or (token.dep_ == "det" and token.lower_ in _PLURAL_DETERMINERS):
            return False  # "actor and theatre actor attend", "these fish take"
    return True


def _past_after_adverb(verb: Token) -> bool:
    """ "the first bar officially opened on sunday": a past tense the tagger called a participle.

    A main verb with a subject of its own, no auxiliary and an adverb right before it is
    a finite past ("did not officially open"), not an adjectival participle.
    """
    if verb.tag_ != "VBN" or verb.dep_ != "ROOT" or verb.i < 2:
        return False
    before = verb.doc[verb.i - 1]
    if before.dep_ != "advmod" or before.head.i != verb.i or not before.tag_.startswith("RB"):
        return False
    return any(c.dep_ == "nsubj" for c in verb.lefts)  # "person recently did not lecture"


def present_base(word: str) -> str:
    """The base form of a third-person present ("flies" -> "fly", "rides" -> "ride").

    Spelling rules rather than the lemmatizer, which knows "rid" and so turns "rides"
    into it.
    """
    irregular = {"has": "have", "does": "do", "is": "be", "'s": "be"}
    if word in irregular:
        return irregular[word]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    for ending in ("sses", "shes", "ches", "xes", "zzes", "oes"):
        if word.endswith(ending):
            return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _do_support(edit: _Edit, verb: Token, helper: str, base: str) -> None:
    """ "gently glides" -> "does not gently glide": the helper goes before adverbs."""
    start = verb.i
    if verb.i > 0 and verb.doc[verb.i - 1].lower_ in _NEGATION_CHANGING_ADVERBS:
        # "already pack a punch" negated is "do not pack a punch yet", not "already do not pack"
        raise Unnegatable("negation_scope", f"'{verb.doc[verb.i - 1].text}' before {verb.text!r} changes under 'not'")
    for child in reversed(list(verb.lefts)):
        if (
            child.dep_ == "advmod"
            and child.i == start - 1
            and child.tag_.startswith("RB")
            and child.lower_ not in FRAMING_ADVERBS
        ):
            start = child.i  # a manner adverb goes with the verb; "also", "just" stay before
    edit.texts[verb.i] = base
    edit.insert_before(start, f"{helper} not ")


def _negate_auxiliary(edit: _Edit, verb: Token, auxiliaries: list[Token]) -> None:
    """ "is not being sold", "will probably not have", "do you not see", "not to bring"."""
    finite = next((a for a in auxiliaries if a.tag_ in _FINITE_AUX_TAGS), None)
    if finite is None:
        edit.insert_before(auxiliaries[0].i, "not ")
        return
    subject = next((c for c in verb.lefts if c.dep_ in _SUBJECT_DEPS), None)
    if subject is not None and finite.i < subject.i:
        edit.insert_before(verb.i, "not ")  # a question: "do you not freshen up"
        return
    finite = _whole_contraction(finite)
    after = finite.i + 1
    doc = verb.doc
    while after < verb.i and doc[after].lower_ in HEDGING_ADVERBS:
        after += 1  # "will probably not have"
    if after == finite.i + 1:
        edit.texts[finite.i] = finite.text + " not"
    else:
        edit.insert_before(after, "not ")
