"""THE filter: one set of checks that every backend's output passes before it is kept.

Rules, LLMs and any future backend are judged by the same pure functions, so a dataset's
quality does not depend on which backend wrote a row, and the reason codes in
``rejected/*.parquet`` and ``manifest.json`` mean the same thing everywhere.

The module also *derives* ``negation_cue`` and ``negation_type`` from the pair
(caption, negated caption) instead of trusting a backend's label, for the same reason.

Every reason code is listed in :data:`REASONS` with a one-line explanation; the
documentation (docs/format.md) mirrors that table.
"""

from __future__ import annotations

import functools
import re

from ccneg_core.lexicon import (
    AUXILIARIES,
    COMPLEMENT_VERB_FORMS,
    DANGLING_END_WORDS,
    FUNCTION_WORDS,
    PREPOSITIONS,
    SCOPE_ADVERBS,
    UNFINISHED_END_WORDS,
    is_negation_word,
    word_tokens,
)
from ccneg_core.lexicon import phrase_count
from ccneg_core.negation_labels import added_negations, inserted_position, negation_labels
from ccneg_core.record import Negation, Rejection, SourceRow, Verdict

#: Captions longer than this are rejected when read (CC3M captions stay under ~400).
MAX_CAPTION_CHARS = 1000
#: A negated caption may add at most this many characters ("does not", commas, ...).
MAX_ADDED_CHARS = 40
#: A negated caption keeps at least this share of the caption's characters.
MIN_KEPT_RATIO = 0.3
#: Words a negation may add besides the cue itself (do-support, articles, "there is").
ALLOWED_ADDED_WORDS = frozenset(
    "a an the any do does did is are was were be being been has have had there it its "
    "with of in on at to by for from and or".split()
)
#: At most this many added words outside the caption and the allowed list.
MAX_NEW_WORDS = 1

REASONS: dict[str, str] = {
    # --- reading (stage "read"): the row never reached a negator
    "bad_columns": "the row has the wrong number of columns for its format",
    "bad_encoding": "the row's bytes do not decode (UTF-8, or UTF-16/32 after a byte order mark); its text is kept with U+FFFD for them",
    "bad_json": "the JSON line does not parse as an object",
    "empty_caption": "the caption is missing or blank",
    "nul_byte": "the caption contains a NUL byte",
    "caption_too_long": f"the caption is longer than {MAX_CAPTION_CHARS} characters",
    "bad_characters": "the text contains control characters, bidirectional controls (e.g. U+202E right-to-left "
    "override) or U+FFFD replacement characters",
    "markup": "the caption contains HTML markup (a tag or an entity such as &amp;), or an output contains markup, "
              "JSON, code fences or line breaks that the caption does not",
    # --- images (stage "image"): more codes come from the image step (http_404, timeout, ...)
    "missing_image": "--images column: the row's image cell is empty",
    # --- negating (stage "negate"): the backend proposed nothing usable
    "parse_failed": "the parser failed on the caption",
    "no_subject": "the decomposition found no subject",
    "no_relation": "the caption has no object-predicate pair to negate",
    "negator_error": "the backend failed on this row (detail says how)",
    # --- LLM backends (stages "decompose" / "negate"): the answer or the request failed
    "llm_empty_response": "the model answered with no text",
    "llm_invalid_json": "the model's answer is not one JSON object (e.g. truncated)",
    "llm_wrong_shape": "the model's JSON lacks a required field or has one of the wrong type",
    "llm_request_refused": "the server refused this request (HTTP 4xx other than 401/403/404/429)",
    # --- verifying (stage "verify"): the proposal failed a check of this module
    "unchanged": "the negated caption equals the caption",
    "no_negation_added": "the negated caption adds no negation word",
    "multiple_negations": "the negated caption adds more than one negation word",
    "object_not_in_caption": "the chosen object does not occur in the caption",
    "predicate_not_in_caption": "the chosen predicate does not occur in the caption",
    "object_missing_from_negated": "the negated caption no longer mentions the chosen object",
    "exclusion_empty": "the exclusion caption is empty or has no words",
    "exclusion_has_object": "the exclusion caption still contains the chosen object",
    "exclusion_unchanged": "the exclusion caption equals the caption",
    "length_out_of_range": "an output is much longer or shorter than the caption",
    "dangling_end": "an output ends cut off: with a conjunction, article, preposition, colon or comma "
    "that the caption does not end with",
    "misplaced_negation": "the added negation sits where English does not put it: after an article (\"the not ...\"), "
    "between an adverb and the verb it modifies (\"recently not lectured\"), or after a verb it cuts off from "
    "its complement (\"get , not on the trend\")",
    "negation_scope": "the added negation would negate something other than the chosen pair: an adverb (\"not "
    "always\"), a how-to or wh- clause (\"how not to\"), an infinitive (\"ready not to sail\"), or, for the "
    "rule backend, a verb whose object is another one, a clause before the verb, or a list",
    "exclusion_not_caption": "the exclusion caption is not a caption: it names nothing (a lone pronoun or "
    "determiner), stops on a word that needs what was removed (\"a statue seen\", \"you were\"), or is a bare "
    "prepositional phrase",
    "object_not_noun_phrase": "the chosen object is not a noun phrase the parse can trust (\"pregnant step\", "
    "\"left greets\", \"stump playing guitar\")",
    "verb_not_negatable": "the word the rules would negate is not a verb they can trust (\"spooky food at the "
    "party\", \"leaves vector illustration\")",
    "added_content": "the negated caption adds words that the caption does not contain",
    "commentary": "an output contains instructions, labels or commentary instead of a caption",
}

