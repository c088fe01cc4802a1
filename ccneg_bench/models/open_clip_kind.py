"""The ``open_clip:`` kind: what an open_clip spec means, checked and keyed from files and names.

Spec forms (``--model`` / ``load_model``):

* ``open_clip:ViT-B-32`` with ``pretrained`` an open_clip tag (default ``openai``; tags trained
  with QuickGELU, such as ``openai``, get QuickGELU even with a GELU config), a weights file
  (``.safetensors`` or a torch file, loaded without unpickling code) or ``none`` (random weights
  from a fixed seed: what the tests use);
* ``open_clip:hf-hub:ORG/NAME`` (config and weights from the Hub; ``pretrained`` ignored);
* ``open_clip:/path/to/model_config.json``: a custom architecture (open_clip's JSON layout,
  ``{"embed_dim", "vision_cfg", "text_cfg", ...}`` or the Hub layout ``{"model_cfg": ...}``);
* ``open_clip:/path/to/folder``: a folder holding ``open_clip_config.json`` and one
  ``*.safetensors`` (the layout ``ccneg-train`` exports and the Hub uses).

Everything here works without building the model (the adapter is in
:mod:`ccneg_bench.models.open_clip_models`): the check before loading, the content identity
that keys the feature cache, and the QuickGELU warning. A weights file says nothing about the
activation it was trained with, and open_clip builds ``ViT-B-32`` with GELU: weights derived
from OpenAI CLIP (CoN-CLIP, NegCLIP and most fine-tunes) need QuickGELU, and silently lose
accuracy under GELU. So a weights file given with an architecture that has a ``-quickgelu``
variant gets a one-line warning naming it.
"""

from __future__ import annotations

import difflib
import json
import os
from typing import Any

from ccneg_bench.models.kind import ModelKind, Note
from ccneg_bench.models.weights import (
    check_download_possible, check_hub_files, file_sha256, in_hub_cache, is_none, looks_like_path,
    random_init_identity,
)
from ccneg_bench.options import UsageError

#: ``--pretrained`` of an open_clip architecture name when none is given (the paper's weights).
DEFAULT_TAG = "openai"
HUB_PREFIXES = ("hf-hub:", "local-dir:")
QUICK_GELU_SUFFIX = "-quickgelu"


def carries_weights(arch: str) -> bool:
    """Exported folders, config JSONs and Hub ids bring their own weights (or none)."""
    return (os.path.isdir(arch) or arch.endswith(".json") or arch.startswith(HUB_PREFIXES)
            or "/" in arch or os.sep in arch)


def default_pretrained(arch: str) -> str | None:
    """``openai`` for an architecture name; nothing for specs that carry their weights."""
    return None if carries_weights(arch) else DEFAULT_TAG


def is_random(arch: str, pretrained: str | None) -> bool:
    """True when the spec is built with random (seeded) weights."""
    return is_none(pretrained) and not os.path.isdir(arch) and not arch.startswith(HUB_PREFIXES)


def find_export(folder: str) -> tuple[str, str | None]:
    """(config path, weights path or None) of an exported model folder."""
    config = os.path.join(folder, "open_clip_config.json")
    if not os.path.exists(config):
        raise UsageError(f"{folder}: no open_clip_config.json in this folder (expected an exported model)")
    weights = sorted(name for name in os.listdir(folder) if name.endswith(".safetensors"))
    return config, (os.path.join(folder, weights[0]) if weights else None)


