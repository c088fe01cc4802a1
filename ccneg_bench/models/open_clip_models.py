"""open_clip models: every architecture, pretrained tag, ``hf-hub:`` id, config JSON or local file.

Spec forms (``--model`` / ``load_model``):

* ``open_clip:ViT-B-32`` with ``pretrained="openai"`` (any open_clip tag; tags trained with
  QuickGELU, such as ``openai``, get QuickGELU even with a GELU config), a weights file path
  (``.safetensors`` or a torch file, loaded without unpickling code) or ``None``/``"none"``
  (random weights from a fixed seed: what the tests use);
* ``open_clip:hf-hub:ORG/NAME`` (config and weights from the Hub; ``pretrained`` ignored);
* ``open_clip:/path/to/model_config.json``: a custom architecture (open_clip's JSON layout,
  ``{"embed_dim", "vision_cfg", "text_cfg", ...}`` or the Hub layout ``{"model_cfg": ...}``);
* ``open_clip:/path/to/folder``: a folder holding ``open_clip_config.json`` and one
  ``*.safetensors`` (the layout ``ccneg-train`` exports and the Hub uses).

Text encoding trims the 77-token padding to the longest caption of the batch when the model is
a standard causal-mask open_clip ``CLIP``: the result is mathematically identical (padding sits
after the pooled token and the mask is causal) and costs a fraction of the compute.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

from ccneg_bench.models.base import ModelAdapter, file_identity
from ccneg_bench.models.checkpoints import CheckpointError, extract_state_dict, load_into, load_weights_file
from ccneg_bench.models.open_clip_tokens import OpenClipTokens
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
        from ccneg_bench.models.weights import state_dict_sha256

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
    from open_clip.transformer import text_global_pool

    x = text_global_pool(x, tokens, model.text_pool_type, eos_token_id=getattr(model, "text_eos_id", None))
    if model.text_projection is not None:
        x = model.text_projection(x) if isinstance(model.text_projection, torch.nn.Linear) else x @ model.text_projection
    return x


def _register_config(config_path: str) -> str:
    """Make a config JSON known to open_clip; return the architecture name to build."""
    import open_clip

    with open(config_path, encoding="utf-8") as handle:
        config = json.load(handle)
    model_cfg = config.get("model_cfg", config)
    if "embed_dim" not in model_cfg or "vision_cfg" not in model_cfg:
        raise ValueError(
            f"{config_path}: not an open_clip model config (needs 'embed_dim', 'vision_cfg', "
            "'text_cfg', or a 'model_cfg' holding them)"
        )
    # open_clip registers configs by file stem; give each distinct config its own stable name
    import hashlib

    digest = hashlib.sha256(json.dumps(model_cfg, sort_keys=True).encode()).hexdigest()[:10]
    name = f"ccneg-{Path(config_path).stem}-{digest}"
    if name not in open_clip.list_models():
        folder = Path(tempfile.gettempdir()) / "ccneg_open_clip_configs"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{name}.json"
        atomic_write_text(target, json.dumps(model_cfg))
        open_clip.add_model_config(target)
    return name


def tag_needs_quick_gelu(model_name: str, tag: str | None) -> bool:
    """True when an open_clip pretrained tag was trained with QuickGELU (e.g. ``openai``).

    open_clip only *warns* when a GELU config is paired with QuickGELU weights
    (``ViT-B-32`` + ``openai``) and then silently loses accuracy: a known evaluation pitfall.
    """
    import open_clip

    if not tag or os.path.exists(tag):
        return False
    try:
        return bool(open_clip.get_pretrained_cfg(model_name, tag).get("quick_gelu", False))
    except Exception:  # unknown model/tag: open_clip itself will say so
        return False


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


def load_open_clip(arch: str, pretrained: str | None = None, device: str = "cpu", **_: Any) -> OpenClipAdapter:
    """Build an :class:`OpenClipAdapter` from an open_clip spec body (see module docstring).

    ``pretrained`` None or ``"none"`` means random weights, drawn from a fixed seed so that the
    same spec is always the same model (the command lines apply their shared default,
    :func:`ccneg_bench.models.weights.resolve_pretrained`, before calling this).
    """
    import open_clip

    from ccneg_bench.models.weights import check_open_clip, find_export, is_none, open_clip_identity

    check_open_clip(arch, pretrained)
    identity = open_clip_identity(arch, pretrained)
    pretrained = None if is_none(pretrained) else pretrained
    config_path: str | None = None
    model_name = arch
    if os.path.isdir(arch):
        config_path, weights_path = find_export(arch)
        if pretrained is None:
            pretrained = weights_path
        model_name = _register_config(config_path)
    elif arch.endswith(".json"):
        config_path = arch
        model_name = _register_config(arch)

    local_weights = pretrained is not None and os.path.isfile(pretrained)
    factory_pretrained = None if local_weights else pretrained
    quick_gelu = tag_needs_quick_gelu(model_name, factory_pretrained)
    random_init = factory_pretrained is None and not local_weights and not arch.startswith(("hf-hub:", "local-dir:"))
    quiet = _quiet_random_init_warning() if (local_weights or random_init) else contextlib.nullcontext()
    with quiet, torch.random.fork_rng(devices=[]):
        if random_init:
            from ccneg_bench.models.weights import RANDOM_INIT_SEED

            torch.manual_seed(RANDOM_INIT_SEED)
        model, _, preprocess = open_clip.create_model_and_transforms(
            model_name, pretrained=factory_pretrained, device="cpu", force_quick_gelu=quick_gelu,
            **_preprocess_overrides(config_path)
        )
    if local_weights:
        state = extract_state_dict(load_weights_file(pretrained), pretrained)
        load_into(model, state, pretrained)
    tokenizer = open_clip.get_tokenizer(model_name)
    description: dict[str, Any] = {
        "kind": "open_clip",
        "arch": arch if not config_path else os.path.abspath(arch),
        "pretrained": pretrained,
    }
    if quick_gelu:
        description["force_quick_gelu"] = True
    if local_weights:
        description["weights"] = file_identity(pretrained)
    if random_init:
        description["weights"] = "random"
        description.update({k: v for k, v in identity.items() if k in ("random_init_seed", "torch")})
    if config_path:
        with open(config_path, encoding="utf-8") as handle:
            description["config"] = json.load(handle)
    adapter = OpenClipAdapter(model, preprocess, tokenizer, f"open_clip:{arch}", description, identity=identity)
    return adapter.to(device)


__all__ = ["OpenClipAdapter", "load_open_clip", "encode_text_trimmed", "CheckpointError"]