#: Unicode category Cc (C0 controls, DEL, C1 controls) except tab, the bidirectional controls
#: (Bidi_Control: they reorder how text is shown, e.g. U+202E), and the replacement character.
_BAD_CHARACTER = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffd]")
#: HTML in a caption: a tag (``<b>``, ``</a>``, ``<br/>``), a comment, or an entity (``&amp;``, ``&#39;``).
#: Plain ``<`` and ``&`` ("<3", "sand & sea") are text.
_HTML = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>|<!--|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_PREPOSITIONS = PREPOSITIONS
_AUXILIARIES = AUXILIARIES
#: Words that open a how-to or wh- clause: "how not to ..." negates the instructions.
_WH_WORDS = frozenset("how what when where why which whether who".split())
#: "not to" with no comma before it negates an infinitive ("ready not to sail"), which
#: states an intention, not that the pair is absent; ", not to the sea" is a relation.
_NOT_BEFORE_INFINITIVE = re.compile(r"(?<![,;:\-–—(])\s+not\s+to\b", re.IGNORECASE)
#: ", not" right after a verb form that needs a complement cuts the verb off from it
#: ("the baseball hat - get , not on the trend").
_COMMA_NOT = re.compile(r"\b([\w']+)\s*,\s*not\b", re.IGNORECASE)
#: Irregular past forms an "-ly" adverb cannot be separated from by "not".
_IRREGULAR_PAST = frozenset(
    "made seen taken given done built held worn grown known shown sold told found left kept put set "
    "shot brought bought caught taught written driven ridden eaten fallen broken chosen spoken stolen "
    "frozen hidden drawn thrown flown torn born lit cut hit sung begun won spun hung stuck struck".split()
)
_ARTICLES = frozenset({"a", "an", "the"})
#: A sentence cut after a colon, comma or semicolon ("raisins good for heart : .").
_CUT_PUNCTUATION = re.compile(r"[:;,]\s*[.!?]?\s*$")
_MARKUP = re.compile(r"[{}<>\[\]`|]|\n|\r|^\s*#|\*\*|^\s*[-*]\s")
_COMMENTARY = (
    "negated caption", "negative prompt", "negative-prompt", "exclusion", "caption:",
    "here is", "here's", "sure,", "sure!", "as an ai", "i cannot", "i can't", "i'm sorry",
    "sorry,", "note:", "output:", "answer:", "ignore the", "instruction", "json", "assistant",
    "the sentence", "this caption", "rewritten",
    # words of the LLM prompts themselves: an answer that quotes them leaked its instructions
    "untrusted", "object-predicate", "chosen-object", "exclusion-prompt", "relation-parsing",
    "sentence-formation", "task:",
)


