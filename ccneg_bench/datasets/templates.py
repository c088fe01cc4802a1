"""Class names and prompt templates of zero-shot classification (``zeroshot``, ``zeroshot-negated``).

Templates are what CLIP_benchmark accepts: a JSON list of strings with a ``{c}`` placeholder
(filled with ``template.format(c=name)``), or a dict from class name to that class's own prompts
(CuPL style). ``zeroshot`` defaults to one affirmative prompt and ``zeroshot-negated`` to its
negation, the pair CoN-CLIP's negated zero-shot measure uses; pass CLIP_benchmark's per-dataset
template list with ``--templates`` to reproduce its numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Union

DEFAULT_TEMPLATES: tuple[str, ...] = ("this is a photo of a {c}.",)
DEFAULT_NEGATED_TEMPLATES: tuple[str, ...] = ("this is not a photo of a {c}.",)

Templates = Union[list[str], dict[str, list[str]]]


def read_templates(path: str, option: str = "--templates") -> Templates:
    """A template file: a JSON list of ``{c}`` strings or a {class name: [prompts]} dict."""
    try:
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle)
    except OSError as err:
        raise ValueError(f"{option} {path}: cannot read ({err.strerror or err})") from None
    except ValueError as err:
        raise ValueError(f"{option} {path}: not JSON ({err})") from None
    if isinstance(value, list) and value and all(isinstance(t, str) for t in value):
        for template in value:
            try:
                template.format(c="x")
            except (KeyError, IndexError, ValueError) as err:
                raise ValueError(f"{option} {path}: template {template!r} must use only the {{c}} placeholder ({err})") from None
            if "{c}" not in template:
                raise ValueError(f"{option} {path}: template {template!r} has no {{c}} placeholder")
        return list(value)
    if isinstance(value, dict) and value and all(
            isinstance(v, list) and v and all(isinstance(t, str) for t in v) for v in value.values()):
        return {str(k): list(v) for k, v in value.items()}
    raise ValueError(f"{option} {path}: expected a non-empty JSON list of templates with {{c}}, "
                     "or a dict from class name to a list of prompts")


def _expand(templates: Templates, names: list[str], option: str) -> list[list[str]]:
    if isinstance(templates, dict):
        missing = [n for n in names if n not in templates]
        if missing:
            raise ValueError(f"{option}: no prompts for class(es) {', '.join(repr(m) for m in missing[:5])}"
                             + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
        return [list(templates[n]) for n in names]
    return [[t.format(c=n) for t in templates] for n in names]


@dataclass
class ClassPrompts:
    """Per class, the affirmative and the negated prompts (already filled in)."""

    names: list[str]
    affirmative: list[list[str]] = field(default_factory=list)
    negated: list[list[str]] = field(default_factory=list)

    @classmethod
    def build(cls, names: list[str], templates: Templates | None = None,
              negated: Templates | None = None) -> "ClassPrompts":
        return cls(names=list(names),
                   affirmative=_expand(templates or list(DEFAULT_TEMPLATES), names, "--templates"),
                   negated=_expand(negated or list(DEFAULT_NEGATED_TEMPLATES), names, "--negated-templates"))

    def all_prompts(self) -> list[str]:
        return [p for group in (self.affirmative, self.negated) for prompts in group for p in prompts]
