"""The trainable model: an open_clip CLIP loaded through ccneg-bench's model registry.

Training needs more than an evaluation adapter offers (the ``nn.Module``, its tokenizer, a
text encoder that keeps gradients), so this module takes the adapter ccneg-bench builds
from the same ``--model`` / ``--pretrained`` specs and exposes exactly those parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F

from ccneg_bench.train.trainable import select_trainable
from ccneg_bench.models.registry import load_model
from ccneg_bench.models.open_clip_models import can_trim_text, encode_text_trimmed


@dataclass
class TrainableClip:
    """An open_clip model with its eval transform, tokenizer and the adapter it came from."""

    model: torch.nn.Module
    transform: Callable[[Any], torch.Tensor]
    tokenizer: Any
    adapter: Any
    image_size: int

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """L2-normalised text features, with gradients; padding trimmed when exact."""
        if can_trim_text(self.model):
            features = encode_text_trimmed(self.model, tokens)
        else:
            features = self.model.encode_text(tokens)
        return F.normalize(features.float(), dim=-1)

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        """L2-normalised image features (gradients follow the tower's ``requires_grad``)."""
        return F.normalize(self.model.encode_image(pixels).float(), dim=-1)

    def trainable_parameters(self) -> list[tuple[str, torch.nn.Parameter]]:
        return [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]


def load_trainable(spec: str, pretrained: str | None, trainable: str = "text") -> TrainableClip:
    """Build the model of ``spec`` (``open_clip:...``) on the CPU, training only the ``trainable`` parts
    (``all``, ``text``, ``image`` or ``text:N``; see :mod:`ccneg_bench.train.trainable`)."""
    if not spec.startswith("open_clip:"):
        raise ValueError(
            f"--model {spec}: ccneg-train fine-tunes open_clip models; use open_clip:ARCH "
            "(an architecture name, hf-hub:ORG/NAME, a config JSON or an exported folder)"
        )
    adapter = load_model(spec, pretrained=pretrained, device="cpu")
    model = adapter.torch_module()
    select_trainable(model, trainable)
    size = getattr(model.visual, "image_size", 224)
    size = size[0] if isinstance(size, (tuple, list)) else int(size)
    return TrainableClip(model, adapter.image_transform(), adapter.tokenizer, adapter, size)


def param_groups(named: list[tuple[str, torch.nn.Parameter]], weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on matrices only: gains, biases and the logit scale are not decayed."""
    decay, no_decay = [], []
    for name, param in named:
        exempt = param.ndim < 2 or "bias" in name or "logit_scale" in name or ".ln" in name or name.startswith("ln")
        (no_decay if exempt else decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