# ----------------------------------------------------------------------------- text helpers


def words(text: str) -> list[str]:
    """Lower-case word tokens; "doesn't" stays one token so its negation can be counted."""
    return list(_tokens(text))


@functools.lru_cache(maxsize=8192)
def _tokens(text: str) -> tuple[str, ...]:
    """Cached :func:`words`: the filter looks at the same few strings many times per row."""
    return tuple(word_tokens(text))


def _normalised(text: str) -> str:
    return " ".join(_tokens(text))


# ----------------------------------------------------------------------------- reading checks


def check_caption(caption: str | None) -> tuple[str, str] | None:
    """The character sanity every reader applies: ``(reason, detail)`` or ``None`` if fine."""
    if caption is None or not caption.strip():
        return "empty_caption", "the caption is empty"
    if "\x00" in caption:
        return "nul_byte", "the caption contains a NUL byte (\\x00)"
    if len(caption) > MAX_CAPTION_CHARS:
        return "caption_too_long", f"{len(caption)} characters (at most {MAX_CAPTION_CHARS})"
    bad = _bad_character(caption)
    if bad is not None:
        return "bad_characters", f"character U+{ord(bad):04X} at position {caption.index(bad)}"
    html = _HTML.search(caption)
    if html is not None:
        return "markup", f"HTML {html.group()[:40]!r} at position {html.start()}"
    return None


def _bad_character(text: str) -> str | None:
    """The first control character (category Cc, tab allowed), bidirectional control or U+FFFD, if any."""
    match = _BAD_CHARACTER.search(text)
    return match.group() if match else None


# ----------------------------------------------------------------------------- output checks


def _fail(reason: str, detail: str, negation: Negation | None = None) -> Rejection:
    return Rejection(
        reason=reason,
        detail=detail,
        stage="verify",
        raw_response=negation.raw_response if negation else None,
        negation=negation,
        generator=negation.generator if negation else None,
    )


def check_output_text(caption: str, output: str, field_name: str) -> tuple[str, str] | None:
    """Sanity of one generated sentence: characters, markup, commentary (not in the caption)."""
    if (_MARKUP.search(output) and not _MARKUP.search(caption)) or _HTML.search(output):
        return "markup", f"{field_name} contains markup: {output[:80]!r}"
    bad = _bad_character(output)
    if bad is not None:
        return "bad_characters", f"{field_name} contains U+{ord(bad):04X}"
    lowered_output, lowered_caption = output.lower(), caption.lower()
    for phrase in _COMMENTARY:
        if _starts_a_word(phrase, lowered_output) and not _starts_a_word(phrase, lowered_caption):
            return "commentary", f"{field_name} contains {phrase!r}"
    return None


def _starts_a_word(phrase: str, text: str) -> bool:
    """``phrase`` occurs in ``text`` where a word starts: "here is" is not found in "there is"."""
    return re.search(r"(?<!\w)" + re.escape(phrase), text) is not None


