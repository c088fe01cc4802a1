"""Splits depend only on ids: exact counts are exact, fractions are close, order never matters."""

from __future__ import annotations

import random

import pytest

from ccneg_build.splits import EvalSize
from ccneg_build.options.flags import ConfigError
from ccneg_core.record import make_id
from ccneg_build.splits import EVAL, TRAIN, SplitAssigner

IDS = [make_id("corpus.tsv", i, f"caption {i}") for i in range(5000)]


def _assign(size: EvalSize, ids: list[str]) -> dict[str, str]:
    assigner = SplitAssigner(size)
    assigner.prepare(iter(ids))
    return {i: assigner.split_of(i) for i in ids}


def test_exact_count_gives_exactly_n_and_ignores_order() -> None:
    first = _assign(EvalSize(count=321), IDS)
    shuffled = IDS[:]
    random.Random(7).shuffle(shuffled)
    second = _assign(EvalSize(count=321), shuffled)
    assert sum(s == EVAL for s in first.values()) == 321
    assert first == second


def test_fraction_is_close_and_per_id() -> None:
    splits = _assign(EvalSize(fraction=0.2), IDS)
    share = sum(s == EVAL for s in splits.values()) / len(IDS)
    assert 0.17 < share < 0.23
    # a row's split does not depend on which other rows exist
    alone = _assign(EvalSize(fraction=0.2), IDS[:10])
    assert all(alone[i] == splits[i] for i in IDS[:10])


def test_zero_and_oversized_counts() -> None:
    assert set(_assign(EvalSize(count=0), IDS[:50]).values()) == {TRAIN}
    assert set(_assign(EvalSize(count=100), IDS[:50]).values()) == {EVAL}


def test_exact_count_needs_prepare() -> None:
    with pytest.raises(RuntimeError, match="prepare"):
        SplitAssigner(EvalSize(count=5)).split_of(IDS[0])


@pytest.mark.parametrize("text,expected", [
    ("2000", EvalSize(count=2000)), ("0.1", EvalSize(fraction=0.1)), ("0", EvalSize(count=0)),
    ("1", EvalSize(count=1)), ("40000", EvalSize(count=40000)),
])
def test_eval_size_parsing(text: str, expected: EvalSize) -> None:
    assert EvalSize.parse(text) == expected


@pytest.mark.parametrize("text", ["-1", "ten", "12.5"])
def test_eval_size_rejects_nonsense(text: str) -> None:
    with pytest.raises(ConfigError, match="--eval-size"):
        EvalSize.parse(text)
