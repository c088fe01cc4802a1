"""Deterministic train/eval splits by id hash, never by position.

A row's split depends only on its id (and the requested eval size), so it is the same
for every engine, worker count, shard size and rerun, and a published id list under
``OUT/splits/`` states it explicitly (evaluating on training rows by mistake is a known
failure of position-based splits).

* a fraction ``f``: a row is in eval when its hash falls in the lowest ``f`` of the range;
* an exact count ``N``: the ``N`` accepted rows with the lowest hashes are eval. Finding
  them keeps only ``N`` hashes in memory (a bounded heap), whatever the input size.
"""

from __future__ import annotations

import hashlib
import heapq
from typing import Iterable

from ccneg_build.config import EvalSize

TRAIN, EVAL = "train", "eval"
SPLITS = (TRAIN, EVAL)
_SALT = b"ccneg-split\x1f"
_RANGE = 1 << 64


def split_hash(row_id: str) -> int:
    """A 64-bit hash of an id, independent of the negation seed."""
    return int.from_bytes(hashlib.blake2b(_SALT + row_id.encode(), digest_size=8).digest(), "big")


class SplitAssigner:
    """Says which split an id belongs to, once prepared on the ids of accepted rows."""

    def __init__(self, size: EvalSize):
        self.size = size
        self._eval_ids: set[str] | None = None

    @property
    def needs_ids(self) -> bool:
        """An exact count needs one pass over the accepted ids before assigning."""
        return self.size.count is not None

    def prepare(self, ids: Iterable[str]) -> None:
        """Choose the eval ids for an exact count: the ``count`` lowest hashes."""
        if self.size.count is None:
            return
        lowest = heapq.nsmallest(self.size.count, ((split_hash(i), i) for i in ids))
        self._eval_ids = {row_id for _, row_id in lowest}

    def split_of(self, row_id: str) -> str:
        if self.size.count is not None:
            if self._eval_ids is None:
                raise RuntimeError("SplitAssigner.prepare() must see the ids before an exact eval count")
            return EVAL if row_id in self._eval_ids else TRAIN
        fraction = self.size.fraction or 0.0
        return EVAL if split_hash(row_id) < fraction * _RANGE else TRAIN
