"""How a choice among scored options is credited when scores tie exactly.

Every choice task (true vs negated caption, multiple choice, caption pairs) picks the option with
the highest score, and benchmarks disagree on what an exact tie at the top is worth:

- ``argmax``: the first option among the tied maxima wins, as ``numpy.argmax`` / ``torch.argmax``
  do. The released CC-Neg loop and NegBench's MCQ code score this way, so with the true caption
  at index 0 a tie counts as *correct* there.
- ``wrong``: only a strict win counts (SugarCREPE's ``>``).
- ``half``: the credit is shared among the tied options (1/k each for k tied options).

``--tie-rule official`` means the benchmark's own rule; ``wrong`` and ``half`` override it so that
numbers from different benchmarks can be compared under one rule. Exact ties are real: two
captions that differ only after a text encoder's context window tokenize identically.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

#: what a user may ask for on the command line
TieRule = Literal["official", "wrong", "half"]
TIE_RULES: tuple[str, ...] = ("official", "wrong", "half")
#: what a rule means once the benchmark's official rule is known
ResolvedTieRule = Literal["argmax", "wrong", "half"]
RESOLVED_TIE_RULES: tuple[str, ...] = ("argmax", "wrong", "half")


def resolve_tie_rule(rule: str, official: ResolvedTieRule) -> ResolvedTieRule:
    """The rule to apply: the benchmark's ``official`` one, or the user's override."""
    if rule == "official":
        return official
    if rule in ("wrong", "half"):
        return rule  # type: ignore[return-value]
    raise ValueError(f"unknown tie rule {rule!r}; choose one of {', '.join(TIE_RULES)}")


@dataclass(frozen=True)
class ChoiceCredit:
    """Per-sample outcome of a choice among options."""

    #: credit in [0, 1] under the rule that was applied
    credit: np.ndarray
    #: the correct option shares the top score with at least one other option
    tied: np.ndarray
    #: the option the rule picks (for ``half``: the first of the tied maxima)
    chosen: np.ndarray


def credit_choices(scores: np.ndarray, correct: np.ndarray, rule: ResolvedTieRule) -> ChoiceCredit:
    """Credit each row of ``scores`` (n samples x k options) whose right answer is ``correct[i]``.

    Ties are exact equality of the scores as computed; no tolerance is applied, because the
    published numbers were computed without one.
    """
    scores = np.asarray(scores)
    correct = np.asarray(correct, dtype=np.int64)
    if scores.ndim != 2 or scores.shape[0] != correct.shape[0]:
        raise ValueError(f"scores must be (n, k) with n == len(correct); got {scores.shape} and {correct.shape}")
    n = scores.shape[0]
    if n == 0:
        empty = np.zeros(0)
        return ChoiceCredit(credit=empty, tied=empty.astype(bool), chosen=empty.astype(np.int64))
    top = scores.max(axis=1, keepdims=True)
    at_top = scores == top
    n_top = at_top.sum(axis=1)
    correct_at_top = at_top[np.arange(n), correct]
    tied = correct_at_top & (n_top > 1)
    chosen = scores.argmax(axis=1)
    if rule == "argmax":
        credit = (chosen == correct).astype(float)
    elif rule == "wrong":
        credit = (correct_at_top & (n_top == 1)).astype(float)
    elif rule == "half":
        credit = np.where(correct_at_top, 1.0 / n_top, 0.0)
    else:
        raise ValueError(f"unknown resolved tie rule {rule!r}; one of {', '.join(RESOLVED_TIE_RULES)}")
    return ChoiceCredit(credit=credit, tied=tied, chosen=chosen)


def accuracy_under_each_rule(scores: np.ndarray, correct: np.ndarray) -> dict[str, float | None]:
    """Mean credit under every rule, so that a result shows how much its ties moved it."""
    out: dict[str, float | None] = {}
    for rule in RESOLVED_TIE_RULES:
        credit = credit_choices(scores, correct, rule).credit  # type: ignore[arg-type]
        out[rule] = float(credit.mean()) if credit.size else None
    return out
