"""Top-k credit of ranked candidates under a tie rule (CREPE, retrieval, zero-shot acc5).

The tie rules themselves are defined once in :mod:`ccneg_bench.tasks.ties`; this module
extends them from "pick the best option" to "is a right answer among the top k":

- ``argmax``: candidates are ordered by score, ties in gallery order (a stable sort), so a tied
  candidate with a lower index comes first. For k = 1 and one right answer this is exactly
  ``argmax`` (first index wins).
- ``wrong``: every wrong candidate tied with the best right one is ranked ahead of it.
- ``half``: the expected credit when ties are broken uniformly at random.

With one right answer and k = 1 all three equal :func:`~ccneg_bench.tasks.ties.credit_choices`.
Scores of padding entries (ragged candidate lists) must be ``-inf``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ccneg_bench.tasks.ties import RESOLVED_TIE_RULES

#: ``positive_of(first, last)``: the bool mask of right answers of queries first..last-1
PositiveFn = Callable[[int, int], np.ndarray]


@dataclass(frozen=True)
class RankOutcome:
    """Per query: the credit for each k, the rank of its best right answer, and whether ties moved it."""

    credit: dict[int, np.ndarray]
    #: 0-based rank under the rule (for ``half``: the expected rank)
    rank: np.ndarray
    #: the best right answer is tied with at least one wrong candidate
    tied: np.ndarray


def rank_block(scores: np.ndarray, positive: np.ndarray, ks: Sequence[int], rule: str) -> RankOutcome:
    """Rank the right answers (``positive``, bool, same shape as ``scores``) of each query row."""
    if rule not in RESOLVED_TIE_RULES:
        raise ValueError(f"unknown resolved tie rule {rule!r}; one of {', '.join(RESOLVED_TIE_RULES)}")
    scores = np.asarray(scores)
    positive = np.asarray(positive, dtype=bool)
    best = np.where(positive, scores, -np.inf).max(axis=1, keepdims=True)
    negative = ~positive
    greater = ((scores > best) & negative).sum(axis=1)
    at_best = scores == best
    tied_negative = at_best & negative
    n_tied = tied_negative.sum(axis=1)
    n_tied_positive = (at_best & positive).sum(axis=1)
    if rule == "argmax":
        first = np.argmax(at_best & positive, axis=1)
        before = (tied_negative & (np.arange(scores.shape[1])[None, :] < first[:, None])).sum(axis=1)
        rank = (greater + before).astype(np.float64)
        credit = {k: (rank < k).astype(np.float64) for k in ks}
    elif rule == "wrong":
        rank = (greater + n_tied).astype(np.float64)
        credit = {k: (rank < k).astype(np.float64) for k in ks}
    else:
        # a random order of n_tied wrong and p right candidates: P(a right one in the first m)
        rank = greater + n_tied / (n_tied_positive + 1.0)
        credit = {}
        for k in ks:
            m = k - greater
            miss = np.ones(len(scores))
            for i in range(int(max(k, 0))):
                step = i < m
                miss = np.where(step, miss * np.clip(n_tied - i, 0, None) / np.maximum(n_tied + n_tied_positive - i, 1), miss)
            credit[k] = np.where(m <= 0, 0.0, np.where(m > n_tied, 1.0, 1.0 - miss))
    return RankOutcome(credit=credit, rank=rank, tied=n_tied > 0)


def rank_queries(queries: np.ndarray, gallery: np.ndarray, positive_of: PositiveFn, ks: Sequence[int],
                 rule: str, block_cells: int = 2 ** 22) -> RankOutcome:
    """:func:`rank_block` over ``queries @ gallery.T`` in row blocks (bounded memory for any size).

    ``positive_of(first, last)`` returns the bool mask of right answers of queries first..last-1.
    Equal gallery vectors (one image in two rows, two classes with the same prompts) are scored
    once and copied, so that they tie exactly: a matrix product may round equal columns differently.
    """
    unique, inverse = np.unique(gallery, axis=0, return_inverse=True) if len(gallery) else (gallery, np.zeros(0, np.int64))
    inverse = np.asarray(inverse).reshape(-1)
    block = max(1, block_cells // max(1, len(gallery)))
    parts: list[RankOutcome] = []
    for first in range(0, len(queries), block):
        last = min(first + block, len(queries))
        scores = (queries[first:last] @ unique.T)[:, inverse]
        parts.append(rank_block(scores, positive_of(first, last), ks, rule))
    if not parts:
        empty = np.zeros(0)
        return RankOutcome(credit={k: empty for k in ks}, rank=empty, tied=empty.astype(bool))
    return RankOutcome(credit={k: np.concatenate([p.credit[k] for p in parts]) for k in ks},
                       rank=np.concatenate([p.rank for p in parts]), tied=np.concatenate([p.tied for p in parts]))

