"""The open_clip adapter: an open_clip model, its eval transform and tokenizer, built as told.

What a spec means (which config, which weights, QuickGELU or not) is decided from files and
names by :mod:`ccneg_bench.models.open_clip_kind`; :func:`build_open_clip` builds exactly that.

Text encoding trims the 77-token padding to the longest caption of the batch when the model is
a standard causal-mask open_clip ``CLIP``: the result is mathematically identical (padding sits
after the pooled token and the mask is causal) and costs a fraction of the compute.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

from ccneg_bench.models.base import ModelAdapter
from ccneg_bench.models.checkpoints import extract_state_dict, load_into, load_weights_file
from ccneg_bench.models.open_clip_tokens import OpenClipTokens
from ccneg_bench.models.weights import RANDOM_INIT_SEED, file_identity, state_dict_sha256
from ccneg_core.writer import atomic_write_text


class OpenClipAdapter(ModelAdapter):
    """Wraps an open_clip model, its eval transform and tokenizer."""

    def __init__(
        self,
        model: torch.nn.Module,
        preprocess: Callable[[Any], torch.Tensor],
        tokenizer: Any,
        spec: str,
        description: dict[str, Any],
        trim_text: bool = True,
        identity: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.model = model.eval()
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.tokens = OpenClipTokens(tokenizer)
        self.spec = spec
        self._description = description
        self.trim_text = trim_text
        self._identity = identity

    def image_transform(self) -> Callable[[Any], torch.Tensor]:
        return self.preprocess

    def _move(self, device: torch.device) -> None:
        self.model.to(device)

    def torch_module(self) -> torch.nn.Module:
        return self.model

    def describe(self) -> dict[str, Any]:
        return dict(self._description)

    def identity(self) -> dict[str, Any]:
        """Content identity from the loader, else the weights as they are now (hashed).

        An adapter wrapped around a model in memory (a model being trained, or one a user
        built) has no file to name its weights, so their current bytes are hashed.
        """
        if self._identity is not None:
            return dict(self._identity)
        return {**self.describe(), "state_dict_sha256": state_dict_sha256(self.model)}

    @torch.inference_mode()
    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(pixels.to(self.device))

    @property
    def context_length(self) -> int | None:  # type: ignore[override]
        length = self.tokens.context_length or getattr(self.model, "context_length", None)
        return int(length) if length else None

    def token_lengths(self, texts: list[str]) -> list[int] | None:
        return self.tokens.lengths(list(texts))

    def text_input_keys(self, texts: list[str]) -> list[bytes] | None:
        return self.tokens.keys(list(texts))

    @torch.inference_mode()
    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        tokens = self.tokens.batch(list(texts)).to(self.device)
        if self.trim_text and can_trim_text(self.model):
            return encode_text_trimmed(self.model, tokens)
        return self.model.encode_text(tokens)


def can_trim_text(model: torch.nn.Module) -> bool:
    """True for the standard open_clip ``CLIP`` text tower (causal mask, EOT pooling)."""
    return (
        type(model).__name__ == "CLIP"
        and getattr(model, "attn_mask", None) is not None
        and getattr(model, "text_pool_type", None) in ("argmax", "eos")
        and hasattr(model, "positional_embedding")
    )


def encode_text_trimmed(model: torch.nn.Module, tokens: torch.Tensor, pad_id: int = 0) -> torch.Tensor:
    """``model.encode_text`` on tokens cut to the longest non-padding prefix of the batch.

    With a causal mask no position attends to later ones, so dropping trailing padding leaves
    every pooled (end-of-text) feature unchanged up to float rounding.
    """
    nonpad = (tokens != pad_id).any(dim=0).nonzero()
    length = int(nonpad.max()) + 1 if nonpad.numel() else 1
    if length >= tokens.shape[1] == model.positional_embedding.shape[0]:
        return model.encode_text(tokens)  # nothing to trim
    tokens = tokens[:, :length]
    cast_dtype = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast_dtype)
    x = x + model.positional_embedding[:length].to(cast_dtype)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    from open_clip.transformer import text_global_pool  # lazy: open_clip (seconds to import)

    x = text_global_pool(x, tokens, model.text_pool_type, eos_token_id=getattr(model, "text_eos_id", None))
    if model.text_projection is not None:
        x = model.text_projection(x) if isinstance(model.text_projection, torch.nn.Linear) else x @ model.text_projection
    return x


def _register_config(config_path: str) -> str:
    """Make a config JSON known to open_clip; return the architecture name to build."""
    import open_clip  # lazy: open_clip (seconds to import)

    with open(config_path, encoding="utf-8") as handle:
        config = json.load(handle)
    model_cfg = config.get("model_cfg", config)
    if "embed_dim" not in model_cfg or "vision_cfg" not in model_cfg:
        raise ValueError(
            f"{config_path}: not an open_clip model config (needs 'embed_dim', 'vision_cfg', "
            "'text_cfg', or a 'model_cfg' holding them)"
        )
    # open_clip registers configs by file stem; give each distinct config its own stable name
    digest = hashlib.sha256(json.dumps(model_cfg, sort_keys=True).encode()).hexdigest()[:10]
    name = f"ccneg-{Path(config_path).stem}-{digest}"
    if name not in open_clip.list_models():
        folder = Path(tempfile.gettempdir()) / "ccneg_open_clip_configs"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{name}.json"
        atomic_write_text(target, json.dumps(model_cfg))
        open_clip.add_model_config(target)
    return name


def _preprocess_overrides(config_path: str | None) -> dict[str, Any]:
    """Image mean/std/size/interpolation stored in a Hub-layout config, as factory kwargs."""
    if not config_path:
        return {}
    with open(config_path, encoding="utf-8") as handle:
        cfg = json.load(handle).get("preprocess_cfg") or {}
    mapping = {"mean": "image_mean", "std": "image_std", "interpolation": "image_interpolation",
               "resize_mode": "image_resize_mode"}
    return {mapping[k]: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.items() if k in mapping}


class _DropRandomInitWarning(logging.Filter):
    """open_clip warns "initialized randomly" whenever it builds without a tag, even when we
    load the weights ourselves right after; ccneg says what it loaded instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "initialized randomly" not in record.getMessage()


