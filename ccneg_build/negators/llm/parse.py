"""Schema validation of each stage's answer: text in, typed value or a reason code out.

Pure functions, no I/O: every backend's answers are judged by the same code. Reason codes
(``llm_*``) end up in ``rejected/*.parquet`` next to the raw answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ccneg_core.record import Decomposition, Relation

# Reason codes of this module (documented in the README's LLM section).
EMPTY = "llm_empty_response"
INVALID_JSON = "llm_invalid_json"
WRONG_SHAPE = "llm_wrong_shape"
NO_RELATION = "llm_no_relation"

_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.DOTALL)
MAX_FIELD_CHARS = 1000


@dataclass(frozen=True)
class ParseFailure:
    """Why an answer could not be used: a reason code and one line of detail."""

    reason: str
    detail: str


def _load_object(text: str | None) -> dict[str, Any] | ParseFailure:
    """The answer's single JSON object (a surrounding code fence is tolerated)."""
    if text is None or not text.strip():
        return ParseFailure(EMPTY, "the model returned no text")
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        return ParseFailure(INVALID_JSON, f"answer is not one JSON object ({exc.msg} at char {exc.pos})")
    if not isinstance(value, dict):
        return ParseFailure(WRONG_SHAPE, f"expected a JSON object, got {type(value).__name__}")
    return value


def _text_field(obj: dict[str, Any], name: str) -> str | ParseFailure:
    value = obj.get(name)
    if not isinstance(value, str) or not value.strip():
        return ParseFailure(WRONG_SHAPE, f"field {name!r} must be a non-empty string")
    if len(value) > MAX_FIELD_CHARS:
        return ParseFailure(WRONG_SHAPE, f"field {name!r} is {len(value)} characters long")
    return " ".join(value.split())


def _relation(item: Any, index: int) -> Relation | ParseFailure:
    """One pair, as {"object", "predicate"} or as the paper's two-element list."""
    if isinstance(item, (list, tuple)) and len(item) == 2:
        item = {"object": item[0], "predicate": item[1]}
    if not isinstance(item, dict):
        return ParseFailure(WRONG_SHAPE, f"pair {index} is not an object with 'object' and 'predicate'")
    obj = _text_field(item, "object")
    if isinstance(obj, ParseFailure):
        return ParseFailure(WRONG_SHAPE, f"pair {index}: {obj.detail}")
    predicate = item.get("predicate")
    if not isinstance(predicate, str) or len(predicate) > MAX_FIELD_CHARS:
        return ParseFailure(WRONG_SHAPE, f"pair {index}: field 'predicate' must be a string")
    return Relation(object=obj, predicate=" ".join(predicate.split()))


def parse_decomposition(text: str | None) -> Decomposition | ParseFailure:
    """Stage 1: ``{"subject": str, "object-predicate-pairs": [...]}``, at least one pair."""
    obj = _load_object(text)
    if isinstance(obj, ParseFailure):
        return obj
    subject = _text_field(obj, "subject")
    if isinstance(subject, ParseFailure):
        return subject
    pairs = obj.get("object-predicate-pairs", obj.get("object_predicate_pairs"))
    if not isinstance(pairs, list):
        return ParseFailure(WRONG_SHAPE, "field 'object-predicate-pairs' must be a list")
    relations: list[Relation] = []
    for index, item in enumerate(pairs):
        relation = _relation(item, index)
        if isinstance(relation, ParseFailure):
            return relation
        relations.append(relation)
    if not relations:
        return ParseFailure(NO_RELATION, f"no object is linked to the subject {subject!r}")
    return Decomposition(subject=subject, relations=tuple(relations))


def parse_sentences(text: str | None) -> tuple[str, str] | ParseFailure:
    """Stage 2: ``{"negative-prompt": str, "exclusion-prompt": str}``."""
    obj = _load_object(text)
    if isinstance(obj, ParseFailure):
        return obj
    negated = _text_field(obj, "negative-prompt")
    if isinstance(negated, ParseFailure):
        return negated
    exclusion = _text_field(obj, "exclusion-prompt")
    if isinstance(exclusion, ParseFailure):
        return exclusion
    return negated, exclusion


def parse_string_list(text: str | None, field: str, max_items: int) -> list[str] | ParseFailure:
    """``{field: [str, ...]}`` with at most ``max_items`` non-empty strings (spaces collapsed).

    The negbench style's answers (absent objects, paraphrases) have this shape; what the strings
    must say is judged by the caller's rules, like every other output.
    """
    obj = _load_object(text)
    if isinstance(obj, ParseFailure):
        return obj
    items = obj.get(field)
    if not isinstance(items, list):
        return ParseFailure(WRONG_SHAPE, f"field {field!r} must be a list of strings")
    if len(items) > max_items:
        return ParseFailure(WRONG_SHAPE, f"field {field!r} has {len(items)} items (at most {max_items})")
    values: list[str] = []
    for index, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            return ParseFailure(WRONG_SHAPE, f"item {index} of {field!r} must be a non-empty string")
        if len(item) > MAX_FIELD_CHARS:
            return ParseFailure(WRONG_SHAPE, f"item {index} of {field!r} is {len(item)} characters long")
        values.append(" ".join(item.split()))
    return values