def verify(row: SourceRow, negation: Negation) -> Verdict | Rejection:
    """Judge one proposal: a :class:`Verdict` (accepted) or a :class:`Rejection` with reason.

    Checks run from the most to the least basic so that the reason names the first real
    problem. Pure: depends only on its arguments.
    """
    caption = row.caption or ""
    negated = negation.negated_caption or ""
    exclusion = negation.exclusion_caption or ""
    relations = negation.decomposition.relations
    if not relations or not 0 <= negation.chosen < len(relations):
        return _fail("no_relation", "the decomposition has no chosen object-predicate pair", negation)
    relation = negation.chosen_relation

    for text, name in ((negated, "negated caption"), (exclusion, "exclusion caption")):
        problem = check_output_text(caption, text, name)
        if problem:
            return _fail(*problem, negation)
    if _normalised(negated) == _normalised(caption):
        return _fail("unchanged", "the negated caption equals the caption", negation)
    if not _tokens(exclusion):
        return _fail("exclusion_empty", f"exclusion caption {exclusion!r} has no words", negation)
    if _normalised(exclusion) == _normalised(caption):
        return _fail("exclusion_unchanged", "the exclusion caption equals the caption", negation)

    in_caption = phrase_count(relation.object, caption)
    if in_caption == 0:
        return _fail("object_not_in_caption", f"object {relation.object!r} is not in the caption", negation)
    if relation.predicate.strip() and phrase_count(relation.predicate, caption) == 0:
        return _fail(
            "predicate_not_in_caption", f"predicate {relation.predicate!r} is not in the caption", negation
        )
    if phrase_count(relation.object, negated) == 0:
        return _fail(
            "object_missing_from_negated", f"object {relation.object!r} is not in the negated caption", negation
        )
    if phrase_count(relation.object, exclusion) >= in_caption:
        return _fail("exclusion_has_object", f"object {relation.object!r} is still in the exclusion", negation)

    added = added_negations(caption, negated)
    if not added:
        return _fail("no_negation_added", "no negation word was added", negation)
    if len(added) > 1:
        return _fail("multiple_negations", f"added {len(added)} negation words: {added}", negation)

    grammar_problem = _grammar_problem(caption, negated, exclusion)
    if grammar_problem:
        return _fail(*grammar_problem, negation)
    placement_problem = negation_placement_problem(caption, negated)
    if placement_problem:
        return _fail(*placement_problem, negation)
    caption_problem = exclusion_problem(caption, exclusion, relation.object)
    if caption_problem:
        return _fail(*caption_problem, negation)
    length_problem = _length_problem(caption, negated, exclusion)
    if length_problem:
        return _fail("length_out_of_range", length_problem, negation)
    new_words = _new_words(caption, negated)
    if len(new_words) > MAX_NEW_WORDS:
        return _fail("added_content", f"new words {new_words[:5]}", negation)

    verdict = negation_labels(caption, negated)
    assert verdict is not None  # an added negation exists (checked above)
    return verdict


def _grammar_problem(caption: str, negated: str, exclusion: str) -> tuple[str, str] | None:
    """Cheap fluency guards: a cut-off ending, or "not" placed between an article and its noun."""
    caption_words = _tokens(caption)
    last_of_caption = caption_words[-1] if caption_words else ""
    caption_cut = _CUT_PUNCTUATION.search(caption)
    for text, name in ((exclusion, "exclusion caption"), (negated, "negated caption")):
        tokens = _tokens(text)
        if tokens and tokens[-1] in DANGLING_END_WORDS and tokens[-1] != last_of_caption:
            return "dangling_end", f"{name} ends with {tokens[-1]!r}: {text[-60:]!r}"
        if _CUT_PUNCTUATION.search(text) and not caption_cut:
            return "dangling_end", f"{name} ends with a colon, comma or semicolon: {text[-60:]!r}"
    tokens = _tokens(negated)
    for i, token in enumerate(tokens[1:], start=1):
        if is_negation_word(token) and token == "not" and tokens[i - 1] in _ARTICLES:
            return "misplaced_negation", f"{tokens[i - 1]!r} directly before 'not'"
    return None


def negation_placement_problem(caption: str, negated: str) -> tuple[str, str] | None:
    """Does the added "not" negate something other than the pair, or sit where English does not put it?

    Read from the words around the added "not" alone, so that it judges every backend:
    "not always" and "not totally" negate the adverb; "how not to" and "ready not to sail"
    negate a clause or an intention; "recently not lectured" strands the adverb before a
    past form ("recently did not lecture"); "get , not on the trend" cuts a verb off from
    its complement. ``None`` when none of these applies.
    """
    added = added_negations(caption, negated)
    if added != ["not"]:
        return None
    tokens = _tokens(negated)
    index = inserted_position(_tokens(caption), tokens, "not")
    preceding = tokens[index - 1] if index > 0 else ""
    following = tokens[index + 1] if index + 1 < len(tokens) else ""
    caption_words = set(_tokens(caption))
    if following in SCOPE_ADVERBS and following in caption_words:
        return "negation_scope", f"'not {following}' negates {following!r}, not the chosen pair"
    if following == "to" and preceding in _WH_WORDS:
        return "negation_scope", f"'{preceding} not to' moves the negation onto the {preceding}-clause"
    if _NOT_BEFORE_INFINITIVE.search(negated) and not _NOT_BEFORE_INFINITIVE.search(caption):
        return "negation_scope", "'not to' negates an infinitive (an intention), not the chosen pair"
    if preceding.endswith("ly") and len(preceding) > 4 and _past_form(following):
        return "misplaced_negation", f"'{preceding} not {following}': the adverb belongs after the negated verb"
    for match in _COMMA_NOT.finditer(negated):
        word = match.group(1).lower()
        if word in COMPLEMENT_VERB_FORMS and word not in _BE_FORMS and match.group(0).lower() not in caption.lower():
            return "misplaced_negation", f"', not' cuts {word!r} off from its complement"
    return None


