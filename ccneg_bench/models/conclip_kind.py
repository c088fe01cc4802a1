"""The ``conclip:PATH`` kind: a released CoN-CLIP checkpoint, known by its bytes.

The architecture is read off the weights when the model is built
(:mod:`ccneg_bench.models.conclip`), so the file's SHA-256 is all its features depend on.
"""

from __future__ import annotations

import os
from typing import Any

from ccneg_bench.models.kind import ModelKind
from ccneg_bench.models.weights import file_sha256
from ccneg_bench.options import UsageError


def check(path: str, pretrained: str | None) -> None:
    if not os.path.isfile(path):
        raise UsageError(f"--model conclip:{path}: checkpoint file not found")


def identity(path: str, pretrained: str | None = None) -> dict[str, Any]:
    """A released CoN-CLIP checkpoint is its bytes."""
    return {"kind": "conclip", "weights_sha256": file_sha256(path)}


def load(path: str, pretrained: str | None = None, device: str = "cpu", **_: Any) -> Any:
    from ccneg_bench.models.checkpoints import CheckpointError  # lazy: torch
    from ccneg_bench.models.conclip import build_conclip  # lazy: torch

    if not os.path.isfile(path):  # before hashing it: the same message as a bad checkpoint
        raise CheckpointError(f"{path}: checkpoint file not found")
    return build_conclip(path, identity(path), device=device)


KIND = ModelKind(
    load=load,
    usage="conclip:PATH",
    help='released CoN-CLIP checkpoint (.pt holding {"model": OpenAI-CLIP state dict})',
    check=check,
    identity=identity,
)
