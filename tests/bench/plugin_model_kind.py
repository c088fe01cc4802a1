"""A third-party-style model kind, registered at test time: shows how a kind plugs in.

``short:captions`` prefers the shorter caption and never looks at the image. Negated captions
are longer than their originals, so on ``ccneg`` it is a second probe of how one-sided the
benchmark is. Its one :class:`~ccneg_bench.models.kind.ModelKind` gives the registry everything:
the loader, a check that refuses any other body before anything loads, the identity that keys
the feature cache (so a warm rerun never builds it), a note, and its ``--help`` line.
:data:`BUILDS` lists every build in this process, so a test can count them.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from ccneg_bench.models.base import ModelAdapter
from ccneg_bench.models.kind import ModelKind, Note
from ccneg_bench.options import UsageError

BUILDS: list[str] = []
#: characters at which a caption's score has fallen to 1/sqrt(2)
SCALE = 20.0


class _NoPixels:
    """Picklable transform: the model never looks at the image."""

    def __call__(self, image: Any) -> torch.Tensor:
        return torch.zeros(1)


class ShortCaptions(ModelAdapter):
    """Every image is e1; a caption of L characters is (1, L / SCALE): cos falls with length."""

    needs_images = False

    def __init__(self, identity: dict[str, Any]) -> None:
        super().__init__()
        self._identity = identity

    def image_transform(self) -> Callable[[Any], torch.Tensor]:
        return _NoPixels()

    def describe(self) -> dict[str, Any]:
        return dict(self._identity)

    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        features = torch.zeros(pixels.shape[0], 2)
        features[:, 0] = 1.0
        return features

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        return torch.tensor([[1.0, len(text) / SCALE] for text in texts])


def check(body: str, pretrained: str | None) -> None:
    if body != "captions":
        raise UsageError(f"--model short:{body}: unknown; the one short model is short:captions")


def identity(body: str, pretrained: str | None = None) -> dict[str, Any]:
    return {"kind": "short", "name": body, "scale": SCALE}


def notes(body: str, pretrained: str | None) -> list[Note]:
    return [("note", f"short:{body} never looks at the image")]


def load(body: str, pretrained: str | None = None, device: str = "cpu") -> ShortCaptions:
    check(body, pretrained)
    BUILDS.append(body)
    return ShortCaptions(identity(body))


KIND = ModelKind(load=load, usage="short:captions", help="prefers the shorter caption, never looks at the image",
                 check=check, identity=identity, notes=notes)
