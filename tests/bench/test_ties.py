"""The tie rules on hand-made scores where every rule gives a different answer."""

from __future__ import annotations

import numpy as np
import pytest

from ccneg_bench.tasks.ties import accuracy_under_each_rule, credit_choices, resolve_tie_rule

# rows: a clear win, a clear loss, a two-way tie with the right answer first,
# a two-way tie with the right answer second, a three-way tie, a tie that does not involve the answer
SCORES = np.array([
    [0.9, 0.1, 0.0],
    [0.1, 0.9, 0.0],
    [0.5, 0.5, 0.1],
    [0.5, 0.5, 0.1],
    [0.3, 0.3, 0.3],
    [0.1, 0.7, 0.7],
])
CORRECT = np.array([0, 0, 0, 1, 2, 0])


def test_argmax_first_index_wins() -> None:
    result = credit_choices(SCORES, CORRECT, "argmax")
    assert result.credit.tolist() == [1, 0, 1, 0, 0, 0]
    assert result.tied.tolist() == [False, False, True, True, True, False]
    assert result.chosen.tolist() == [0, 1, 0, 0, 0, 1]


def test_wrong_counts_only_strict_wins() -> None:
    assert credit_choices(SCORES, CORRECT, "wrong").credit.tolist() == [1, 0, 0, 0, 0, 0]


def test_half_shares_credit_among_tied() -> None:
    assert credit_choices(SCORES, CORRECT, "half").credit.tolist() == pytest.approx([1, 0, 0.5, 0.5, 1 / 3, 0])


def test_each_rule_reported() -> None:
    acc = accuracy_under_each_rule(SCORES, CORRECT)
    assert acc["argmax"] == pytest.approx(2 / 6)
    assert acc["wrong"] == pytest.approx(1 / 6)
    assert acc["half"] == pytest.approx((1 + 0.5 + 0.5 + 1 / 3) / 6)


def test_resolve() -> None:
    assert resolve_tie_rule("official", "argmax") == "argmax"
    assert resolve_tie_rule("half", "argmax") == "half"
    with pytest.raises(ValueError, match="unknown tie rule"):
        resolve_tie_rule("strict", "wrong")