_BE_FORMS = frozenset("is are was were am be been being s re m".split())
#: "... is fashionable and it .": a pronoun after a conjunction opens a clause that stops.
_PRONOUNS_AFTER_CONJUNCTION = frozenset("it this that there".split())
_CLAUSE_CONJUNCTIONS = frozenset("and but or so because if when as while".split())


def _past_form(word: str) -> bool:
    """A past tense or participle: "lectured", "made" (the adverb before it cannot be left before "not")."""
    return (len(word) > 4 and word.endswith("ed")) or word in _IRREGULAR_PAST


def exclusion_problem(caption: str, exclusion: str, obj: str = "") -> tuple[str, str] | None:
    """Is the exclusion caption a caption? ``("exclusion_not_caption", detail)`` if not.

    A caption names something the image shows and does not stop short: "they .", "no ."
    name nothing, and "recipe !" (the caption's second "recipe") names only the object it
    was meant to drop; "a buddha statue seen", "when all else fails , you" and "you were" stop
    on a word that needs what was removed; "into cool waters" is a bare phrase. A word
    the caption itself ends or opens with is fine ("when you are not sure where to go").
    """
    tokens = _tokens(exclusion)
    caption_tokens = _tokens(caption)
    if not tokens:
        return None  # exclusion_empty is reported first
    content = [token for token in tokens if token not in FUNCTION_WORDS and not token.isdigit()]
    if not content:
        return "exclusion_not_caption", f"exclusion caption {exclusion[:60]!r} names nothing the image shows"
    if obj and set(content) <= set(_tokens(obj)):
        return "exclusion_not_caption", f"exclusion caption {exclusion[:60]!r} names only the removed object {obj!r}"
    last = tokens[-1]
    if last in _PRONOUNS_AFTER_CONJUNCTION and len(tokens) > 1 and tokens[-2] in _CLAUSE_CONJUNCTIONS:
        return "exclusion_not_caption", f"exclusion caption stops on a new clause's subject: {exclusion[-60:]!r}"
    object_pronoun = last == "you" and len(tokens) > 1 and tokens[-2] in PREPOSITIONS  # "a card for you"
    if last in UNFINISHED_END_WORDS and not object_pronoun and (not caption_tokens or last != caption_tokens[-1]):
        return "exclusion_not_caption", f"exclusion caption stops on {last!r}, which needs what was removed: {exclusion[-60:]!r}"
    first = tokens[0]
    if first in PREPOSITIONS and caption_tokens and first != caption_tokens[0]:
        return "exclusion_not_caption", f"exclusion caption is a bare phrase opening with {first!r}: {exclusion[:60]!r}"
    return None


def _length_problem(caption: str, negated: str, exclusion: str) -> str | None:
    if len(negated) > len(caption) + MAX_ADDED_CHARS:
        return f"negated caption has {len(negated)} characters for a caption of {len(caption)}"
    if len(negated) < MIN_KEPT_RATIO * len(caption):
        return f"negated caption keeps {len(negated)} of {len(caption)} characters"
    if len(exclusion) > len(caption) + 10:
        return f"exclusion caption has {len(exclusion)} characters for a caption of {len(caption)}"
    return None


def _new_words(caption: str, negated: str) -> list[str]:
    known = set(_tokens(caption)) | ALLOWED_ADDED_WORDS
    return [t for t in _tokens(negated) if t not in known and not is_negation_word(t)]
