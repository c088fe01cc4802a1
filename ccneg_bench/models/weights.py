"""Where a model's weights come from: checked before anything is built, and keyed by content.

Two jobs, both done from files and names alone (no model is built here):

* :func:`check_model` turns a bad ``--model`` / ``--pretrained`` into one clear line before
  any loading starts: an unknown architecture or tag, a missing file, or weights that would
  have to be downloaded on a machine that cannot download (``HF_HUB_OFFLINE`` set, or the
  Hub not answering within a few seconds) instead of a long wait and a traceback.
* :func:`open_clip_identity` says which weights an open_clip spec denotes, by content: the
  SHA-256 of a weights file, the (architecture, tag) of a published tag, or the seed of a
  random initialisation. The feature cache is keyed by its hash, so two different models
  never share cached features, and a warm rerun can find its cache without building the model.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import socket
import threading
from typing import Any
from urllib.parse import urlparse

from ccneg_bench.options import UsageError

#: ``--pretrained`` of an open_clip architecture name when none is given (the paper's weights).
DEFAULT_TAG = "openai"
#: Random weights are drawn from this seed, so "random ViT-B-32" is one model, not many.
RANDOM_INIT_SEED = 2403_20312  # any fixed value; this one is the paper's arXiv number
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")
PROBE_TIMEOUT_S = 3.0


class WeightsUnavailable(OSError):
    """Weights that must be downloaded cannot be (offline): exit status 1, not a usage error."""


def is_none(pretrained: str | None) -> bool:
    """True when ``pretrained`` asks for no weights (random initialisation)."""
    return pretrained is None or str(pretrained).strip().lower() in ("", "none")


def looks_like_path(text: str) -> bool:
    """A ``--pretrained`` value meant as a file rather than a tag."""
    return os.sep in text or "/" in text or text.lower().endswith(WEIGHT_SUFFIXES) or os.path.exists(text)


def _open_clip_carries_weights(arch: str) -> bool:
    """Exported folders, config JSONs and Hub ids bring their own weights (or none)."""
    return (os.path.isdir(arch) or arch.endswith(".json") or arch.startswith(("hf-hub:", "local-dir:"))
            or "/" in arch or os.sep in arch)


def resolve_pretrained(spec: str, pretrained: str | None) -> str | None:
    """The ``--pretrained`` a model spec gets: the given value, else the shared default.

    The default is ``openai`` for an open_clip architecture name, nothing for every other
    spec (exported folders and Hub ids carry their weights; a config JSON means random weights).
    """
    if pretrained is not None:
        return pretrained
    kind, _, body = spec.partition(":")
    if kind == "open_clip" and body and not _open_clip_carries_weights(body):
        return DEFAULT_TAG
    return None


def is_random_open_clip(spec: str, pretrained: str | None) -> bool:
    """True when an open_clip spec would be built with random (seeded) weights."""
    kind, _, body = spec.partition(":")
    return kind == "open_clip" and is_none(pretrained) and not os.path.isdir(body) \
        and not body.startswith(("hf-hub:", "local-dir:"))


# --------------------------------------------------------------------------- content keys

_DIGESTS: dict[tuple[str, int, int, int], str] = {}
_DIGEST_LOCK = threading.Lock()


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes (remembered per process while size, mtime and inode stay)."""
    real = os.path.realpath(path)
    stat = os.stat(real)
    key = (real, stat.st_size, stat.st_mtime_ns, stat.st_ino)
    with _DIGEST_LOCK:
        if key in _DIGESTS:
            return _DIGESTS[key]
    digest = hashlib.sha256()
    with open(real, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _DIGEST_LOCK:
        _DIGESTS[key] = value
    return value


def state_dict_sha256(module: Any) -> str:
    """SHA-256 of a module's tensors (names, dtypes, shapes, bytes): the weights as they are now."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}".encode())
        digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def random_init_identity() -> dict[str, Any]:
    """What a seeded random initialisation depends on (torch's generator and init code)."""
    import torch

    return {"random_init_seed": RANDOM_INIT_SEED, "torch": torch.__version__}


def _config_content(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def find_export(folder: str) -> tuple[str, str | None]:
    """(config path, weights path or None) of an exported model folder."""
    config = os.path.join(folder, "open_clip_config.json")
    if not os.path.exists(config):
        raise UsageError(f"{folder}: no open_clip_config.json in this folder (expected an exported model)")
    weights = sorted(name for name in os.listdir(folder) if name.endswith(".safetensors"))
    return config, (os.path.join(folder, weights[0]) if weights else None)


def open_clip_identity(arch: str, pretrained: str | None) -> dict[str, Any]:
    """Everything that determines an open_clip model's features, read from files and names only.

    Paths are left out on purpose: a copied or moved weights file is the same model, and a
    file rewritten in place (same name, same size, same mtime) is a different one.
    """
    identity: dict[str, Any] = {"kind": "open_clip"}
    weights: str | None = None
    if os.path.isdir(arch):
        config, found = find_export(arch)
        identity["config"] = _config_content(config)
        weights = pretrained if not is_none(pretrained) else found
    elif arch.endswith(".json"):
        identity["config"] = _config_content(arch)
        weights = None if is_none(pretrained) else pretrained
    else:
        identity["arch"] = arch
        weights = None if is_none(pretrained) else pretrained
    if weights is not None and os.path.isfile(weights):
        identity["weights_sha256"] = file_sha256(weights)
    elif weights is not None:
        from ccneg_bench.models.open_clip_models import tag_needs_quick_gelu

        identity["tag"] = weights  # a published tag: fixed weights, fixed preprocessing
        if tag_needs_quick_gelu(arch, weights):
            identity["force_quick_gelu"] = True
    elif not arch.startswith(("hf-hub:", "local-dir:")):
        identity.update(random_init_identity())
    return identity


def model_fingerprint(spec: str, pretrained: str | None) -> str | None:
    """The feature-cache key of a spec computed from files and names, without building the model.

    Equal to ``load_model(spec, pretrained).fingerprint()`` for the open_clip, conclip and text
    kinds; None for kinds whose identity is only known once loaded (hf, plugins).
    """
    kind, _, body = spec.partition(":")
    if kind == "open_clip" and not body.startswith(("hf-hub:", "local-dir:")):
        return fingerprint_of(open_clip_identity(body, pretrained))
    if kind == "conclip":
        return fingerprint_of(conclip_identity(body))
    if kind == "text":
        from ccneg_bench.models.text_baseline import text_baseline_identity

        return fingerprint_of(text_baseline_identity(body))
    return None


def conclip_identity(path: str) -> dict[str, Any]:
    """A released CoN-CLIP checkpoint is its bytes (the architecture is read off the weights)."""
    return {"kind": "conclip", "weights_sha256": file_sha256(path)}


def fingerprint_of(identity: dict[str, Any]) -> str:
    """The short hash used as the feature-cache key."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- checks before loading


def check_model(spec: str, pretrained: str | None) -> None:
    """Raise :class:`UsageError` or :class:`WeightsUnavailable` for a spec that cannot load.

    Only built-in kinds are checked in depth; plugin kinds are checked by their loader.
    """
    from ccneg_bench.models import get_loader, parse_spec

    kind, body = parse_spec(spec)
    get_loader(kind)  # unknown kind: the message lists the known ones
    if kind == "open_clip":
        check_open_clip(body, pretrained)
    elif kind == "conclip":
        if not os.path.isfile(body):
            raise UsageError(f"--model {spec}: checkpoint file not found")
    elif kind == "hf":
        _check_hf(body, pretrained)
    elif kind == "text":
        from ccneg_bench.models.text_baseline import check_text_baseline

        check_text_baseline(body)


def check_open_clip(arch: str, pretrained: str | None) -> None:
    """Architecture, weights file or tag of an open_clip spec; download possible if needed."""
    import open_clip

    spec = f"open_clip:{arch}"
    if os.path.isdir(arch):
        find_export(arch)
    elif arch.endswith(".json"):
        if not os.path.isfile(arch):
            raise UsageError(f"--model {spec}: model config JSON not found")
    elif arch.startswith("hf-hub:"):
        _check_hub_files(spec, arch[len("hf-hub:"):], ("open_clip_config.json",))
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
    if _open_clip_carries_weights(arch):
        raise UsageError(f"--pretrained {pretrained}: {spec} takes a weights file or 'none', not a tag")
    tags = open_clip.list_pretrained_tags_by_model(arch)
    if pretrained not in tags:
        known = ", ".join(tags) if tags else "none published"
        raise UsageError(f"--pretrained {pretrained}: open_clip has no such tag for {arch} (tags: {known}); "
                         "or pass a weights file, or 'none' for random weights")
    _check_tag_available(arch, pretrained)


def _check_tag_available(arch: str, tag: str) -> None:
    import open_clip

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
        if any(_in_hub_cache(repo, name) for name in names):
            return
    url = cfg.get("url") or ""
    if url and os.path.isfile(os.path.join(os.path.expanduser("~/.cache/clip"), os.path.basename(url))):
        return
    _check_download_possible(f"open_clip:{arch} --pretrained {tag}", url if not hub else None)


def _in_hub_cache(repo: str, filename: str, revision: str | None = None) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub ships with open_clip
        return False
    found = try_to_load_from_cache(repo, filename, revision=revision)
    return isinstance(found, str) and os.path.isfile(found)


def _check_hub_files(spec: str, repo: str, names: tuple[str, ...], revision: str | None = None) -> None:
    if all(_in_hub_cache(repo, name, revision) for name in names):
        return
    _check_download_possible(spec, None)


def _check_hf(name: str, revision: str | None) -> None:
    if os.path.isdir(name):
        return
    if name.startswith(("/", ".", "~")) or os.path.exists(name):
        raise UsageError(f"--model hf:{name}: not a save_pretrained folder (and not a Hub id ORG/NAME)")
    _check_hub_files(f"hf:{name}", name, ("config.json",), None if is_none(revision) else revision)


def _offline_flag() -> str | None:
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on"):
            return name
    return None


def _probe_target(url: str | None) -> tuple[str, int]:
    """Host and port a download would connect to first (the proxy when one is set)."""
    target = url or os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    parsed = urlparse(target)
    proxy = os.environ.get(f"{parsed.scheme}_proxy") or os.environ.get(f"{parsed.scheme.upper()}_PROXY")
    no_proxy = os.environ.get("no_proxy", os.environ.get("NO_PROXY", ""))
    if proxy and parsed.hostname not in [h.strip() for h in no_proxy.split(",") if h.strip()]:
        parsed = urlparse(proxy if "://" in proxy else f"http://{proxy}")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed.hostname or "", port


def _check_download_possible(what: str, url: str | None) -> None:
    """Fail within seconds, with what to do, when weights would need a download that cannot happen."""
    advice = ("download them once where the Hub is reachable (they are cached under "
              "~/.cache/huggingface), or point at local weights: --pretrained /path/to/weights.safetensors "
              "(or an exported model folder as --model open_clip:FOLDER; --pretrained none for random weights)")
    flag = _offline_flag()
    if flag:
        raise WeightsUnavailable(f"{what}: the weights are not on this machine and {flag} is set; {advice}")
    host, port = _probe_target(url)
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            return
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise WeightsUnavailable(
            f"{what}: the weights are not on this machine and {host}:{port} cannot be reached ({reason}); {advice}"
        ) from None