@contextlib.contextmanager
def _quiet_random_init_warning() -> Iterator[None]:
    root = logging.getLogger()
    quiet = _DropRandomInitWarning()
    root.addFilter(quiet)
    try:
        yield
    finally:
        root.removeFilter(quiet)


def build_open_clip(arch: str, *, config_path: str | None, tag: str | None, weights_file: str | None,
                    force_quick_gelu: bool, random_init: bool, identity: dict[str, Any],
                    device: str = "cpu") -> OpenClipAdapter:
    """Build the open_clip model of ``arch`` (a name, or the config at ``config_path``) with the
    weights of ``tag`` (an open_clip tag), of ``weights_file``, or random ones from the fixed seed.

    ``identity`` is what the features depend on, by content (see
    :func:`ccneg_bench.models.open_clip_kind.content_identity`): the feature-cache key.
    """
    import open_clip  # lazy: open_clip (seconds to import)

    model_name = _register_config(config_path) if config_path else arch
    quiet = _quiet_random_init_warning() if (weights_file or random_init) else contextlib.nullcontext()
    with quiet, torch.random.fork_rng(devices=[]):
        if random_init:
            torch.manual_seed(RANDOM_INIT_SEED)
        model, _, preprocess = open_clip.create_model_and_transforms(
            model_name, pretrained=tag, device="cpu", force_quick_gelu=force_quick_gelu,
            **_preprocess_overrides(config_path)
        )
    if weights_file:
        state = extract_state_dict(load_weights_file(weights_file), weights_file)
        load_into(model, state, weights_file)
    tokenizer = open_clip.get_tokenizer(model_name)
    description: dict[str, Any] = {
        "kind": "open_clip",
        "arch": arch if not config_path else os.path.abspath(arch),
        "pretrained": weights_file or tag,
    }
    if force_quick_gelu:
        description["force_quick_gelu"] = True
    if weights_file:
        description["weights"] = file_identity(weights_file)
    if random_init:
        description["weights"] = "random"
        description.update({k: v for k, v in identity.items() if k in ("random_init_seed", "torch")})
    if config_path:
        with open(config_path, encoding="utf-8") as handle:
            description["config"] = json.load(handle)
    adapter = OpenClipAdapter(model, preprocess, tokenizer, f"open_clip:{arch}", description, identity=identity)
    return adapter.to(device)
