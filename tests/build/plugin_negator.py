"""A small third-party-style backend, registered at test time: shows how a backend plugs in.

It negates the last "on/in/at/with X" of a caption with "without X" and removes it for
the exclusion. Like an LLM backend it is built with ``from_config`` (getting a state
folder under OUT) and reads a key from the environment, which must never reach the
manifest or the card.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Sequence

from ccneg_core.record import Decomposition, Generator, Negation, Rejection, Relation, SourceRow

_LINK = re.compile(r"\b(on|in|at|with) (an? |the )?([a-z]+)\b")


class SuffixNegator:
    backend = "suffix"

    def __init__(self, seed: int, state_dir: Path, options: dict[str, Any]):
        self.seed = seed
        self.state_dir = state_dir
        self.options = options
        self.api_key = os.environ.get("SUFFIX_API_KEY", "")
        state_dir.mkdir(parents=True, exist_ok=True)
        self.generator = Generator(backend="suffix", model=str(options.get("model", "suffix-1")), version="test")

    @classmethod
    def from_config(cls, config: Any, state_dir: Path) -> "SuffixNegator":
        return cls(config.seed, state_dir, dict(config.options))

    def negate_batch(self, rows: Sequence[SourceRow]) -> list[Negation | Rejection]:
        return [self._one(row) for row in rows]

    def _one(self, row: SourceRow) -> Negation | Rejection:
        caption = row.caption or ""
        matches = list(_LINK.finditer(caption))
        if not matches:
            return Rejection(reason="no_relation", detail="no on/in/at/with phrase", generator=self.generator)
        match = matches[-1]
        negated = caption[: match.start()] + f"without {match.group(2) or ''}{match.group(3)}" + caption[match.end():]
        exclusion = (caption[: match.start()] + caption[match.end():]).strip()
        return Negation(
            decomposition=Decomposition(subject=caption.split()[0], relations=(Relation(match.group(3), match.group(1)),)),
            chosen=0,
            negated_caption=negated,
            exclusion_caption=exclusion,
            generator=self.generator,
            prompt_version="suffix-v1",
        )

    def take_stats(self) -> dict[str, int]:
        return {}

    def describe(self) -> dict[str, Any]:
        return {"backend": "suffix", "model": self.generator.model, "api_key": self.api_key, "seed": self.seed}

    def close(self) -> None:
        pass
