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
from dataclasses import dataclass
from typing import Iterable

from ccneg_build.options.flags import ConfigError

#: Ratio of the paper's split (40,000 eval of 228,246): the default eval fraction.
PAPER_EVAL_FRACTION = 0.175


@dataclass(frozen=True)
class EvalSize:
    """Either an exact number of eval rows or a fraction of accepted rows."""

    count: int | None = None
    fraction: float | None = None

    @classmethod
    def parse(cls, text: str | int | float) -> "EvalSize":
        """``"2000"`` -> exactly 2,000 rows; ``"0.1"`` -> 10 % of rows; ``"0"`` -> none.

        A fraction lies strictly between 0 and 1 and a count is a whole number written
        without a decimal point: ``"1.0"`` could mean one row or every row, so it is refused.
        """
        raw = str(text).strip()
        if raw.isascii() and raw.isdigit():
            return cls(count=int(raw))
        usage = f"--eval-size {raw!r}: give a whole number of rows (e.g. 2000), a fraction between 0 and 1 (e.g. 0.1) or 0 for none"
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(usage) from None
        if value == 0:
            return cls(count=0)
        if not 0 < value < 1:  # also NaN, infinities, negatives, 1.0, 2000.0
            if value == 1:
                raise ConfigError(f"--eval-size {raw!r} is ambiguous (one row or every row?); "
                                  "give 1 for one row or a fraction below 1")
            raise ConfigError(usage)
        return cls(fraction=value)

    def describe(self) -> str:
        return f"{self.count} rows" if self.count is not None else f"{self.fraction:g} of rows"


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
