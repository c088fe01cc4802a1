"""Hugging Face ``transformers`` CLIP and SigLIP models (``hf:ORG/NAME`` or ``hf:/local/folder``).

Loaded with ``AutoModel`` + ``AutoProcessor``; weights come from safetensors whenever the repo
has them (``use_safetensors`` is preferred, never an arbitrary pickle). SigLIP was trained with
text padded to the full length, so its texts are padded to ``max_length``; CLIP texts are
padded to the longest in the batch (its text tower pools the end-of-text token, so padding
length does not change the features).
"""

from __future__ import annotations

import os
from typing import Any, Callable

import torch

from ccneg_bench.models.base import ModelAdapter
from ccneg_bench.models.weights import file_identity


class HfImageTransform:
    """Picklable PIL -> pixel tensor using the model's own image processor."""

    def __init__(self, image_processor: Any) -> None:
        self.image_processor = image_processor

    def __call__(self, image: Any) -> torch.Tensor:
        return self.image_processor(images=image, return_tensors="pt")["pixel_values"][0]


def _features(output: Any) -> torch.Tensor:
    """transformers >= 5 returns a model output whose ``pooler_output`` is the projection."""
    if isinstance(output, torch.Tensor):
        return output
    pooled = getattr(output, "pooler_output", None)
    if pooled is None:
        raise TypeError(f"unexpected feature output type {type(output).__name__}")
    return pooled


class HfAdapter(ModelAdapter):
    """A transformers dual encoder with ``get_image_features`` / ``get_text_features``."""

    def __init__(self, model: torch.nn.Module, processor: Any, name: str, revision: str | None = None) -> None:
        super().__init__()
        self.revision = revision
        self.model = model.eval()
        self.processor = processor
        self.name = name
        self.spec = f"hf:{name}"
        self.model_type = getattr(model.config, "model_type", "unknown")
        text_config = getattr(model.config, "text_config", None)
        self.max_length = int(getattr(text_config, "max_position_embeddings", 77) or 77)
        self.pad_to_max = self.model_type.startswith("siglip")

    def image_transform(self) -> Callable[[Any], torch.Tensor]:
        return HfImageTransform(self.processor.image_processor)

    def _move(self, device: torch.device) -> None:
        self.model.to(device)

    def torch_module(self) -> torch.nn.Module:
        return self.model

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"kind": "hf", "name": self.name, "revision": self.revision, "model_type": self.model_type}
        if os.path.isdir(self.name):
            weights = [f for f in sorted(os.listdir(self.name)) if f.endswith((".safetensors", ".bin"))]
            info["weights"] = [file_identity(os.path.join(self.name, f)) for f in weights]
        else:
            info["commit"] = getattr(self.model.config, "_commit_hash", None)  # the Hub snapshot loaded
        return info

    def identity(self) -> dict[str, Any]:
        """Weights by content for local folders, by Hub commit otherwise (never by path)."""
        info = self.describe()
        if "weights" in info:
            info["weights"] = [w["sha256"] for w in info["weights"]]
            info.pop("name")
        return info

    @torch.inference_mode()
    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return _features(self.model.get_image_features(pixel_values=pixels.to(self.device)))

    @property
    def context_length(self) -> int | None:  # type: ignore[override]
        return self.max_length

    def token_lengths(self, texts: list[str]) -> list[int] | None:
        if not texts:
            return []
        return [len(ids) for ids in self.processor.tokenizer(list(texts), truncation=False)["input_ids"]]

    def text_input_keys(self, texts: list[str]) -> list[bytes] | None:
        if not texts:
            return []
        ids = self.processor.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]
        return [repr(list(row)).encode() for row in ids]

    @torch.inference_mode()
    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        tokenizer = self.processor.tokenizer
        batch = tokenizer(
            list(texts),
            padding="max_length" if self.pad_to_max else True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        inputs = {"input_ids": batch["input_ids"].to(self.device)}
        if "attention_mask" in batch and not self.pad_to_max:
            inputs["attention_mask"] = batch["attention_mask"].to(self.device)
        return _features(self.model.get_text_features(**inputs))


def load_hf(name: str, pretrained: str | None = None, device: str = "cpu", **_: Any) -> HfAdapter:
    """Load ``AutoModel`` + ``AutoProcessor`` from a Hub id or a local ``save_pretrained`` folder.

    ``pretrained``, when given, is the Hub revision (branch, tag or commit) to load.
    """
    from transformers import AutoModel, AutoProcessor  # lazy: transformers (seconds to import)

    revision = pretrained if pretrained not in (None, "", "none", "None") else None
    try:
        model = AutoModel.from_pretrained(name, revision=revision, use_safetensors=True)
    except OSError as err:
        if "safetensors" not in str(err).lower():
            raise ValueError(f"hf:{name}: cannot load the model: {str(err).splitlines()[0]}") from None
        raise ValueError(
            f"hf:{name}: the repository has no safetensors weights; ccneg refuses pickled "
            "weights from the Hub. Convert them to safetensors first."
        ) from None
    if not (hasattr(model, "get_image_features") and hasattr(model, "get_text_features")):
        raise ValueError(f"hf:{name}: {type(model).__name__} is not a dual encoder (CLIP / SigLIP)")
    processor = AutoProcessor.from_pretrained(name, revision=revision)
    return HfAdapter(model, processor, name, revision).to(device)
