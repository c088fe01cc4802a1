"""The ``text:`` kind: text-only baselines that never look at the image (``text:negation-words``).

The baseline's features depend on its name and word list only, so its identity is known
without building anything. The adapter is in :mod:`ccneg_bench.models.text_baseline`.
"""

from __future__ import annotations

from typing import Any

from ccneg_bench.models.kind import ModelKind
from ccneg_bench.options import UsageError
from ccneg_core.lexicon import NEGATION_WORDS

BASELINES = ("negation-words",)


def check(name: str, pretrained: str | None = None) -> None:
    """Raise ``UsageError`` for an unknown baseline name."""
    if name not in BASELINES:
        raise UsageError(f"text:{name}: unknown text baseline; known: "
                         + ", ".join(f"text:{known}" for known in BASELINES))


def identity(name: str, pretrained: str | None = None) -> dict[str, Any]:
    """What the baseline's features depend on: its name and word list."""
    return {"kind": "text", "name": name, "words": sorted(NEGATION_WORDS) + ["*n't"]}


def load(name: str, pretrained: str | None = None, device: str = "cpu", **_: Any) -> Any:
    check(name)
    from ccneg_bench.models.text_baseline import NegationWordsBaseline  # lazy: torch

    return NegationWordsBaseline(identity(name))


KIND = ModelKind(
    load=load,
    usage="text:negation-words",
    help="text-only baseline: prefers the caption without a negation word",
    check=check,
    identity=identity,
)
