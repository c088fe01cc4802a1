"""Export a trained model as safetensors + open_clip config: the Hugging Face Hub layout.

``EXPORT/open_clip_config.json`` holds ``{"model_cfg": ..., "preprocess_cfg": ...}`` and
``EXPORT/open_clip_model.safetensors`` the weights, which is what open_clip reads from a
Hub repository (``hf-hub:ORG/NAME``) or a local folder (``local-dir:EXPORT``), and what
``ccneg-bench --model open_clip:EXPORT`` loads. ``push_to_hub`` uploads the folder; the
token comes from the environment (``HF_TOKEN``) and is never written anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from ccneg_bench.train.model import TrainableClip
from ccneg_core.writer import atomic_output, atomic_write_text
from ccneg_bench.train.checkpoint import load_checkpoint

CONFIG_NAME = "open_clip_config.json"
WEIGHTS_NAME = "open_clip_model.safetensors"


def model_config(clip: TrainableClip) -> dict[str, Any]:
    """The open_clip model config of the trained model (QuickGELU recorded when used)."""
    import open_clip
    from open_clip.transformer import QuickGELU

    description = clip.adapter.describe()
    config = description.get("config")
    if config is not None:
        config = config.get("model_cfg", config)
    else:
        config = open_clip.get_model_config(description["arch"])
    if config is None:
        raise ValueError(f"cannot find the open_clip config of {description.get('arch')!r} to export")
    config = json.loads(json.dumps(config))
    if any(isinstance(m, QuickGELU) for m in clip.model.modules()):
        config["quick_gelu"] = True
    return config


def export_config(clip: TrainableClip) -> dict[str, Any]:
    """``{"model_cfg", "preprocess_cfg"}`` of a model (also stored in every checkpoint)."""
    preprocess = dict(getattr(clip.model.visual, "preprocess_cfg", {}) or {})
    return json.loads(json.dumps({"model_cfg": model_config(clip), "preprocess_cfg": preprocess}, default=list))


def export_state(state_dict: dict[str, torch.Tensor], config: dict[str, Any], out_dir: Path,
                 train_config: dict[str, Any] | None = None) -> Path:
    """Write weights and config atomically into ``out_dir``; returns it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    with atomic_output(out_dir / WEIGHTS_NAME) as tmp:
        save_file(state, str(tmp), metadata={"format": "pt", "producer": "ccneg-train"})
    atomic_write_text(out_dir / CONFIG_NAME, json.dumps(config, indent=2))
    if train_config is not None:
        safe = {k: v for k, v in train_config.items() if k != "extra"}
        atomic_write_text(out_dir / "ccneg_train_config.json", json.dumps(safe, indent=2, default=str))
    return out_dir


def export_checkpoint(checkpoint: Path, out_dir: Path) -> Path:
    """Export a training checkpoint (``OUT/checkpoints/step_*.pt``) without building the model."""
    state = load_checkpoint(checkpoint)
    if "export_config" not in state or "model" not in state:
        raise ValueError(f"{checkpoint}: not a ccneg-train checkpoint (no model / export_config)")
    return export_state(state["model"], state["export_config"], out_dir, state.get("config"))


def push_to_hub(folder: Path, repo_id: str, private: bool = False) -> str:
    """Upload an export folder to the Hub (token from ``HF_TOKEN`` / the hub login)."""
    from huggingface_hub import HfApi

    api = HfApi()
    url = api.create_repo(repo_id, private=private, exist_ok=True)
    api.upload_folder(folder_path=str(folder), repo_id=repo_id, commit_message="Upload CoN-CLIP model (ccneg-train)")
    return str(url)