def read_config(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def tag_needs_quick_gelu(model_name: str, tag: str | None) -> bool:
    """True when an open_clip pretrained tag was trained with QuickGELU (e.g. ``openai``).

    open_clip only *warns* when a GELU config is paired with QuickGELU weights
    (``ViT-B-32`` + ``openai``) and then silently loses accuracy: a known evaluation pitfall.
    """
    if not tag or os.path.exists(tag):
        return False
    import open_clip  # lazy: open_clip, torch (--help reads this module)

    try:
        return bool(open_clip.get_pretrained_cfg(model_name, tag).get("quick_gelu", False))
    except Exception:  # unknown model/tag: open_clip itself will say so
        return False


def content_identity(arch: str, pretrained: str | None) -> dict[str, Any]:
    """Everything that determines an open_clip model's features, read from files and names only.

    Paths are left out on purpose: a copied or moved weights file is the same model, and a
    file rewritten in place (same name, same size, same mtime) is a different one.
    """
    identity: dict[str, Any] = {"kind": "open_clip"}
    weights: str | None = None
    if os.path.isdir(arch):
        config, found = find_export(arch)
        identity["config"] = read_config(config)
        weights = pretrained if not is_none(pretrained) else found
    elif arch.endswith(".json"):
        identity["config"] = read_config(arch)
        weights = None if is_none(pretrained) else pretrained
    else:
        identity["arch"] = arch
        weights = None if is_none(pretrained) else pretrained
    if weights is not None and os.path.isfile(weights):
        identity["weights_sha256"] = file_sha256(weights)
    elif weights is not None:
        identity["tag"] = weights  # a published tag: fixed weights, fixed preprocessing
        if tag_needs_quick_gelu(arch, weights):
            identity["force_quick_gelu"] = True
    elif not arch.startswith(HUB_PREFIXES):
        identity.update(random_init_identity())
    return identity


def cache_identity(arch: str, pretrained: str | None) -> dict[str, Any] | None:
    """The identity known before loading; None for Hub architectures (only the Hub knows their weights)."""
    return None if arch.startswith(HUB_PREFIXES) else content_identity(arch, pretrained)


def check(arch: str, pretrained: str | None) -> None:
    """Architecture, weights file or tag of an open_clip spec; download possible if needed."""
    import open_clip  # lazy: open_clip, torch (--help reads this module)

    spec = f"open_clip:{arch}"
    if os.path.isdir(arch):
        find_export(arch)
    elif arch.endswith(".json"):
        if not os.path.isfile(arch):
            raise UsageError(f"--model {spec}: model config JSON not found")
    elif arch.startswith("hf-hub:"):
        check_hub_files(spec, arch[len("hf-hub:"):], ("open_clip_config.json",))
        return
    elif arch.startswith("local-dir:"):
        if not os.path.isdir(arch[len("local-dir:"):]):
            raise UsageError(f"--model {spec}: folder not found")
        return
    elif "/" in arch or os.sep in arch:
        raise UsageError(f"--model {spec}: no such exported model folder")
    elif arch not in open_clip.list_models():
        close = difflib.get_close_matches(arch, open_clip.list_models(), n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UsageError(f"--model {spec}: open_clip has no architecture {arch!r}; {hint}"
                         "pass an architecture name (python -c 'import open_clip; print(open_clip.list_models())'), "
                         "a model-config JSON or an exported folder")
    if is_none(pretrained):
        return
    assert pretrained is not None
    if os.path.isfile(pretrained):
        return
    if looks_like_path(pretrained):
        raise UsageError(f"--pretrained {pretrained}: weights file not found")
    if carries_weights(arch):
        raise UsageError(f"--pretrained {pretrained}: {spec} takes a weights file or 'none', not a tag")
    tags = open_clip.list_pretrained_tags_by_model(arch)
    if pretrained not in tags:
        known = ", ".join(tags) if tags else "none published"
        raise UsageError(f"--pretrained {pretrained}: open_clip has no such tag for {arch} (tags: {known}); "
                         "or pass a weights file, or 'none' for random weights")
    _check_tag_available(arch, pretrained)


def _check_tag_available(arch: str, tag: str) -> None:
    import open_clip  # lazy: open_clip, torch (--help reads this module)

    cfg = open_clip.get_pretrained_cfg(arch, tag)
    if cfg.get("file") and os.path.isfile(cfg["file"]):
        return
    hub = cfg.get("hf_hub") or ""
    if hub:
        repo, filename = os.path.split(hub)
        names = [filename or "open_clip_pytorch_model.bin"]
        if names[0] == "open_clip_pytorch_model.bin":
            names.insert(0, "open_clip_model.safetensors")
        elif names[0].endswith((".bin", ".pth")):
            names.insert(0, names[0][:-4] + ".safetensors")
        if any(in_hub_cache(repo, name) for name in names):
            return
    url = cfg.get("url") or ""
    if url and os.path.isfile(os.path.join(os.path.expanduser("~/.cache/clip"), os.path.basename(url))):
        return
    check_download_possible(f"open_clip:{arch} --pretrained {tag}", url if not hub else None)


def quick_gelu_variant(arch: str, pretrained: str | None) -> str | None:
    """The ``-quickgelu`` architecture to suggest for a weights file on a GELU architecture, else None.

    Only named architectures that have such a variant qualify: a config JSON or an exported
    folder states its activation itself, and a tag's activation is known (and applied).
    """
    if is_none(pretrained) or not os.path.isfile(str(pretrained)) or carries_weights(arch):
        return None
    import open_clip  # lazy: open_clip, torch (--help reads this module)

    variant = arch + QUICK_GELU_SUFFIX
    config = open_clip.get_model_config(arch) or {}
    if config.get("quick_gelu") or variant not in open_clip.list_models():
        return None
    return variant


def notes(arch: str, pretrained: str | None) -> list[Note]:
    """Random weights (a chance baseline), and a weights file that may need QuickGELU."""
    said: list[Note] = []
    if is_random(arch, pretrained):
        said.append(("note", f"open_clip:{arch} gets random weights (seeded; --pretrained none): "
                             "it scores as a chance baseline"))
    variant = quick_gelu_variant(arch, pretrained)
    if variant:
        said.append(("warning", f"open_clip:{arch} runs GELU; weights derived from OpenAI CLIP (CoN-CLIP, "
                                f"NegCLIP, most fine-tunes) need QuickGELU and lose accuracy under GELU: for them "
                                f"use --model open_clip:{variant}"))
    return said


def remote(arch: str, pretrained: str | None) -> bool:
    """Hub architectures (and Hub weights) can change without any local file changing."""
    return arch.startswith("hf-hub:") or (pretrained or "").startswith("hf-hub:")


def load(arch: str, pretrained: str | None = None, device: str = "cpu", **_: Any) -> Any:
    """Build the :class:`~ccneg_bench.models.open_clip_models.OpenClipAdapter` a spec body names.

    ``pretrained`` None or ``"none"`` means random weights, drawn from a fixed seed so that the
    same spec is always the same model (the command lines apply the kind's default first).
    """
    check(arch, pretrained)
    identity = content_identity(arch, pretrained)
    weights = None if is_none(pretrained) else pretrained
    config_path: str | None = None
    if os.path.isdir(arch):
        config_path, found = find_export(arch)
        weights = weights if weights is not None else found
    elif arch.endswith(".json"):
        config_path = arch
    weights_file = weights if weights is not None and os.path.isfile(weights) else None
    tag = None if weights_file else weights
    from ccneg_bench.models.open_clip_models import build_open_clip  # lazy: torch

    return build_open_clip(
        arch, config_path=config_path, tag=tag, weights_file=weights_file,
        force_quick_gelu=tag_needs_quick_gelu(arch, tag),
        random_init=tag is None and weights_file is None and not arch.startswith(HUB_PREFIXES),
        identity=identity, device=device,
    )


KIND = ModelKind(
    load=load,
    usage="open_clip:ARCH",
    help="with --pretrained TAG (openai, laion2b_s34b_b79k, ...), a weights file, or none;\n"
         "ARCH may be hf-hub:ORG/NAME, a model-config JSON, or an exported folder;\n"
         "a weights file from OpenAI CLIP needs the -quickgelu variant (ViT-B-32-quickgelu)",
    check=check,
    identity=cache_identity,
    default_pretrained=default_pretrained,
    notes=notes,
    remote=remote,
)
