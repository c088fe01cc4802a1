"""Released CoN-CLIP checkpoints: ``{"model": <OpenAI-CLIP state dict>, "optimizer": ...}``.

The OpenAI CLIP parameter names are the ones open_clip's ``CLIP`` class uses, so the weights
go into an open_clip model whose shape is read off the state dict. OpenAI models were trained
with QuickGELU: building them with the default GELU silently costs accuracy (a known pitfall),
so QuickGELU is always on here. The file is read with ``weights_only=True``. What a
``conclip:`` spec means, and its check and identity, are in :mod:`ccneg_bench.models.conclip_kind`.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import torch

from ccneg_bench.models.checkpoints import CheckpointError, extract_state_dict, load_into, load_weights_file
from ccneg_bench.models.open_clip_models import OpenClipAdapter, _quiet_random_init_warning, _register_config
from ccneg_bench.models.weights import file_identity

#: keys that every OpenAI-layout ViT CLIP state dict holds (used to explain a bad file)
REQUIRED_KEYS = (
    "visual.conv1.weight",
    "visual.positional_embedding",
    "positional_embedding",
    "token_embedding.weight",
    "ln_final.weight",
    "text_projection",
)


def openai_state_dict_config(state: dict[str, torch.Tensor], path: str) -> dict[str, Any]:
    """Read the open_clip model config (a ViT CLIP) off an OpenAI-layout state dict."""
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise CheckpointError(
            f"{path}: not an OpenAI-layout ViT CLIP state dict; missing keys: {', '.join(missing)}"
        )
    patch = state["visual.conv1.weight"].shape[-1]
    grid = round((state["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    vision_layers = len({k.split(".")[3] for k in state if k.startswith("visual.transformer.resblocks.")})
    text_layers = len({k.split(".")[2] for k in state if k.startswith("transformer.resblocks.")})
    text_width = state["ln_final.weight"].shape[0]
    vision_width = state["visual.conv1.weight"].shape[0]
    return {
        "embed_dim": int(state["text_projection"].shape[1]),
        "quick_gelu": True,
        "vision_cfg": {
            "image_size": int(patch * grid),
            "layers": vision_layers,
            "width": int(vision_width),
            "patch_size": int(patch),
            "head_width": 64 if vision_width % 64 == 0 else int(vision_width),
        },
        "text_cfg": {
            "context_length": int(state["positional_embedding"].shape[0]),
            "vocab_size": int(state["token_embedding.weight"].shape[0]),
            "width": int(text_width),
            "heads": max(1, int(text_width) // 64),
            "layers": text_layers,
        },
    }


def build_conclip(path: str, identity: dict[str, Any], device: str = "cpu") -> OpenClipAdapter:
    """Load a released CoN-CLIP ``.pt`` (or any OpenAI-layout CLIP state dict file).

    ``identity`` is what its features depend on (the kind's content identity: the cache key).
    """
    import open_clip  # lazy: open_clip (seconds to import)

    state = extract_state_dict(load_weights_file(path), path)
    state = {k: v for k, v in state.items() if k not in ("input_resolution", "context_length", "vocab_size")}
    config = openai_state_dict_config(state, path)
    with tempfile.TemporaryDirectory() as folder:
        config_path = os.path.join(folder, "conclip.json")
        # a plain write: the folder is private to this call and gone after it, no reader can see a half file
        with open(config_path, "w", encoding="utf-8") as handle:
            json.dump(config, handle)
        name = _register_config(config_path)
    with _quiet_random_init_warning():  # the weights are loaded right below
        model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=None, device="cpu")
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    load_into(model, state, path)
    tokenizer = open_clip.get_tokenizer(name)
    description = {"kind": "conclip", "path": os.path.abspath(path), "weights": file_identity(path), "config": config}
    return OpenClipAdapter(model, preprocess, tokenizer, f"conclip:{path}", description,
                           identity=identity).to(device)
