"""Tokenizing each caption once for an open_clip model: uncut counts, cut ids, batch tensors.

Scoring needs three views of a caption's tokens: the uncut count (is it longer than the context,
so that the model never sees its end?), the ids the text tower actually reads (captions that
read alike share one feature row) and the padded batch tensor. Asking the tokenizer for each
would tokenize every caption three or four times, and CLIP's BPE tokenizer (with its text
cleaning) costs about as much per caption as a GPU spends encoding it. So the CLIP tokenizer's
output is memoised here and the three views are derived from it, exactly as open_clip's own
``SimpleTokenizer.__call__`` cuts: keep the first ``context_length`` ids and make the last one
the end-of-text id. Other tokenizers (Hugging Face ones wrapped by open_clip, custom reduction
strategies) are asked directly.
"""

from __future__ import annotations

from typing import Any

import torch

#: captions whose tokens are remembered (the memo is cleared when full: bounded memory)
MEMO_LIMIT = 1 << 18


class OpenClipTokens:
    """The token views of one open_clip tokenizer (see module docstring)."""

    def __init__(self, tokenizer: Any) -> None:
        from open_clip.tokenizer import SimpleTokenizer  # lazy: open_clip (seconds to import)

        self.tokenizer = tokenizer
        self.context_length: int | None = getattr(tokenizer, "context_length", None)
        self.plain = (isinstance(tokenizer, SimpleTokenizer) and getattr(tokenizer, "reduction_fn", None) is None
                      and bool(self.context_length))
        self._memo: dict[str, list[int]] = {}

    def uncut(self, texts: list[str]) -> list[list[int]]:
        """Start id + BPE ids + end id of each text, before any cut (plain CLIP tokenizer only)."""
        out = []
        for text in texts:
            ids = self._memo.get(text)
            if ids is None:
                ids = [self.tokenizer.sot_token_id, *self.tokenizer.encode(text), self.tokenizer.eot_token_id]
                if len(self._memo) >= MEMO_LIMIT:
                    self._memo.clear()
                self._memo[text] = ids
            out.append(ids)
        return out

    def _cut(self, ids: list[int]) -> list[int]:
        assert self.context_length
        if len(ids) <= self.context_length:
            return ids
        return [*ids[:self.context_length - 1], self.tokenizer.eot_token_id]

    def lengths(self, texts: list[str]) -> list[int] | None:
        """Uncut token counts, start and end included (None when this tokenizer cannot say)."""
        if self.plain:
            return [len(ids) for ids in self.uncut(texts)]
        from open_clip.tokenizer import HFTokenizer  # lazy: open_clip (seconds to import)

        if isinstance(self.tokenizer, HFTokenizer) and getattr(self.tokenizer, "tokenizer_mode", None) != "clips":
            cleaned = [self.tokenizer.clean_fn(text) for text in texts]
            return [len(ids) for ids in self.tokenizer.tokenizer(cleaned, truncation=False)["input_ids"]] if cleaned else []
        return None

    def batch(self, texts: list[str]) -> torch.Tensor:
        """The (B, context_length) id tensor the model reads, as ``tokenizer(texts)`` builds it."""
        if not self.plain:
            return self.tokenizer(list(texts))
        assert self.context_length
        result = torch.zeros(len(texts), self.context_length, dtype=torch.long)
        for row, ids in enumerate(self.uncut(texts)):
            cut = self._cut(ids)
            result[row, :len(cut)] = torch.tensor(cut, dtype=torch.long)
        return result

    def keys(self, texts: list[str]) -> list[bytes]:
        """What the text tower reads of each text, hashable: equal keys, equal features."""
        if self.plain:
            return [torch.tensor(self._cut(ids), dtype=torch.long).numpy().tobytes() for ids in self.uncut(texts)]
        return [row.numpy().tobytes() for row in self.batch(texts)] if texts else []
