"""Tiny random-weight open_clip models for fast tests (shared by bench and train tests).

``tiny_open_clip_config(tmp_path)`` writes an open_clip model-config JSON (ViT, 32 px images,
2-layer towers, the standard 49,408-token vocabulary so open_clip's tokenizer works offline)
and returns its path: ``load_model(f"open_clip:{path}", pretrained=None)`` builds it.
``save_tiny_checkpoint`` writes seeded weights as safetensors so that two loads are identical.
``register_named_tiny_configs`` names the architecture, in a GELU and a QuickGELU variant.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TINY_CONFIG: dict[str, Any] = {
    "embed_dim": 32,
    "quick_gelu": True,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 64},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 1, "layers": 2},
}


def tiny_open_clip_config(folder: Path, name: str = "tiny-clip") -> Path:
    """Write the tiny config as ``folder/name.json`` and return the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
    return path


def build_tiny_open_clip(folder: Path, seed: int = 0):
    """(model, preprocess, tokenizer, config path) of the tiny architecture with seeded weights."""
    import open_clip
    import torch

    from ccneg_bench.models.open_clip_models import _register_config

    config = tiny_open_clip_config(folder)
    name = _register_config(str(config))
    torch.manual_seed(seed)
    model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=None)
    return model.eval(), preprocess, open_clip.get_tokenizer(name), config


def save_tiny_checkpoint(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """Save seeded tiny weights as safetensors; return (config path, weights path)."""
    from safetensors.torch import save_file

    model, _, _, config = build_tiny_open_clip(folder, seed=seed)
    weights = Path(folder) / f"tiny-clip-seed{seed}.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    return config, weights


def register_named_tiny_configs(folder: Path) -> tuple[str, str]:
    """Make the tiny architecture known to open_clip by name, as GELU ``ccneg-tiny`` and as
    ``ccneg-tiny-quickgelu`` (the pair open_clip ships as ``ViT-B-32`` / ``ViT-B-32-quickgelu``).

    The activation has no weights, so one weights file fits both. Returns the two names.
    """
    import open_clip

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    gelu = {key: value for key, value in TINY_CONFIG.items() if key != "quick_gelu"}
    names = ("ccneg-tiny", "ccneg-tiny-quickgelu")
    for name, config in zip(names, (gelu, {**gelu, "quick_gelu": True})):
        path = folder / f"{name}.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        open_clip.add_model_config(path)
    return names
