"""A provider written the documented way: one module, registered with one line at test time.

It answers from a script instead of a server (so the test shows what the registry, the
engine, the cache and ``--fallback`` add, not HTTP): the caption "a dog on a couch" gets a
faithful answer; every other caption gets an answer about a couch it does not mention,
which the shared filter rejects.
"""

from __future__ import annotations

import json
from typing import Any

from ccneg_build.negators.llm.backend import LLMBackend
from ccneg_build.negators.llm.messages import ChatRequest, Completion


class ScriptedBackend(LLMBackend):
    name = "scripted"

    def __init__(self, model: str | None, params: dict[str, Any], *, base_url: str | None = None,
                 timeout: float = 60.0) -> None:
        super().__init__(model or "scripted-1", params)

    async def complete(self, request: ChatRequest, timeout: float) -> Completion:
        caption_turn = request.turns[-1][1]
        if request.stage == "relation_parsing":
            subject = "dog" if "a dog on a couch" in caption_turn else "thing"
            answer: dict[str, Any] = {"subject": subject,
                                      "object-predicate-pairs": [{"object": "couch", "predicate": "on"}]}
        else:
            answer = {"negative-prompt": "a dog not on a couch", "exclusion-prompt": "a dog"}
        return Completion(json.dumps(answer), tokens_in=len(caption_turn) // 4, tokens_out=20)
