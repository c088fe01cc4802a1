"""What goes to a provider and what comes back: one request of one stage, one answer.

Its own module because the prompts build requests, the cache stores answers and every
provider client speaks both, and none of them should import another to get these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ChatRequest:
    """One prompt for one stage: system instructions plus few-shot and final user turns."""

    stage: str  # "relation_parsing" or "sentence_formation"
    system: str
    turns: tuple[tuple[str, str], ...]  # (role, text) with role "user" or "assistant"
    schema: dict[str, Any] = field(hash=False, compare=False, default_factory=dict)
    schema_name: str = "answer"
    #: hash of system + all turns but the last + schema, when the caller knows it (cache keys)
    prefix_digest: str = ""

    def prompt_chars(self) -> int:
        """Characters sent, for a cheap token estimate before the answer reports real counts."""
        return len(self.system) + sum(len(text) for _, text in self.turns)


@dataclass(frozen=True)
class Completion:
    """A provider's answer: its text and the tokens it reports (0 when it reports none)."""

    text: str
    tokens_in: int = 0
    tokens_out: int = 0
