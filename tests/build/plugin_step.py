"""A third-party-style pipeline step, registered at test time: shows how a step plugs in.

It drops captions that mention a word from a blocklist (stage "blocklist") and counts the
words it looked at, so a test can see both its rejections and its counter travel to the
rejected files, the manifest and the end-of-run summary.
"""

from __future__ import annotations

from typing import Any, Sequence

from ccneg_core.record import Rejection
from ccneg_build.steps.base import BatchContext, Item

BLOCKED = frozenset({"dog"})


class BlocklistStep:
    name = "blocklist"

    def __init__(self) -> None:
        self._words = 0

    def process(self, items: Sequence[Item], context: BatchContext) -> list[Item | Rejection]:
        results: list[Item | Rejection] = []
        for item in items:
            words = (item.row.caption or "").lower().split()
            self._words += len(words)
            hit = BLOCKED.intersection(words)
            results.append(Rejection("blocked_word", f"mentions {sorted(hit)[0]!r}", stage="blocklist")
                           if hit else item)
        return results

    def take_stats(self) -> dict[str, int]:
        counts, self._words = ({"blocklist.words_seen": self._words} if self._words else {}), 0
        return counts


def make_step(config: Any, negator: Any) -> BlocklistStep:
    return BlocklistStep()
