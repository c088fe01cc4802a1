"""Loading weights without ever executing pickled code.

``torch.load(..., weights_only=True)`` only rebuilds tensors and plain containers; a file that
needs anything else (a pickled class, a ``__reduce__`` payload) raises, and we turn that into a
one-line message that says what to do. Safetensors files never contain code.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import torch


class CheckpointError(ValueError):
    """A checkpoint could not be loaded safely or does not fit the model."""


def load_weights_file(path: str) -> Any:
    """Load a ``.safetensors`` or torch file as plain tensors/containers; refuse pickled code."""
    if not os.path.exists(path):
        raise CheckpointError(f"{path}: checkpoint file not found")
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file  # lazy: safetensors (only .safetensors files need it)

        return load_file(path, device="cpu")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        if _looks_like_pickle_refusal(err):
            raise CheckpointError(
                f"{path}: refused to load: the file carries pickled Python objects beyond tensors "
                f"and plain containers ({_first_line(err)}). ccneg never unpickles code; convert "
                "the checkpoint to a plain state dict or safetensors in a trusted environment."
            ) from None
        raise CheckpointError(f"{path}: not a readable torch checkpoint: {_first_line(err)}") from None


def _looks_like_pickle_refusal(err: Exception) -> bool:
    text = str(err)
    return "weights_only" in text or "Unsupported global" in text or "WeightsUnpickler" in text


def _first_line(err: Exception) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for line in lines:
        if "Unsupported" in line or "GLOBAL" in line:
            return line[:200]
    return (lines[0] if lines else type(err).__name__)[:200]


def extract_state_dict(obj: Any, path: str) -> dict[str, torch.Tensor]:
    """Find the state dict inside common checkpoint layouts and strip DDP prefixes."""
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model", "model_state_dict"):
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner and all(isinstance(k, str) for k in inner):
                obj = inner
                break
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(
            f"{path}: no state dict found (expected a mapping of tensors, or one under "
            "'state_dict' / 'model')"
        )
    state = dict(obj)
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def load_into(module: torch.nn.Module, state: Mapping[str, torch.Tensor], path: str) -> None:
    """``load_state_dict(strict=True)`` with a message listing missing and unexpected keys."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = sorted(
        k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape)
    )
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"missing keys ({len(missing)}): {_preview(missing)}")
        if unexpected:
            parts.append(f"unexpected keys ({len(unexpected)}): {_preview(unexpected)}")
        if mismatched:
            shapes = [f"{k} {tuple(state[k].shape)} vs model {tuple(own[k].shape)}" for k in mismatched]
            parts.append(f"shape mismatches ({len(mismatched)}): {_preview(shapes)}")
        raise CheckpointError(
            f"{path}: the state dict does not fit the model: " + "; ".join(parts)
            + ". Check the architecture (and --pretrained) matches the checkpoint."
        )
    module.load_state_dict(state, strict=True)


def _preview(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... (+{len(items) - limit} more)" if len(items) > limit else "")
