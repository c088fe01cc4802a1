"""What every model adapter offers the feature encoder (and the trainer).

An adapter hides how a model family loads, preprocesses and tokenises; the rest of
ccneg-bench only sees four things: a picklable image transform (run in DataLoader
workers), ``encode_images`` on a batch of transformed pixels, ``encode_texts`` on a list of
strings, and a ``fingerprint`` that changes whenever the features could change (used as the
feature-cache key). Features need not be normalised: :mod:`ccneg_bench.features` L2-normalises.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable

import torch

from ccneg_bench.models.weights import fingerprint_of


class ModelAdapter(ABC):
    """A CLIP-like model: two encoders into one embedding space."""

    #: the spec string it was loaded from (``open_clip:ViT-B-32``, ``hf:org/name``, ...)
    spec: str = ""
    #: False for text-only baselines: the image pipeline is skipped entirely
    needs_images: bool = True

    def __init__(self) -> None:
        self.device = torch.device("cpu")

    @abstractmethod
    def image_transform(self) -> Callable[[Any], torch.Tensor]:
        """A picklable callable PIL RGB image -> CHW float tensor (runs in DataLoader workers)."""

    @abstractmethod
    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) transformed pixels on ``self.device`` -> (B, D) features."""

    @abstractmethod
    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        """A list of B strings -> (B, D) features on ``self.device``."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Settings that identify the model in result files (never secrets)."""

    def identity(self) -> dict[str, Any]:
        """Everything that determines the features, by content (default: :meth:`describe`).

        Adapters with weights put a content hash of them here (never a path or an mtime), so
        that the feature cache can never hand one model's features to another.
        """
        return self.describe()

    def fingerprint(self) -> str:
        """A short hash of :meth:`identity`: the feature-cache key of this model."""
        return fingerprint_of(self.identity())

    #: tokens the text tower reads; a longer caption is cut (None: no token limit)
    context_length: int | None = None

    def token_lengths(self, texts: list[str]) -> list[int] | None:
        """Tokens of each text before any cut, start and end tokens included (None: not counted).

        A caption longer than :attr:`context_length` is truncated, and a negation that falls
        past the cut is invisible to the model: ``ccneg`` reports such samples as ``truncated``.
        """
        return None

    def text_input_keys(self, texts: list[str]) -> list[bytes] | None:
        """What the text tower actually reads of each text (its token ids), as a hashable key.

        Texts with equal keys get one shared feature row, so that two captions that differ only
        past the cut score *exactly* alike, as they do in a loop that encodes them at the same
        batch position (None: every distinct string is encoded on its own).
        """
        return None

    def text_lengths(self, texts: list[str]) -> list[int]:
        """Cost proxy used to batch captions of similar length together.

        Token counts (capped at the context length) where the adapter counts tokens, so that
        batches carry (almost) no padding; characters otherwise.
        """
        counts = self.token_lengths(texts) if texts else []
        if counts is None:
            return [len(t) for t in texts]
        limit = self.context_length
        return [min(c, limit) if limit else c for c in counts]

    def to(self, device: str | torch.device) -> "ModelAdapter":
        """Move the weights; adapters with a torch module override :meth:`_move`."""
        self.device = torch.device(device)
        self._move(self.device)
        return self

    def _move(self, device: torch.device) -> None:  # pragma: no cover - trivial default
        return None

    def torch_module(self) -> torch.nn.Module | None:
        """The underlying ``nn.Module`` (for the trainer), or None for non-neural baselines."""
        return None

