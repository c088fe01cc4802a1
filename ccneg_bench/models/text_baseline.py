"""``text:negation-words``: a text-only baseline that never looks at the image.

It prefers whichever caption has no negation word. Its score on ``ccneg`` (near 100%) shows
how one-sided the original benchmark is: the negated caption is always the wrong one. On
``ccneg-balanced`` the other side (distractor image, negated caption correct) drops it to about
50%. It is expressed as an embedding model so that every task treats it like any other:
every image maps to e1, a caption without a negation word to e1 and one with a negation word
to e2, so cos(I, c) is 1 or 0. The ``text:`` spec kind (check, identity) is
:mod:`ccneg_bench.models.text_kind`.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from ccneg_bench.models.base import ModelAdapter
from ccneg_core.lexicon import has_negation


class _ConstantPixels:
    """Picklable transform: the baseline needs no pixels, so nothing is decoded."""

    def __call__(self, image: Any) -> torch.Tensor:
        return torch.zeros(1)


class NegationWordsBaseline(ModelAdapter):
    """Scores 1 for captions without a negation word and 0 for captions with one."""

    needs_images = False

    def __init__(self, description: dict[str, Any]) -> None:
        super().__init__()
        self.spec = "text:negation-words"
        self._description = description

    def image_transform(self) -> Callable[[Any], torch.Tensor]:
        return _ConstantPixels()

    def describe(self) -> dict[str, Any]:
        """Its name and word list (given by the ``text:`` kind, which knows them without building this)."""
        return dict(self._description)

    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        features = torch.zeros(pixels.shape[0], 2)
        features[:, 0] = 1.0
        return features

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        features = torch.zeros(len(texts), 2)
        for row, text in enumerate(texts):
            features[row, 1 if has_negation(text) else 0] = 1.0
        return features
